// The signalling handlers on fake workers: ownership checks, limits and the
// errors each refusal carries, with no mediasoup worker.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';

import { errors as mediasoupErrors } from 'mediasoup';

import { asTureenError } from '../../src/errors.ts';
import { createLogger } from '../../src/logger.ts';
import { parseRequestData, type Method, type NotificationMessage, type RequestData, type ResponseData } from '../../src/protocol/messages.ts';
import { RoomRegistry } from '../../src/services/room.ts';
import { DYNACAST_HOLD_OFF_MS } from '../../src/services/participants/dynacast.ts';
import type { TransportHost } from '../../src/services/participants/mediaCalls.ts';
import { handlers } from '../../src/signalling/handlers.ts';
import type { HandlerDeps } from '../../src/signalling/handlerTypes.ts';
import { Participant } from '../../src/services/participants/participant.ts';
import { FakePool, type FakeRouter, type FakeTransport } from '../support/fakeMedia.ts';

const OPUS = { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 } as const;
const CAPS = { codecs: [OPUS, { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }] };

type Setup = { deps: HandlerDeps; host: TransportHost & { alive: boolean; exhausted: number }; rooms: RoomRegistry<Participant> };

type Overrides = { maxPeersPerRoom?: number; transportsPerPeer?: number; producersPerPeer?: number; consumersPerPeer?: number; dataProducersPerPeer?: number };

function setup(overrides: Overrides = {}): Setup {
	const rooms = new RoomRegistry<Participant>({ pool: new FakePool(1), logger: createLogger('silent'), roomIdleTimeoutMs: 60_000, maxRooms: 10, roomsPerIpPerMinute: 10 });
	const host = {
		workerId: 0,
		alive: true,
		exhausted: 0,
		webRtcTransportListen: () => ({ listenInfos: [] }),
		trackTransport: () => undefined,
		notePortsExhausted() {
			this.exhausted += 1;
		},
	};
	const deps: HandlerDeps = {
		rooms,
		transportHost: () => host,
		authorizeJoin: async () => undefined,
		settings: {
			maxPeersPerRoom: overrides.maxPeersPerRoom ?? 10,
			limits: {
				transportsPerPeer: overrides.transportsPerPeer ?? 4,
				producersPerPeer: overrides.producersPerPeer ?? 4,
				consumersPerPeer: overrides.consumersPerPeer ?? 4,
				dataProducersPerPeer: overrides.dataProducersPerPeer ?? 2,
				dataMessageBytes: 16384,
				incomingBitratePerPeer: 10_000_000,
				outgoingBitratePerPeer: Infinity,
			},
			flood: { peerOutgoingBitrate: 100_000_000 },
		},
	};
	return { deps, host, rooms };
}

type Client = { peer: Participant; heard: NotificationMessage[]; call<M extends Method>(method: M, data: RequestData<M>): Promise<ResponseData[M]> };

/** A peer driven as a connection would: its data parsed by the method's schema, then the handler. */
function client({ deps }: Setup): Client {
	const heard: NotificationMessage[] = [];
	const peer = new Participant({ notify: (m) => heard.push(m), end: () => undefined });
	return {
		peer,
		heard,
		async call(method, data) {
			const parsed = parseRequestData(method, data);
			if (!parsed.success) throw new Error(`${method}: ${parsed.error.message}`);
			return handlers[method]({ deps, peer, ip: '10.0.0.1' }, parsed.data);
		},
	};
}

async function joined(s: Setup, roomId = 'room'): Promise<Client> {
	const c = client(s);
	await c.call('join', { roomId, displayName: 'someone', rtpCapabilities: CAPS });
	return c;
}

function routerOf(s: Setup, roomId = 'room'): FakeRouter {
	return s.rooms.getRoom(roomId)!.router as unknown as FakeRouter;
}

