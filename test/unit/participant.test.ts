// A participant on fake mediasoup objects: it alone creates and changes what
// it owns, tells the others in a fixed order, and closes what arrives after
// it left. No worker needed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { types as ms } from 'mediasoup';

import type { NotificationMessage } from '../../src/protocol/messages.ts';
import type { TransportHost } from '../../src/services/participants/mediaCalls.ts';
import { Participant } from '../../src/services/participants/participant.ts';
import { Room } from '../../src/services/rooms/room.ts';
import { FakePool, FakeRouter, type FakeConsumer, type FakeProducer, type FakeTransport } from '../support/fakeMedia.ts';

type Heard = { peer: Participant; heard: NotificationMessage[]; ended: string[] };

const CAPS = { codecs: [] } as ms.RtpCapabilities;
const HOST: TransportHost = { workerId: 0, alive: true, webRtcTransportListen: () => ({ listenInfos: [] }), trackTransport: () => undefined, notePortsExhausted: () => undefined };
const SETTINGS = { dataMessageBytes: 16384, incomingBitrate: 10_000_000, outgoingBitrate: Infinity, peerOutgoingBitrate: 100_000_000 };

function newPeer(room?: Room<Participant>): Heard {
	const heard: NotificationMessage[] = [];
	const ended: string[] = [];
	const peer = new Participant({ notify: (m) => heard.push(m), end: (reason) => ended.push(reason) });
	if (room) peer.enter(room, { rtpCapabilities: CAPS });
	return { peer, heard, ended };
}

function newRoom(placer?: FakePool): { room: Room<Participant>; router: FakeRouter } {
	const router = new FakeRouter();
	return { room: new Room<Participant>('r', 0, router.asRouter(), placer), router };
}

const names = (heard: NotificationMessage[]) => heard.map((m) => m.notification);

async function transportOf(peer: Participant, router: FakeRouter, direction: 'send' | 'recv'): Promise<FakeTransport> {
	const { transportId } = await peer.createWebRtcTransport(direction, () => HOST, SETTINGS);
	return router.transports.find((t) => t.id === transportId)!;
}

async function produced(peer: Participant, send: FakeTransport, kind: 'audio' | 'video'): Promise<FakeProducer> {
	const producerId = await peer.produce({ transportId: send.id, kind, rtpParameters: {} as ms.RtpParameters, source: kind === 'audio' ? 'microphone' : 'camera' });
	return send.producers.find((p) => p.id === producerId)!;
}

/** A publishes one producer and B consumes it. */
async function publishedAndConsumed(placer?: FakePool) {
	const { room, router } = newRoom(placer);
	const a = newPeer(room);
	const b = newPeer(room);
	const send = await transportOf(a.peer, router, 'send');
	const recv = await transportOf(b.peer, router, 'recv');
	const producer = await produced(a.peer, send, 'video');
	const { consumerId } = await b.peer.consume(a.peer, { transportId: recv.id, producerId: producer.id });
	const consumer = recv.consumers.find((c) => c.id === consumerId)!;
	b.heard.length = 0;
	return { room, router, a, b, send, recv, producer, consumer };
}

