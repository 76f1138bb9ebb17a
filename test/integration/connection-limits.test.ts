// Hardening finding 5, no limits across connections (issue 10): 4000 sockets
// that never joined stayed open forever, 1000 sockets created 20,000 rooms in
// 21 s in open mode, POST /rooms had no cap, and frames refused before the
// rate limiter (bad JSON, oversize, binary) were not rate limited at all.
// Tested here: caps on open sockets per address
// and in total, a timeout for sockets that never join, caps on rooms in total
// and created per address per minute, and a rate limit every frame counts
// against (bad JSON, oversize and binary included).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import WebSocket from 'ws';

import type { ResponseMessage } from '../../src/protocol/messages.ts';
import type { Tureen } from '../../src/server.ts';
import { assertLimit } from '../support/media.ts';
import { startTestServer } from '../support/server.ts';
import { connect, type WsTestClient } from '../support/wsClient.ts';

/** A raw socket from another loopback address: its first message and its close code. */
function refusedFrom(url: string, localAddress: string): Promise<{ message: ResponseMessage; code: number }> {
	return new Promise((resolve, reject) => {
		const socket = new WebSocket(url, { localAddress });
		let message: ResponseMessage | undefined;
		const timer = setTimeout(() => reject(new Error('no refusal within 5 s')), 5000);
		socket.on('message', (data) => (message = JSON.parse(String(data)) as ResponseMessage));
		socket.on('close', (code) => {
			clearTimeout(timer);
			if (message) resolve({ message, code });
			else reject(new Error(`closed ${code} without a message`));
		});
		socket.on('error', reject);
	});
}

