// The signalling WebSocket against hostile or careless input, on a real server
// (one real mediasoup worker) with raw `ws` clients: parse and envelope
// errors, schema validation, size limits, join rules and plain HTTP on /ws.
// Ownership, rate limits and membership: signalling-ownership.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { roomIdSchema } from '../../src/protocol/ids.ts';
import { opusRtpParameters } from '../support/media.ts';
import { assertError, assertOk, inputServer, WS_MAX_MESSAGE_BYTES } from '../support/signallingInput.ts';

describe('signalling input handling (1 worker, MAX_PEERS_PER_ROOM=2)', () => {
	const server = inputServer(47000);
	const { open, rtpCapabilities, join } = server;

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
			assert.equal(server.tureen.rooms.getRoom('input-schema')?.members.size ?? 0, 0);
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
			assert.equal(server.tureen.rooms.getRoom('input-twice')?.members.size, 1);
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
			assert.equal(server.tureen.rooms.getRoom('input-full')?.members.size, 2);
			assert.ok(c.isOpen, 'ROOM_FULL does not close the socket');
			// A place frees up when someone leaves.
			assertOk(await b.request('leave', {}));
			await join(c, 'input-full', 'C');
			await Promise.all([a.close(), b.close(), c.close()]);
		});
	});

	describe('plain HTTP on the WebSocket path', () => {
		it('GET /ws without an Upgrade gets 426 and the API error shape', async () => {
			const response = await fetch(`${server.baseUrl}/ws`, { signal: AbortSignal.timeout(5000) });
			assert.equal(response.status, 426);
			assert.equal(response.headers.get('upgrade'), 'websocket');
			assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
			const body = (await response.json()) as { error: { code: string; message: string } };
			assert.equal(body.error.code, 'BAD_REQUEST');
			assert.equal(typeof body.error.message, 'string');
		});
	});
});
