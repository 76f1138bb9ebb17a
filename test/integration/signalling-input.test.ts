// The signalling WebSocket against hostile or careless input, on a real server
// (one real mediasoup worker) with raw `ws` clients: parse and envelope
// errors, schema validation, size limits, join rules, ownership of transports,
// producers and consumers between peers, rate limits, membership
// notifications and the cleanup that follows a closed socket.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { roomIdSchema } from '../../src/protocol/ids.ts';
import type { ResponseMessage, SignallingErrorCode } from '../../src/protocol/messages.ts';
import type { Tureen } from '../../src/server.ts';
import { startTestServer } from '../support/server.ts';
import { connect, type OkResponse, type WsTestClient } from '../support/wsClient.ts';

const WS_MAX_MESSAGE_BYTES = 65536;
const ROOM_IDLE_TIMEOUT_MS = 500;

type JoinData = { peerId: string; roomId: string; workerId: number; peers: { peerId: string; displayName: string }[] };
type TransportData = { transportId: string };

// A hand-written Opus send: mediasoup accepts a producer on a transport whose
// DTLS is not connected yet, so ownership can be tested without real WebRTC.
function opusRtpParameters(ssrc: number): Record<string, unknown> {
	return {
		codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] }],
		encodings: [{ ssrc }],
		headerExtensions: [],
		rtcp: { cname: `cname-${ssrc}`, reducedSize: true },
	};
}

function assertError(response: ResponseMessage, code: SignallingErrorCode, id?: number | null): void {
	assert.equal(response.ok, false, `expected ${code}, got ${JSON.stringify(response)}`);
	if (response.ok) return;
	assert.equal(response.error.code, code, JSON.stringify(response));
	assert.equal(typeof response.error.message, 'string');
	assert.ok(response.error.message.length > 0);
	if (id !== undefined) assert.equal(response.id, id);
}

function assertOk(response: ResponseMessage): OkResponse {
	assert.equal(response.ok, true, `expected ok, got ${JSON.stringify(response)}`);
	return response as OkResponse;
}

async function pollUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (let attempt = 0; attempt < 1000; attempt++) {
		if (await check()) return;
		if (Date.now() > deadline) break;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	throw new Error(`timed out waiting for ${what}`);
}