describe('limits across connections: sockets that never join, rooms per address and refused frames are bounded', () => {
	describe('connections per address and in total, join timeout, every frame rate limited', () => {
		let tureen: Tureen;
		let wsUrl: string;
		const clients: WsTestClient[] = [];

		before(async () => {
			let baseUrl: string;
			({ tureen, baseUrl } = await startTestServer({
				MEDIASOUP_WORKER_COUNT: '1',
				RTC_BASE_PORT: '46700',
				MAX_CONNECTIONS_PER_IP: '3',
				MAX_CONNECTIONS: '4',
				JOIN_TIMEOUT_MS: '3000',
			}));
			wsUrl = `${baseUrl.replace(/^http/, 'ws')}/ws`;
		});

		after(async () => {
			await Promise.all(clients.map((c) => c.close()));
			await tureen?.close();
		});

		/** A socket in a room, so the join timeout leaves it alone while the caps are tested. */
		const openJoined = async (): Promise<WsTestClient> => {
			const client = await connect(wsUrl);
			const reply = await client.request('getRouterRtpCapabilities', { roomId: 'limits-a' });
			assert.ok(reply.ok);
			const { rtpCapabilities } = reply.data as { rtpCapabilities: Record<string, unknown> };
			assert.ok((await client.request('join', { roomId: 'limits-a', displayName: 'L', rtpCapabilities })).ok);
			return client;
		};

		it('the 4th socket from one address is told LIMIT_REACHED (connectionsPerIp) and closed; a freed slot is reused', async () => {
			for (let i = 0; i < 3; i++) clients.push(await openJoined());
			const fourth = await connect(wsUrl);
			assertLimit((await fourth.nextResponse()) as ResponseMessage, 'connectionsPerIp', 3);
			assert.equal((await fourth.waitForClose()).code, 1013);
			await clients.shift()!.close();
			for (let i = 0; i < 100 && tureen.connectionCounter.total > 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
			clients.push(await openJoined());
		});

		it('past MAX_CONNECTIONS any address is refused (connections)', async () => {
			// 3 sockets from 127.0.0.1 are open; other loopback source addresses make the 4th and 5th
			// (the 4th is accepted, and closed long before its join timeout matters).
			const fourth = await new Promise<WebSocket>((resolve, reject) => {
				const s = new WebSocket(wsUrl, { localAddress: '127.0.0.3' });
				s.once('open', () => resolve(s));
				s.once('error', reject);
			});
			const { message, code } = await refusedFrom(wsUrl, '127.0.0.4');
			assertLimit(message, 'connections', 4);
			assert.equal(code, 1013);
			fourth.terminate();
		});

		it('a socket that joins no room is closed after JOIN_TIMEOUT_MS (4408)', async () => {
			for (const c of clients.splice(0)) await c.close();
			for (let i = 0; i < 100 && tureen.connectionCounter.total > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
			const idle = await connect(wsUrl);
			assert.ok((await idle.request('getRouterRtpCapabilities', { roomId: 'limits-idle' })).ok, 'requests do not reset the timer');
			assert.equal((await idle.waitForClose(10_000)).code, 4408);
		});

		it('every frame counts against the rate limit: a flood of bad JSON gets RATE_LIMITED after the burst', async () => {
			const client = await connect(wsUrl);
			clients.push(client);
			// Sent back to back, far faster than the 50/s refill: the first 100 use the burst.
			const FLOOD = 300;
			for (let i = 0; i < FLOOD; i++) client.sendRaw('{not json');
			const codes: string[] = [];
			for (let i = 0; i < FLOOD; i++) {
				const reply = await client.nextResponse();
				codes.push(reply.ok ? 'ok' : reply.error.code);
			}
			assert.deepEqual(new Set(codes.slice(0, 100)), new Set(['INVALID_JSON']), 'the burst of 100');
			assert.ok(codes.includes('RATE_LIMITED'), 'then RATE_LIMITED');
			assert.deepEqual(new Set(codes), new Set(['INVALID_JSON', 'RATE_LIMITED']));
			// Binary frames count too.
			const binaryOnly = await connect(wsUrl);
			clients.push(binaryOnly);
			for (let i = 0; i < FLOOD; i++) binaryOnly.sendRaw(Buffer.from([1, 2, 3]), { binary: true });
			const binaryCodes: string[] = [];
			for (let i = 0; i < FLOOD; i++) binaryCodes.push(((r) => (r.ok ? 'ok' : r.error.code))(await binaryOnly.nextResponse()));
			assert.ok(binaryCodes.includes('RATE_LIMITED'), binaryCodes.join());
		});
	});

	describe('rooms in total and per address per minute', () => {
		let tureen: Tureen;
		let baseUrl: string;

		before(async () => {
			({ tureen, baseUrl } = await startTestServer({
				MEDIASOUP_WORKER_COUNT: '1',
				RTC_BASE_PORT: '46800',
				MAX_ROOMS: '5',
				MAX_ROOMS_PER_IP_PER_MINUTE: '3',
			}));
		});

		after(async () => {
			await tureen?.close();
		});

		it('one address creates 3 rooms a minute; joining existing rooms is free', async () => {
			const client = await connect(`${baseUrl.replace(/^http/, 'ws')}/ws`);
			for (let i = 0; i < 3; i++) assert.ok((await client.request('getRouterRtpCapabilities', { roomId: `quota-${i}` })).ok);
			assertLimit(await client.request('getRouterRtpCapabilities', { roomId: 'quota-3' }), 'roomsPerIpPerMinute', 3);
			assert.ok((await client.request('getRouterRtpCapabilities', { roomId: 'quota-0' })).ok, 'an existing room');
			await client.close();
		});

		it('MAX_ROOMS caps the rooms of the server, POST /rooms included (429 LIMIT_REACHED)', async () => {
			// The registry without a creator address: only the total counts.
			await tureen.rooms.getOrCreateRoom('total-a');
			await tureen.rooms.getOrCreateRoom('total-b');
			const response = await fetch(`${baseUrl}/rooms`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ roomId: 'total-c' }),
			});
			assert.equal(response.status, 429);
			assert.deepEqual(await response.json(), {
				error: { code: 'LIMIT_REACHED', message: 'the server has its maximum of rooms: the limit is 5', details: { limit: 'rooms', max: 5 } },
			});
			assert.equal(tureen.rooms.rooms.length, 5);
		});
	});
});