async function publisher(s: Setup): Promise<{ c: Client; send: string; producerId: string }> {
	const c = await joined(s);
	const { transportId: send } = await c.call('createWebRtcTransport', { direction: 'send' });
	const { producerId } = await c.call('produce', { transportId: send, kind: 'audio', rtpParameters: {} });
	return { c, send, producerId };
}

describe('signalling handlers (fake workers)', () => {
	it('before join: NOT_JOINED; a second join: ALREADY_JOINED', async () => {
		const s = setup();
		const c = client(s);
		await assert.rejects(c.call('createWebRtcTransport', { direction: 'send' }), { code: 'NOT_JOINED' });
		await assert.rejects(c.call('getRoomState', {}), { code: 'NOT_JOINED' });
		await c.call('join', { roomId: 'room', displayName: 'A', rtpCapabilities: CAPS });
		await assert.rejects(c.call('join', { roomId: 'room', displayName: 'A', rtpCapabilities: CAPS }), { code: 'ALREADY_JOINED' });
	});

	it('join refuses capabilities that can receive none of the room\'s codecs, and a full room', async () => {
		const s = setup({ maxPeersPerRoom: 1 });
		const c = client(s);
		await assert.rejects(c.call('join', { roomId: 'room', displayName: 'A', rtpCapabilities: { codecs: [] } }), (error: Error & { code?: string }) => {
			assert.equal(error.code, 'BAD_REQUEST');
			assert.match(error.message, /can receive none of this room's codecs/);
			return true;
		});
		await c.call('join', { roomId: 'room', displayName: 'A', rtpCapabilities: CAPS });
		await assert.rejects(joined(s), { code: 'ROOM_FULL' });
	});

	it("join and getRoomState list the others and their producers, never the caller", async () => {
		const s = setup();
		const a = await publisher(s);
		const b = client(s);
		const answer = await b.call('join', { roomId: 'room', displayName: 'B', rtpCapabilities: CAPS });
		assert.deepEqual(answer.peers, [{ peerId: a.c.peer.peerId, displayName: 'someone' }]);
		assert.deepEqual(answer.producers.map((p) => p.producerId), [a.producerId]);
		const state = await a.c.call('getRoomState', {});
		assert.deepEqual(state, { roomId: 'room', workerId: 0, peers: [{ peerId: b.peer.peerId, displayName: 'B' }], producers: [], dataProducers: [] });
		assert.deepEqual(a.c.heard.map((m) => m.notification), ['peerJoined']);
	});

	it("another peer's transport, producer or consumer is NOT_FOUND; consuming oneself is BAD_REQUEST", async () => {
		const s = setup();
		const a = await publisher(s);
		const b = await joined(s);
		const { transportId: recv } = await b.call('createWebRtcTransport', { direction: 'recv' });
		const { consumerId } = await b.call('consume', { producerId: a.producerId, transportId: recv });
		await assert.rejects(b.call('connectWebRtcTransport', { transportId: a.send, dtlsParameters: {} }), { code: 'NOT_FOUND' });
		await assert.rejects(b.call('produce', { transportId: a.send, kind: 'audio', rtpParameters: {} }), { code: 'NOT_FOUND' });
		await assert.rejects(b.call('closeProducer', { producerId: a.producerId }), { code: 'NOT_FOUND' });
		await assert.rejects(b.call('pauseProducer', { producerId: a.producerId }), { code: 'NOT_FOUND' });
		await assert.rejects(a.c.call('resumeConsumer', { consumerId }), { code: 'NOT_FOUND' });
		const { transportId: aRecv } = await a.c.call('createWebRtcTransport', { direction: 'recv' });
		await assert.rejects(a.c.call('consume', { producerId: a.producerId, transportId: aRecv }), { code: 'BAD_REQUEST' });
		await assert.rejects(b.call('consume', { producerId: 'nothing', transportId: recv }), { code: 'NOT_FOUND' });
	});

	it('transports keep to their direction', async () => {
		const s = setup();
		const a = await publisher(s);
		const b = await joined(s);
		const { transportId: bSend } = await b.call('createWebRtcTransport', { direction: 'send' });
		const { transportId: bRecv } = await b.call('createWebRtcTransport', { direction: 'recv' });
		await assert.rejects(b.call('produce', { transportId: bRecv, kind: 'audio', rtpParameters: {} }), { code: 'BAD_REQUEST' });
		await assert.rejects(b.call('consume', { producerId: a.producerId, transportId: bSend }), { code: 'BAD_REQUEST' });
	});

	it('per-peer caps answer LIMIT_REACHED naming the cap', async () => {
		const s = setup({ transportsPerPeer: 1, producersPerPeer: 1 });
		const a = await publisher(s);
		await assert.rejects(a.c.call('createWebRtcTransport', { direction: 'recv' }), { code: 'LIMIT_REACHED', details: { limit: 'transportsPerPeer', max: 1 } });
		await assert.rejects(a.c.call('produce', { transportId: a.send, kind: 'audio', rtpParameters: {} }), {
			code: 'LIMIT_REACHED',
			details: { limit: 'producersPerPeer', max: 1 },
		});
	});

	it('a room whose worker is gone: NO_WORKER_AVAILABLE; a full port range: NO_PORTS_AVAILABLE, noted on the worker', async () => {
		const s = setup();
		const c = await joined(s);
		s.host.alive = false;
		await assert.rejects(c.call('createWebRtcTransport', { direction: 'send' }), { code: 'NO_WORKER_AVAILABLE' });
		s.host.alive = true;
		routerOf(s).transportError = new Error("no more available ports [protocol:udp, ip:'127.0.0.1', numAttempt:1000]");
		await assert.rejects(c.call('createWebRtcTransport', { direction: 'send' }), { code: 'NO_PORTS_AVAILABLE' });
		assert.equal(s.host.exhausted, 1);
	});

	it("mediasoup's refusals: a plain worker Error is MEDIA_ERROR; its error classes map by instanceof", async () => {
		const s = setup();
		const c = await joined(s);
		const { transportId } = await c.call('createWebRtcTransport', { direction: 'send' });
		const transport = routerOf(s).transports.find((t: FakeTransport) => t.id === transportId)!;
		transport.connectError = new Error('connect() already called [method:transport.connect]');
		await assert.rejects(c.call('connectWebRtcTransport', { transportId, dtlsParameters: {} }), { code: 'MEDIA_ERROR' });
		assert.equal(asTureenError(new mediasoupErrors.WorkerClosedError('Channel closed')).code, 'NO_WORKER_AVAILABLE');
		assert.equal(asTureenError(new mediasoupErrors.NotFoundError('Producer not found')).code, 'MEDIA_ERROR');
		assert.equal(asTureenError(new mediasoupErrors.UnsupportedError('no')).code, 'MEDIA_ERROR');
		assert.equal(asTureenError(new TypeError('invalid rtpParameters')).code, 'MEDIA_ERROR');
		assert.equal(asTureenError(new RangeError('ours')).code, 'INTERNAL');
	});

	it('leave closes what the peer owned and lets the socket join again with the same peerId', async () => {
		const s = setup();
		const a = await publisher(s);
		const b = await joined(s);
		const peerId = a.c.peer.peerId;
		await a.c.call('leave', {});
		assert.deepEqual(b.heard.map((m) => m.notification).slice(-2), ['producerClosed', 'peerLeft']);
		assert.equal(a.c.peer.transports.size, 0);
		const again = await a.c.call('join', { roomId: 'room', displayName: 'A', rtpCapabilities: CAPS });
		assert.equal(again.peerId, peerId);
	});

	describe('data channels, sources and speakers', () => {
		const STREAM = { streamId: 1, ordered: true };

		async function dataPublisher(s: Setup): Promise<{ c: Client; send: string; dataProducerId: string }> {
			const c = await joined(s);
			const { transportId: send } = await c.call('createWebRtcTransport', { direction: 'send' });
			const { dataProducerId } = await c.call('produceData', { transportId: send, sctpStreamParameters: STREAM, label: 'chat' });
			return { c, send, dataProducerId };
		}

		it('transports carry sctpParameters; a data producer is announced, listed to newcomers, and consumed by others only', async () => {
			const s = setup();
			const a = await dataPublisher(s);
			const b = await joined(s);
			assert.deepEqual(b.heard, []);
			const c = client(s);
			const joinedC = await c.call('join', { roomId: 'room', displayName: 'C', rtpCapabilities: CAPS });
			assert.deepEqual(joinedC.dataProducers, [{ dataProducerId: a.dataProducerId, peerId: a.c.peer.peerId, label: 'chat', protocol: '' }]);
			const bTransport = await b.call('createWebRtcTransport', { direction: 'recv' });
			assert.ok(bTransport.sctpParameters, 'the transport answer carries sctpParameters');
			const answer = await b.call('consumeData', { dataProducerId: a.dataProducerId, transportId: bTransport.transportId });
			assert.equal(answer.peerId, a.c.peer.peerId);
			assert.equal(answer.label, 'chat');
			assert.equal(b.peer.dataConsumers.size, 1);

			const { transportId: aRecv } = await a.c.call('createWebRtcTransport', { direction: 'recv' });
			await assert.rejects(a.c.call('consumeData', { dataProducerId: a.dataProducerId, transportId: aRecv }), { code: 'BAD_REQUEST' });
			await assert.rejects(b.call('consumeData', { dataProducerId: 'nothing', transportId: bTransport.transportId }), { code: 'NOT_FOUND' });
			await assert.rejects(b.call('closeDataProducer', { dataProducerId: a.dataProducerId }), { code: 'NOT_FOUND' });
			await assert.rejects(b.call('produceData', { transportId: a.send, sctpStreamParameters: STREAM }), { code: 'NOT_FOUND' });
			await assert.rejects(b.call('produceData', { transportId: bTransport.transportId, sctpStreamParameters: STREAM }), { code: 'BAD_REQUEST' });

			await a.c.call('closeDataProducer', { dataProducerId: a.dataProducerId });
			assert.deepEqual(b.heard.at(-1), { notification: 'dataProducerClosed', data: { dataProducerId: a.dataProducerId, peerId: a.c.peer.peerId } });
			assert.equal(b.peer.dataConsumers.size, 0, "the consumer went with its data producer");
			assert.deepEqual(c.heard.map((m) => m.notification), ['dataProducerClosed']);
		});

		it('MAX_DATA_PRODUCERS_PER_PEER answers LIMIT_REACHED; data consumers count against the consumer cap', async () => {
			const s = setup({ dataProducersPerPeer: 1, consumersPerPeer: 1 });
			const a = await dataPublisher(s);
			await assert.rejects(a.c.call('produceData', { transportId: a.send, sctpStreamParameters: STREAM }), {
				code: 'LIMIT_REACHED',
				details: { limit: 'dataProducersPerPeer', max: 1 },
			});
			const audio = await a.c.call('produce', { transportId: a.send, kind: 'audio', rtpParameters: {} });
			const b = await joined(s);
			const { transportId: recv } = await b.call('createWebRtcTransport', { direction: 'recv' });
			await b.call('consumeData', { dataProducerId: a.dataProducerId, transportId: recv });
			await assert.rejects(b.call('consume', { producerId: audio.producerId, transportId: recv }), {
				code: 'LIMIT_REACHED',
				details: { limit: 'consumersPerPeer', max: 1 },
			});
		});

		it('produce tags the source: default by kind, checked against it, in newProducer and the room state', async () => {
			const s = setup();
			const a = await joined(s);
			const b = await joined(s);
			const { transportId: send } = await a.call('createWebRtcTransport', { direction: 'send' });
			await a.call('produce', { transportId: send, kind: 'audio', rtpParameters: {} });
			await a.call('produce', { transportId: send, kind: 'video', rtpParameters: {}, source: 'screen' });
			await assert.rejects(a.call('produce', { transportId: send, kind: 'video', rtpParameters: {}, source: 'microphone' }), { code: 'BAD_REQUEST' });
			await assert.rejects(a.call('produce', { transportId: send, kind: 'audio', rtpParameters: {}, source: 'camera' }), { code: 'BAD_REQUEST' });
			const announced = b.heard.filter((m) => m.notification === 'newProducer').map((m) => m.notification === 'newProducer' && m.data.source);
			assert.deepEqual(announced, ['microphone', 'screen']);
			const state = await b.call('getRoomState', {});
			assert.deepEqual(state.producers.map((p) => [p.kind, p.source]), [['audio', 'microphone'], ['video', 'screen']]);
		});

		it('produce: a top-level source wins, appData.source alone counts, and the two differing is BAD_REQUEST', async () => {
			const s = setup({ producersPerPeer: 8 });
			const a = await joined(s);
			const b = await joined(s);
			const { transportId } = await a.call('createWebRtcTransport', { direction: 'send' });
			const produce = (extra: object) => a.call('produce', { transportId, kind: 'video', rtpParameters: {}, ...extra });
			await produce({ appData: { source: 'screen' } });
			await produce({ source: 'screen', appData: { source: 'screen', label: 'slides' } });
			await produce({ source: 'camera', appData: { label: 'face' } });
			await assert.rejects(produce({ source: 'camera', appData: { source: 'screen' } }), (error: Error & { code?: string }) => {
				assert.equal(error.code, 'BAD_REQUEST');
				assert.match(error.message, /source "camera" and appData.source "screen" differ/);
				return true;
			});
			await assert.rejects(produce({ appData: { source: 'webcam' } }), { code: 'BAD_REQUEST', message: /appData.source must be one of camera, microphone, screen/ });
			await assert.rejects(produce({ appData: { source: 'microphone' } }), { code: 'BAD_REQUEST', message: /source "microphone" cannot be video/ });
			const announced = b.heard.filter((m) => m.notification === 'newProducer').map((m) => m.notification === 'newProducer' && m.data.source);
			assert.deepEqual(announced, ['screen', 'screen', 'camera']);
			const appData = [...a.peer.producers.values()].map((p) => p.appData);
			assert.deepEqual(appData[1], { source: 'screen', label: 'slides', peerId: a.peer.peerId }, 'the client\'s appData travels with the source');
		});

		it('every audio producer is observed; the active speaker reaches everyone, and newcomers at join', async () => {
			const s = setup();
			const a = await publisher(s);
			const b = await joined(s);
			const { transportId: bSend } = await b.call('createWebRtcTransport', { direction: 'send' });
			await b.call('produce', { transportId: bSend, kind: 'video', rtpParameters: {} });
			const router = routerOf(s);
			const [speaker, levels] = router.observers;
			assert.ok(speaker && levels, 'an ActiveSpeakerObserver and an AudioLevelObserver on the room router');
			assert.deepEqual(speaker.producerIds, [a.producerId], 'audio only');
			assert.deepEqual(levels.producerIds, [a.producerId]);
			const producer = router.producers.get(a.producerId)!;
			speaker.emit('dominantspeaker', { producer });
			const expected = { notification: 'activeSpeaker', data: { peerId: a.c.peer.peerId } };
			assert.deepEqual(b.heard.at(-1), expected);
			assert.deepEqual(a.c.heard.at(-1), expected);
			const c = await joined(s);
			assert.deepEqual(c.heard, [expected]);
			levels.emit('volumes', [{ producer, volume: -20.4 }]);
			assert.deepEqual(c.heard.at(-1), { notification: 'audioLevels', data: { levels: [{ peerId: a.c.peer.peerId, volume: -20 }] } });
		});
	});

	it("layer requests act on the caller's own consumers only; a consumer without layers refuses layer and key frame requests it cannot take", async () => {
		const s = setup();
		const a = await publisher(s);
		const b = await joined(s);
		const { transportId: recv } = await b.call('createWebRtcTransport', { direction: 'recv' });
		const { consumerId } = await b.call('consume', { producerId: a.producerId, transportId: recv });
		for (const call of [
			() => a.c.call('setConsumerPreferredLayers', { consumerId, spatialLayer: 0 }),
			() => a.c.call('setConsumerPriority', { consumerId, priority: 2 }),
			() => a.c.call('requestKeyFrame', { consumerId }),
			() => a.c.call('pauseConsumer', { consumerId }),
		]) {
			await assert.rejects(call(), { code: 'NOT_FOUND' });
		}
		// An audio consumer: no layers, no key frames; priority and pause are fine.
		await assert.rejects(b.call('setConsumerPreferredLayers', { consumerId, spatialLayer: 0 }), { code: 'BAD_REQUEST' });
		await assert.rejects(b.call('requestKeyFrame', { consumerId }), { code: 'BAD_REQUEST' });
		await b.call('setConsumerPriority', { consumerId, priority: 2 });
		await b.call('pauseConsumer', { consumerId });
		await b.call('resumeConsumer', { consumerId });
	});

	it('dynacast: the publisher of a simulcast producer hears the highest layer any live consumer wants, lower ones after the hold-off', async () => {
		mock.timers.enable({ apis: ['setTimeout', 'Date'] });
		try {
			const s = setup();
			const a = await joined(s);
			const { transportId: send } = await a.call('createWebRtcTransport', { direction: 'send' });
			const rtpParameters = { codecs: [], encodings: [{ rid: 'r0' }, { rid: 'r1' }, { rid: 'r2' }] };
			const { producerId } = await a.call('produce', { transportId: send, kind: 'video', rtpParameters });
			const wanted = () => a.heard.flatMap((m) => (m.notification === 'producerLayersWanted' ? [m.data.maxSpatialLayer] : []));
			// Nobody watches: only layer 0 once the hold-off is over.
			mock.timers.tick(DYNACAST_HOLD_OFF_MS);
			assert.deepEqual(wanted(), [0]);

			const b = await joined(s);
			const { transportId: recv } = await b.call('createWebRtcTransport', { direction: 'recv' });
			const { consumerId } = await b.call('consume', { producerId, transportId: recv });
			assert.deepEqual(wanted(), [0], 'a consumer paused until resumed wants nothing');
			await b.call('resumeConsumer', { consumerId });
			assert.deepEqual(wanted(), [0, 2], 'a new consumer prefers the top layer: raised at once');
			await b.call('setConsumerPreferredLayers', { consumerId, spatialLayer: 1 });
			mock.timers.tick(DYNACAST_HOLD_OFF_MS - 1);
			assert.deepEqual(wanted(), [0, 2], 'not before the hold-off');
			mock.timers.tick(1);
			assert.deepEqual(wanted(), [0, 2, 1]);
			await b.call('pauseConsumer', { consumerId });
			mock.timers.tick(DYNACAST_HOLD_OFF_MS);
			assert.deepEqual(wanted(), [0, 2, 1, 0], 'a hidden tile wants nothing');
			await b.call('resumeConsumer', { consumerId });
			assert.deepEqual(wanted(), [0, 2, 1, 0, 1]);
			await b.call('leave', {});
			mock.timers.tick(DYNACAST_HOLD_OFF_MS);
			assert.deepEqual(wanted(), [0, 2, 1, 0, 1, 0], 'the last consumer gone');
			assert.equal(b.heard.filter((m) => m.notification === 'producerLayersWanted').length, 0, 'only the publisher hears it');
		} finally {
			mock.timers.reset();
		}
	});
});