describe('signalling input handling (1 worker, MAX_PEERS_PER_ROOM=2)', () => {
	let tureen: Tureen;
	let baseUrl: string;
	let wsUrl: string;
	const clients = new Set<WsTestClient>();

	const open = async (): Promise<WsTestClient> => {
		const client = await connect(wsUrl);
		clients.add(client);
		return client;
	};

	const rtpCapabilities = async (client: WsTestClient, roomId: string): Promise<Record<string, unknown>> => {
		const data = assertOk(await client.request('getRouterRtpCapabilities', { roomId })).data as { rtpCapabilities: Record<string, unknown> };
		return data.rtpCapabilities;
	};

	const join = async (client: WsTestClient, roomId: string, displayName: string): Promise<JoinData> => {
		const caps = await rtpCapabilities(client, roomId);
		return assertOk(await client.request('join', { roomId, displayName, rtpCapabilities: caps })).data as JoinData;
	};

	const createTransport = async (client: WsTestClient, direction: 'send' | 'recv'): Promise<string> => {
		const data = assertOk(await client.request('createWebRtcTransport', { direction })).data as TransportData;
		assert.equal(typeof data.transportId, 'string');
		return data.transportId;
	};

	before(async () => {
		({ tureen, baseUrl } = await startTestServer({
			MEDIASOUP_WORKER_COUNT: '1',
			RTC_BASE_PORT: '47000',
			MAX_PEERS_PER_ROOM: '2',
			ROOM_IDLE_TIMEOUT_MS: String(ROOM_IDLE_TIMEOUT_MS),
		}));
		wsUrl = `${baseUrl.replace(/^http/, 'ws')}/ws`;
		assert.equal(tureen.config.wsMaxMessageBytes, WS_MAX_MESSAGE_BYTES);
	});

	after(async () => {
		await Promise.all([...clients].map((c) => c.close()));
		await tureen?.close();
	});

	describe('parsing and the envelope', () => {
		it('malformed JSON gets INVALID_JSON with id null, and the socket answers the next request', async () => {
			const client = await open();
			for (const text of ['{"id":1,"method":"leave"', 'not json', '', '{id: 1}', '[1,2,']) {
				client.sendRaw(text);
				assertError(await client.nextResponse(), 'INVALID_JSON', null);
			}
			const response = assertOk(await client.request('getRouterRtpCapabilities', { roomId: 'input-json' }));
			assert.ok((response.data as { rtpCapabilities?: unknown }).rtpCapabilities);
			assert.ok(client.isOpen);
		});

		it('an unknown method gets UNKNOWN_METHOD carrying the request id', async () => {
			const client = await open();
			for (const [id, method] of [
				[41, 'launchMissiles'],
				[42, 'JOIN'],
				[43, 'constructor'],
				[44, '__proto__'],
				[45, 'toString'],
				[46, ''],
			] as const) {
				client.sendRaw(JSON.stringify({ id, method, data: {} }));
				assertError(await client.waitForResponse(id), 'UNKNOWN_METHOD', id);
			}
		});

		it('a bad envelope gets BAD_REQUEST with id null', async () => {
			const client = await open();
			const envelopes: unknown[] = [
				[],
				42,
				'"leave"',
				null,
				{ method: 'leave', data: {} },
				{ id: 'one', method: 'leave', data: {} },
				{ id: -1, method: 'leave', data: {} },
				{ id: 1.5, method: 'leave', data: {} },
				{ id: Number.MAX_SAFE_INTEGER + 2, method: 'leave', data: {} },
				{ id: 1, data: {} },
				{ id: 1, method: 7, data: {} },
				{ id: 1, method: 'leave', data: {}, extra: true },
				{ id: 1, method: 'x'.repeat(65), data: {} },
			];
			for (const envelope of envelopes) {
				client.sendRaw(JSON.stringify(envelope));
				const response = await client.nextResponse();
				assertError(response, 'BAD_REQUEST', null);
			}
			assert.ok(client.isOpen);
		});

		it('a binary frame gets BAD_REQUEST, even when it holds a valid request', async () => {
			const client = await open();
			client.sendRaw(Buffer.from(JSON.stringify({ id: 1, method: 'leave', data: {} })), { binary: true });
			assertError(await client.nextResponse(), 'BAD_REQUEST', null);
			client.sendRaw(Buffer.from([0xff, 0x00, 0xfe]), { binary: true });
			assertError(await client.nextResponse(), 'BAD_REQUEST', null);
			assertOk(await client.request('leave', {}));
		});

		it('a message above WS_MAX_MESSAGE_BYTES (below 4x) gets MESSAGE_TOO_LARGE and the socket stays usable', async () => {
			const client = await open();
			for (const size of [WS_MAX_MESSAGE_BYTES + 1, 2 * WS_MAX_MESSAGE_BYTES, 4 * WS_MAX_MESSAGE_BYTES - 100]) {
				const prefix = '{"id":7,"method":"join","data":{"displayName":"';
				const text = `${prefix}${'x'.repeat(size - prefix.length - 3)}"}}`;
				assert.equal(Buffer.byteLength(text), size);
				client.sendRaw(text);
				assertError(await client.nextResponse(), 'MESSAGE_TOO_LARGE', null);
			}
			// Exactly at the limit is still parsed (and then fails validation).
			const prefix = '{"id":8,"method":"leave","data":{"pad":"';
			const atLimit = `${prefix}${'y'.repeat(WS_MAX_MESSAGE_BYTES - prefix.length - 3)}"}}`;
			assert.equal(Buffer.byteLength(atLimit), WS_MAX_MESSAGE_BYTES);
			client.sendRaw(atLimit);
			assertError(await client.waitForResponse(8), 'BAD_REQUEST', 8);
			assertOk(await client.request('getRouterRtpCapabilities', { roomId: 'input-large' }));
		});

		it('a frame above 4x WS_MAX_MESSAGE_BYTES closes the socket with 1009', async () => {
			const client = await open();
			client.sendRaw('z'.repeat(4 * WS_MAX_MESSAGE_BYTES + 1));
			const { code } = await client.waitForClose();
			assert.equal(code, 1009);
		});
	});

	describe('request validation', () => {
		it('schema mismatches get BAD_REQUEST (INVALID_ROOM_ID for a bad roomId) carrying the request id', async () => {
			const first = await open();
			const caps = await rtpCapabilities(first, 'input-schema');
			const cases: { method: string; data?: unknown }[] = [
				// Missing data is read as {} and then fails the method's schema.
				{ method: 'getRouterRtpCapabilities' },
				{ method: 'getRouterRtpCapabilities', data: { roomId: 5 } },
				{ method: 'getRouterRtpCapabilities', data: { roomId: 'bad room!' } },
				{ method: 'getRouterRtpCapabilities', data: { roomId: '' } },
				{ method: 'getRouterRtpCapabilities', data: { roomId: 'r'.repeat(65) } },
				{ method: 'getRouterRtpCapabilities', data: { roomId: 'input-schema', extra: 1 } },
				{ method: 'getRouterRtpCapabilities', data: [] },
				{ method: 'getRouterRtpCapabilities', data: 'input-schema' },
				{ method: 'join' },
				{ method: 'join', data: { roomId: 'input-schema', displayName: 'Ann' } },
				{ method: 'join', data: { roomId: 'input-schema', displayName: 'Ann', rtpCapabilities: 'caps' } },
				{ method: 'join', data: { roomId: 'input-schema', displayName: 'Ann', rtpCapabilities: [] } },
				{ method: 'join', data: { roomId: 'input-schema', displayName: '   ', rtpCapabilities: caps } },
				{ method: 'join', data: { roomId: 'input-schema', displayName: 'n'.repeat(65), rtpCapabilities: caps } },
				{ method: 'join', data: { roomId: 'input schema', displayName: 'Ann', rtpCapabilities: caps } },
				{ method: 'join', data: { roomId: 'input-schema', displayName: 42, rtpCapabilities: caps } },
				{ method: 'join', data: { roomId: 'input-schema', displayName: 'Ann', rtpCapabilities: caps, token: 5 } },
				{ method: 'join', data: { roomId: 'input-schema', displayName: 'Ann', rtpCapabilities: caps, isAdmin: true } },
				{ method: 'createWebRtcTransport', data: { direction: 'sideways' } },
				{ method: 'createWebRtcTransport', data: { direction: 'send', enableTcp: false } },
				{ method: 'connectWebRtcTransport', data: { transportId: 'x' } },
				{ method: 'connectWebRtcTransport', data: { transportId: '', dtlsParameters: {} } },
				{ method: 'restartIce', data: { transportId: 7 } },
				{ method: 'restartIce', data: { transportId: 't'.repeat(65) } },
				{ method: 'produce', data: { transportId: 'x', kind: 'data', rtpParameters: {} } },
				{ method: 'produce', data: { transportId: 'x', kind: 'audio', rtpParameters: {}, appData: { nested: { a: 1 } } } },
				{ method: 'closeProducer', data: { producerId: null } },
				{ method: 'pauseProducer', data: {} },
				{ method: 'resumeProducer', data: { producerId: ['p'] } },
				{ method: 'consume', data: { producerId: 'p' } },
				{ method: 'resumeConsumer', data: { consumerId: {} } },
				{ method: 'leave', data: { now: true } },
			];
			// Joins have a budget of 5 per socket (tested below): a fresh socket every 5.
			let client = first;
			let joins = 0;
			for (const { method, data } of cases) {
				if (method === 'join' && ++joins % 5 === 0) {
					await client.close();
					client = await open();
				}
				const id = client.nextId + 1000;
				client.sendRaw(JSON.stringify(data === undefined ? { id, method } : { id, method, data }));
				const response = await client.waitForResponse(id);
				// A roomId given but not valid is INVALID_ROOM_ID, as over HTTP; any other mismatch BAD_REQUEST.
				const roomId = typeof data === 'object' && data !== null && 'roomId' in data ? data.roomId : undefined;
				const badRoomId = roomId !== undefined && !roomIdSchema.safeParse(roomId).success;
				assertError(response, badRoomId ? 'INVALID_ROOM_ID' : 'BAD_REQUEST', id);
				assert.match((response as { error: { message: string } }).error.message, new RegExp(`^${method}: `));
			}
			// None of that joined the room.
			assert.equal(tureen.rooms.getRoom('input-schema')?.members.size ?? 0, 0);
			assert.ok(client.isOpen);
		});

		it('requests that need a room, before join, get NOT_JOINED; ids of nothing get NOT_FOUND', async () => {
			const client = await open();
			assertError(await client.request('createWebRtcTransport', { direction: 'send' }), 'NOT_JOINED');
			assertError(await client.request('createWebRtcTransport', { direction: 'recv' }), 'NOT_JOINED');
			assertError(await client.request('produce', { transportId: 'x', kind: 'audio', rtpParameters: opusRtpParameters(1) }), 'NOT_JOINED');
			assertError(await client.request('consume', { producerId: 'p', transportId: 't' }), 'NOT_JOINED');
			// Without a room a peer owns nothing, so the id lookups fail first.
			assertError(await client.request('connectWebRtcTransport', { transportId: 't', dtlsParameters: {} }), 'NOT_FOUND');
			assertError(await client.request('restartIce', { transportId: 't' }), 'NOT_FOUND');
			assertError(await client.request('closeProducer', { producerId: 'p' }), 'NOT_FOUND');
			assertError(await client.request('pauseProducer', { producerId: 'p' }), 'NOT_FOUND');
			assertError(await client.request('resumeProducer', { producerId: 'p' }), 'NOT_FOUND');
			assertError(await client.request('resumeConsumer', { consumerId: 'c' }), 'NOT_FOUND');
			// Leaving without a room is a harmless no-op, as is leaving twice.
			assertOk(await client.request('leave', {}));
			assertOk(await client.request('leave', {}));
		});

		it('join twice gets ALREADY_JOINED; leave then join again works', async () => {
			const client = await open();
			const first = await join(client, 'input-twice', 'Ann');
			const caps = await rtpCapabilities(client, 'input-twice');
			assertError(await client.request('join', { roomId: 'input-twice', displayName: 'Ann', rtpCapabilities: caps }), 'ALREADY_JOINED');
			assertError(await client.request('join', { roomId: 'input-other', displayName: 'Ann', rtpCapabilities: caps }), 'ALREADY_JOINED');
			assert.equal(tureen.rooms.getRoom('input-twice')?.members.size, 1);
			assertOk(await client.request('leave', {}));
			const second = await join(client, 'input-twice', 'Ann');
			assert.equal(second.peerId, first.peerId, 'one socket is one peer');
			assertOk(await client.request('leave', {}));
		});

		it('a third join into a room of MAX_PEERS_PER_ROOM=2 gets ROOM_FULL', async () => {
			const [a, b, c] = [await open(), await open(), await open()];
			await join(a, 'input-full', 'A');
			await join(b, 'input-full', 'B');
			const caps = await rtpCapabilities(c, 'input-full');
			assertError(await c.request('join', { roomId: 'input-full', displayName: 'C', rtpCapabilities: caps }), 'ROOM_FULL');
			assert.equal(tureen.rooms.getRoom('input-full')?.members.size, 2);
			assert.ok(c.isOpen, 'ROOM_FULL does not close the socket');
			// A place frees up when someone leaves.
			assertOk(await b.request('leave', {}));
			await join(c, 'input-full', 'C');
			await Promise.all([a.close(), b.close(), c.close()]);
		});
	});

	describe('ownership between peers', () => {
		let a: WsTestClient;
		let b: WsTestClient;
		let aPeerId: string;
		let aSend: string;
		let aRecv: string;
		let bSend: string;
		let bRecv: string;
		let aProducer: string;
		let bProducer: string;
		let aConsumer: string;
		const roomId = 'input-owners';

		const produce = (client: WsTestClient, transportId: string, ssrc: number) =>
			client.request('produce', { transportId, kind: 'audio', rtpParameters: opusRtpParameters(ssrc) });

		before(async () => {
			a = await open();
			b = await open();
			aPeerId = (await join(a, roomId, 'A')).peerId;
			await join(b, roomId, 'B');
			aSend = await createTransport(a, 'send');
			aRecv = await createTransport(a, 'recv');
			bSend = await createTransport(b, 'send');
			bRecv = await createTransport(b, 'recv');
			aProducer = (assertOk(await produce(a, aSend, 1111)).data as { producerId: string }).producerId;
			bProducer = (assertOk(await produce(b, bSend, 2222)).data as { producerId: string }).producerId;
			const consumed = assertOk(await a.request('consume', { producerId: bProducer, transportId: aRecv })).data as { consumerId: string };
			aConsumer = consumed.consumerId;
			assert.equal(typeof aConsumer, 'string');
		});

		after(async () => {
			await Promise.all([a.close(), b.close()]);
		});

		it("each side heard of the other's producer", async () => {
			const heardByB = await b.waitForNotification('newProducer', 5000, (m) => m.data.producerId === aProducer);
			assert.deepEqual(heardByB.data, { producerId: aProducer, peerId: aPeerId, kind: 'audio', source: 'microphone', paused: false });
			const heardByA = await a.waitForNotification('newProducer', 5000, (m) => m.data.producerId === bProducer);
			assert.equal(heardByA.data.kind, 'audio');
		});

		it('getRoomState lists the other peer and its producers, never the caller', async () => {
			const state = assertOk(await b.request('getRoomState', {})).data as { roomId: string; peers: { peerId: string }[]; producers: { producerId: string; peerId: string }[] };
			assert.equal(state.roomId, roomId);
			assert.deepEqual(state.peers.map((p) => p.peerId), [aPeerId]);
			assert.deepEqual(state.producers.map((p) => [p.producerId, p.peerId]), [[aProducer, aPeerId]]);
			const outsider = await open();
			assertError(await outsider.request('getRoomState', {}), 'NOT_JOINED');
			await outsider.close();
		});

		it("B cannot connect, restartIce, produce or consume on A's transports (NOT_FOUND)", async () => {
			const aTransport = tureen.rooms.getRoom(roomId)?.members.get(aPeerId)?.transports.get(aSend);
			assert.ok(aTransport, "A's send transport exists server-side");
			for (const transportId of [aSend, aRecv]) {
				const dtlsParameters = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA:BB' }] };
				assertError(await b.request('connectWebRtcTransport', { transportId, dtlsParameters }), 'NOT_FOUND');
				assertError(await b.request('restartIce', { transportId }), 'NOT_FOUND');
				assertError(await produce(b, transportId, 3333), 'NOT_FOUND');
				assertError(await b.request('consume', { producerId: aProducer, transportId }), 'NOT_FOUND');
			}
			assert.equal(aTransport.closed, false);
			assert.equal(aTransport.dtlsState, 'new', "B's connect did not reach A's transport");
		});

		it("B cannot pause, resume or close A's producer (NOT_FOUND), and it is untouched", async () => {
			assertError(await b.request('pauseProducer', { producerId: aProducer }), 'NOT_FOUND');
			assertError(await b.request('closeProducer', { producerId: aProducer }), 'NOT_FOUND');
			assertError(await b.request('resumeProducer', { producerId: aProducer }), 'NOT_FOUND');
			const producer = tureen.rooms.getRoom(roomId)?.members.get(aPeerId)?.producers.get(aProducer);
			assert.ok(producer, "A's producer still exists");
			assert.equal(producer.closed, false);
			assert.equal(producer.paused, false);
			// The owner may: and B hears of it.
			assertOk(await a.request('pauseProducer', { producerId: aProducer }));
			const paused = await b.waitForNotification('producerPaused', 5000, (m) => m.data.producerId === aProducer);
			assert.equal(paused.data.peerId, aPeerId);
			assertOk(await a.request('resumeProducer', { producerId: aProducer }));
		});

		it("B cannot resume A's consumer (NOT_FOUND)", async () => {
			assertError(await b.request('resumeConsumer', { consumerId: aConsumer }), 'NOT_FOUND');
			const consumer = tureen.rooms.getRoom(roomId)?.members.get(aPeerId)?.consumers.get(aConsumer);
			assert.ok(consumer);
			assert.equal(consumer.paused, true, 'still paused as created');
			assertOk(await a.request('resumeConsumer', { consumerId: aConsumer }));
			assert.equal(consumer.paused, false);
		});

		it('a peer of another room cannot touch them either', async () => {
			const c = await open();
			await join(c, 'input-owners-elsewhere', 'C');
			const cRecv = await createTransport(c, 'recv');
			assertError(await c.request('consume', { producerId: aProducer, transportId: cRecv }), 'NOT_FOUND');
			assertError(await c.request('closeProducer', { producerId: aProducer }), 'NOT_FOUND');
			assertError(await c.request('restartIce', { transportId: aSend }), 'NOT_FOUND');
			assertError(await c.request('resumeConsumer', { consumerId: aConsumer }), 'NOT_FOUND');
			await c.close();
		});

		it('produce on a recv transport gets BAD_REQUEST; so do consume on a send transport and consuming oneself', async () => {
			assertError(await produce(b, bRecv, 4444), 'BAD_REQUEST');
			assertError(await b.request('consume', { producerId: aProducer, transportId: bSend }), 'BAD_REQUEST');
			assertError(await b.request('consume', { producerId: bProducer, transportId: bRecv }), 'BAD_REQUEST');
			assertError(await b.request('consume', { producerId: 'no-such-producer', transportId: bRecv }), 'NOT_FOUND');
		});

		it('the owner closing its producer tells the other side, and the consumer goes with it', async () => {
			assertOk(await b.request('closeProducer', { producerId: bProducer }));
			const closed = await a.waitForNotification('consumerClosed', 5000, (m) => m.data.consumerId === aConsumer);
			assert.equal(closed.data.producerId, bProducer);
			await a.waitForNotification('producerClosed', 5000, (m) => m.data.producerId === bProducer);
			// Both at once, consumerClosed first: nothing about it arrives later.
			const order = a.notifications.filter((m) => m.notification === 'consumerClosed' || m.notification === 'producerClosed').map((m) => m.notification);
			assert.deepEqual(order.slice(-2), ['consumerClosed', 'producerClosed']);
			assertError(await b.request('closeProducer', { producerId: bProducer }), 'NOT_FOUND');
			assertError(await a.request('resumeConsumer', { consumerId: aConsumer }), 'NOT_FOUND');
		});
	});

	describe('parameters mediasoup refuses', () => {
		it('get MEDIA_ERROR with mediasoup\'s reason, never INTERNAL', async () => {
			const client = await open();
			await join(client, 'input-media', 'M');
			const send = await createTransport(client, 'send');
			const recv = await createTransport(client, 'recv');
			const produce = (rtpParameters: Record<string, unknown>) => client.request('produce', { transportId: send, kind: 'audio', rtpParameters });
			assertOk(await produce(opusRtpParameters(5000)));

			// Refused by the worker with a plain Error (these were INTERNAL before).
			const duplicateSsrc = await produce(opusRtpParameters(5000));
			assertError(duplicateSsrc, 'MEDIA_ERROR');
			assert.match((duplicateSsrc as { error: { message: string } }).error.message, /ssrc already exists/);
			assertOk(await produce({ ...opusRtpParameters(5001), mid: 'm1' }));
			assertError(await produce({ ...opusRtpParameters(5002), mid: 'm1' }), 'MEDIA_ERROR');
			const dtlsParameters = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA:BB:CC' }] };
			assertOk(await client.request('connectWebRtcTransport', { transportId: send, dtlsParameters }));
			const connectedTwice = await client.request('connectWebRtcTransport', { transportId: send, dtlsParameters });
			assertError(connectedTwice, 'MEDIA_ERROR');
			assert.match((connectedTwice as { error: { message: string } }).error.message, /already called/);

			// Refused by mediasoup's own validation (TypeError and friends).
			assertError(await produce({ codecs: [{ mimeType: 'video/H265', payloadType: 100, clockRate: 90000 }], encodings: [{ ssrc: 5003 }] }), 'MEDIA_ERROR');
			assertError(await produce({ codecs: {}, encodings: [{ ssrc: 5004 }] }), 'MEDIA_ERROR');
			assertError(await client.request('connectWebRtcTransport', { transportId: recv, dtlsParameters: { role: 'sideways', fingerprints: [] } }), 'MEDIA_ERROR');

			// The transport and the first producer are fine after all that.
			assertOk(await client.request('restartIce', { transportId: send }));
			assert.equal(tureen.rooms.getRoom('input-media')?.members.values().next().value?.producers.size, 2);
			await client.close();
		});
	});

	describe('plain HTTP on the WebSocket path', () => {
		it('GET /ws without an Upgrade gets 426 and the API error shape', async () => {
			const response = await fetch(`${baseUrl}/ws`, { signal: AbortSignal.timeout(5000) });
			assert.equal(response.status, 426);
			assert.equal(response.headers.get('upgrade'), 'websocket');
			assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
			const body = (await response.json()) as { error: { code: string; message: string } };
			assert.equal(body.error.code, 'BAD_REQUEST');
			assert.equal(typeof body.error.message, 'string');
		});
	});

	describe('rate limits', () => {
		it('a burst of more than 100 requests on one socket gets RATE_LIMITED replies', async () => {
			const client = await open();
			const BURST = 300;
			// Sent back to back, without waiting: far faster than the 50/s refill.
			const first = client.nextId;
			for (let i = 0; i < BURST; i++) client.sendRaw(JSON.stringify({ id: first + i, method: 'leave', data: {} }));
			const responses = await Promise.all(Array.from({ length: BURST }, (_, i) => client.waitForResponse(first + i, 10_000)));
			const limited = responses.filter((r) => !r.ok && r.error.code === 'RATE_LIMITED');
			const ok = responses.filter((r) => r.ok);
			assert.equal(limited.length + ok.length, BURST, 'every reply is ok or RATE_LIMITED');
			assert.ok(ok.length >= 100, `the first 100 pass (${ok.length} ok)`);
			assert.ok(limited.length >= 1, `some were rate limited (${limited.length})`);
			for (let i = 0; i < 100; i++) assert.equal(responses[i]?.ok, true, `request ${i} of the burst passes`);
			assert.ok(client.isOpen, 'rate limiting does not close the socket');
		});

		it('more than 5 joins in quick succession get RATE_LIMITED', async () => {
			const client = await open();
			const caps = await rtpCapabilities(client, 'input-joins');
			const first = client.nextId;
			for (let i = 0; i < 10; i++) {
				client.sendRaw(JSON.stringify({ id: first + i, method: 'join', data: { roomId: 'input-joins', displayName: 'J', rtpCapabilities: caps } }));
			}
			const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => client.waitForResponse(first + i)));
			const codes = responses.map((r) => (r.ok ? 'ok' : r.error.code));
			assert.deepEqual(codes.slice(0, 5), ['ok', 'ALREADY_JOINED', 'ALREADY_JOINED', 'ALREADY_JOINED', 'ALREADY_JOINED'], codes.join());
			assert.ok(codes.slice(5).includes('RATE_LIMITED'), codes.join());
			assert.ok(codes.slice(5).every((c) => c === 'RATE_LIMITED' || c === 'ALREADY_JOINED'), codes.join());
			// Other requests have their own budget.
			assertOk(await client.request('getRouterRtpCapabilities', { roomId: 'input-joins' }));
			await client.close();
		});
	});

	describe('membership', () => {
		it('peerJoined and peerLeft go between two raw clients', async () => {
			const a = await open();
			const b = await open();
			const aJoin = await join(a, 'input-members', 'Alice');
			assert.deepEqual(aJoin.peers, []);
			const bJoin = await join(b, 'input-members', 'Bob');
			assert.deepEqual(bJoin.peers, [{ peerId: aJoin.peerId, displayName: 'Alice' }]);
			const joined = await a.waitForNotification('peerJoined');
			assert.deepEqual(joined.data, { peerId: bJoin.peerId, displayName: 'Bob' });

			assertOk(await b.request('leave', {}));
			const left = await a.waitForNotification('peerLeft');
			assert.deepEqual(left.data, { peerId: bJoin.peerId });

			// Back in, then gone by closing the socket.
			await join(b, 'input-members', 'Bob');
			await a.waitForNotification('peerJoined');
			await b.close();
			const gone = await a.waitForNotification('peerLeft');
			assert.deepEqual(gone.data, { peerId: bJoin.peerId });
			assert.equal(b.notifications.filter((n) => n.notification === 'peerJoined').length, 0, 'no one joined after Bob');
			await a.close();
		});

		it('a closed socket removes its peer, and the empty room closes after ROOM_IDLE_TIMEOUT_MS with its router', async () => {
			const roomId = 'input-cleanup';
			const peerCount = async (): Promise<number | undefined> => {
				const response = await fetch(`${baseUrl}/rooms/${roomId}`, { signal: AbortSignal.timeout(5000) });
				if (response.status === 404) return undefined;
				assert.equal(response.status, 200);
				return ((await response.json()) as { peerCount: number }).peerCount;
			};
			const a = await open();
			const b = await open();
			await join(a, roomId, 'A');
			await join(b, roomId, 'B');
			await createTransport(a, 'send');
			await createTransport(b, 'recv');
			assert.equal(await peerCount(), 2);
			const room = tureen.rooms.getRoom(roomId);
			assert.ok(room);
			const routerId = room.router.id;
			const worker = tureen.pool.getWorker(room.workerId)?.worker;
			assert.ok(worker);
			assert.ok((await worker.dump()).routerIds.includes(routerId));

			b.terminate();
			await pollUntil(async () => (await peerCount()) === 1, 'peerCount 1 after B is gone');
			assert.ok((await worker.dump()).routerIds.includes(routerId), 'the room lives on with A');

			await a.close();
			await pollUntil(async () => (await peerCount()) === undefined, 'the room to close when idle');
			assert.equal(room.closed, true);
			assert.equal(tureen.rooms.getRoom(roomId), undefined);
			await pollUntil(async () => !(await worker.dump()).routerIds.includes(routerId), 'the router to leave the worker');
		});
	});
});