describe('Participant (fake mediasoup objects)', () => {
	it('enters through the room, and the others hear of its producers', async () => {
		const { room, router } = newRoom();
		const a = newPeer(room);
		const b = newPeer(room);
		assert.deepEqual([...room.members.keys()], [a.peer.peerId, b.peer.peerId]);
		const send = await transportOf(a.peer, router, 'send');
		const producer = await produced(a.peer, send, 'audio');
		assert.equal(a.peer.producers.size, 1);
		assert.deepEqual(b.heard, [{ notification: 'newProducer', data: { producerId: producer.id, peerId: a.peer.peerId, kind: 'audio', source: 'microphone', paused: false } }]);
		assert.deepEqual(a.heard, [], 'the owner is not told of its own producer');
	});

	it('acts only on its own objects: another peer\'s ids are NOT_FOUND', async () => {
		const { send, producer, consumer, b, a } = await publishedAndConsumed();
		await assert.rejects(b.peer.restartIce(send.id), { code: 'NOT_FOUND' });
		assert.throws(() => b.peer.closeProducer(producer.id), { code: 'NOT_FOUND' });
		await assert.rejects(a.peer.pauseConsumer(consumer.id), { code: 'NOT_FOUND' });
		assert.equal(b.peer.producers.get(producer.id), undefined);
		assert.equal(a.peer.producers.get(producer.id), producer as unknown as ms.Producer);
	});

	it('a closed producer: its consumers close and are told, then producerClosed; nothing later from the worker', async () => {
		const { a, b, producer, consumer } = await publishedAndConsumed();
		producer.close();
		assert.deepEqual(b.heard, [
			{ notification: 'consumerClosed', data: { consumerId: consumer.id, producerId: producer.id } },
			{ notification: 'producerClosed', data: { producerId: producer.id, peerId: a.peer.peerId } },
		]);
		assert.equal(consumer.closed, true);
		assert.equal(a.peer.producers.size, 0);
		assert.equal(b.peer.consumers.size, 0);
		(consumer as FakeConsumer).producerClosedByWorker();
		assert.equal(b.heard.length, 2, 'the worker\'s late producerclose adds nothing');
	});

	it('leave: consumerClosed, producerClosed, then peerLeft, each once; the room empties', async () => {
		const { room, a, b, producer, consumer } = await publishedAndConsumed();
		let empty = false;
		room.on('empty', () => (empty = true));
		a.peer.leave();
		assert.deepEqual(names(b.heard), ['consumerClosed', 'producerClosed', 'peerLeft']);
		assert.equal(consumer.closed, true);
		assert.equal((producer as FakeProducer).closed, true);
		assert.equal(a.peer.room, undefined);
		assert.equal(a.peer.leave(), undefined, 'a second leave does nothing');
		assert.equal(names(b.heard).length, 3);
		b.peer.end();
		assert.equal(empty, true);
	});

	it('a room closing tells each member roomClosed and nothing else', async () => {
		const { room, a, b } = await publishedAndConsumed();
		a.heard.length = 0;
		room.close('deleted');
		assert.deepEqual(a.heard, [{ notification: 'roomClosed', data: { reason: 'deleted' } }]);
		assert.deepEqual(b.heard, [{ notification: 'roomClosed', data: { reason: 'deleted' } }]);
	});

	it('a room moving: producerClosed for the remote producers (no consumerClosed), then roomMoved; the maps are empty', async () => {
		const pool = new FakePool(2);
		const { room, router, a, b, producer } = await publishedAndConsumed(pool);
		a.heard.length = 0;
		pool.unavailable.add(0);
		await room.moveOff(0, 'worker-died');
		assert.equal(router.closed, true);
		assert.deepEqual(b.heard, [
			{ notification: 'producerClosed', data: { producerId: producer.id, peerId: a.peer.peerId } },
			{ notification: 'roomMoved', data: { workerId: 1, reason: 'worker-died' } },
		]);
		assert.deepEqual(a.heard, [{ notification: 'roomMoved', data: { workerId: 1, reason: 'worker-died' } }]);
		for (const { peer } of [a, b]) assert.deepEqual([peer.transports.size, peer.producers.size, peer.consumers.size], [0, 0, 0]);
		assert.equal(room.members.size, 2, 'both stay joined');
	});

	it('what is made for a peer that has left (or whose connection ended) is closed at once', async () => {
		const { room, router } = newRoom();
		const a = newPeer(room);
		const making = a.peer.createWebRtcTransport('send', () => HOST, SETTINGS);
		a.peer.end();
		await assert.rejects(making, { code: 'NOT_JOINED' });
		assert.equal(router.transports.length, 1);
		assert.equal(router.transports[0]!.closed, true);
		assert.throws(() => a.peer.enter(room), { code: 'NOT_JOINED' });
	});

	it('keeps displayName and capabilities it entered with; they change only through enter', () => {
		const { room } = newRoom();
		const a = new Participant({ notify: () => undefined, end: () => undefined });
		a.enter(room, { displayName: 'Ada', rtpCapabilities: CAPS });
		assert.equal(a.displayName, 'Ada');
		assert.equal(Object.getOwnPropertyDescriptor(a, 'displayName'), undefined, 'no public field to write');
	});

	it('endSession: sessionEnded first, then the room sees it leave, then the connection ends', () => {
		const { room } = newRoom();
		const a = newPeer(room);
		const b = newPeer(room);
		a.peer.endSession('replaced');
		assert.deepEqual(names(a.heard), ['sessionEnded']);
		assert.deepEqual(a.ended, ['replaced']);
		assert.deepEqual(names(b.heard), ['peerLeft']);
		assert.equal(room.members.has(a.peer.peerId), false);
	});
});
