// Join tokens (JOIN_SECRET) and the operator token (ADMIN_TOKEN) on a real
// server: a valid token joins with its identity; missing, forged, expired,
// malformed or wrong-room tokens are refused and the socket closed (4401);
// admin endpoints want `Authorization: Bearer <ADMIN_TOKEN>` while probes, the
// demo page and the dashboard stay open; a server without them stays open.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { SignJWT } from 'jose';

import { mintJoinToken } from '../../src/auth/joinToken.ts';
import type { ResponseMessage, SignallingErrorCode } from '../../src/protocol/messages.ts';
import type { Tureen } from '../../src/server.ts';
import { startTestServer } from '../support/server.ts';
import { connect, type WsTestClient } from '../support/wsClient.ts';

const JOIN_SECRET = 'join-secret-for-tests-0123456789';
const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
const OTHER_SECRET = 'some-other-secret-0123456789abcd';
const ROOM = 'auth-room';

type Reply = { status: number; contentType: string; text: string };

async function http(baseUrl: string, method: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
	const response = await fetch(`${baseUrl}${path}`, { method, headers, signal: AbortSignal.timeout(10_000), redirect: 'manual' });
	return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
}

function assertJsonError(reply: Reply, status: number, code: string): void {
	assert.equal(reply.status, status, reply.text);
	assert.match(reply.contentType, /^application\/json/);
	const body = JSON.parse(reply.text) as { error?: { code?: unknown; message?: unknown } };
	assert.equal(body.error?.code, code, reply.text);
	assert.equal(typeof body.error?.message, 'string');
}

function assertError(response: ResponseMessage, code: SignallingErrorCode): string {
	assert.equal(response.ok, false, JSON.stringify(response));
	if (response.ok) return '';
	assert.equal(response.error.code, code, JSON.stringify(response));
	return response.error.message;
}

function base64url(value: unknown): string {
	return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('auth: JOIN_SECRET and ADMIN_TOKEN set', () => {
	let tureen: Tureen;
	let baseUrl: string;
	let wsUrl: string;
	let rtpCapabilities: Record<string, unknown>;
	const clients = new Set<WsTestClient>();

	const open = async (): Promise<WsTestClient> => {
		const client = await connect(wsUrl);
		clients.add(client);
		return client;
	};
	const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

	before(async () => {
		({ tureen, baseUrl } = await startTestServer({
			MEDIASOUP_WORKER_COUNT: '1',
			RTC_BASE_PORT: '45000',
			JOIN_SECRET,
			ADMIN_TOKEN,
		}));
		wsUrl = `${baseUrl.replace(/^http/, 'ws')}/ws`;
		const client = await open();
		const token = await mintJoinToken(JOIN_SECRET, { roomId: ROOM, peer: 'setup' }, 60);
		const response = await client.request('getRouterRtpCapabilities', { roomId: ROOM, token });
		assert.ok(response.ok, JSON.stringify(response));
		rtpCapabilities = (response.data as { rtpCapabilities: Record<string, unknown> }).rtpCapabilities;
		await client.close();
	});

	after(async () => {
		await Promise.all([...clients].map((c) => c.close()));
		await tureen?.close();
	});

	describe('join tokens', () => {
		it('getRouterRtpCapabilities (which creates rooms) needs a token too', async () => {
			const client = await open();
			const response = await client.request('getRouterRtpCapabilities', { roomId: 'no-token-room' });
			assertError(response, 'UNAUTHORIZED');
			assert.equal((await client.waitForClose()).code, 4401);
			assert.equal(tureen.rooms.getRoom('no-token-room'), undefined, 'no room was created');
		});

		const roomPeers = async (roomId: string): Promise<{ peerId: string; displayName: string }[]> => {
			const reply = await http(baseUrl, 'GET', `/rooms/${roomId}`, bearer(ADMIN_TOKEN));
			assert.equal(reply.status, 200, reply.text);
			const { peers } = JSON.parse(reply.text) as { peers: { peerId: string; displayName: string }[] };
			// Who is in the room; their consumers are not this test's business.
			return peers.map(({ peerId, displayName }) => ({ peerId, displayName }));
		};

		/** Sends join with `token` and expects `code`, the reply carrying the id, then close 4401. */
		const expectRefused = async (token: string | undefined, code: 'UNAUTHORIZED' | 'FORBIDDEN', roomId = ROOM): Promise<string> => {
			const client = await open();
			const data = { roomId, displayName: 'Mallory', rtpCapabilities, ...(token === undefined ? {} : { token }) };
			const response = await client.request('join', data);
			const message = assertError(response, code);
			assert.equal(response.id, client.nextId - 1, 'the refusal answers the join');
			const { code: closeCode, reason } = await client.waitForClose();
			assert.equal(closeCode, 4401);
			assert.equal(reason, code);
			assert.ok(!(tureen.rooms.getRoom(roomId)?.members.size), 'no one joined');
			return message;
		};

		it("a valid token joins, and the token's name claim wins over the requested displayName", async () => {
			const client = await open();
			const token = await mintJoinToken(JOIN_SECRET, { roomId: ROOM, peer: 'user-42', displayName: 'Token Name' }, 60);
			const response = await client.request('join', { roomId: ROOM, displayName: 'Requested Name', rtpCapabilities, token });
			assert.ok(response.ok, JSON.stringify(response));
			const { peerId } = response.data as { peerId: string };
			assert.deepEqual(await roomPeers(ROOM), [{ peerId, displayName: 'Token Name' }]);
			assert.ok(client.isOpen);

			// A second peer hears the token's name too.
			const other = await open();
			const otherToken = await mintJoinToken(JOIN_SECRET, { roomId: ROOM, peer: 'user-43' }, 60);
			const otherResponse = await other.request('join', { roomId: ROOM, displayName: 'Plain Name', rtpCapabilities, token: otherToken });
			assert.ok(otherResponse.ok, JSON.stringify(otherResponse));
			assert.deepEqual((otherResponse.data as { peers: unknown[] }).peers, [{ peerId, displayName: 'Token Name' }]);
			// Without a name claim the requested displayName stands.
			const joined = await client.waitForNotification('peerJoined');
			assert.equal(joined.data.displayName, 'Plain Name');
			await Promise.all([client.close(), other.close()]);
		});

		it('no token: UNAUTHORIZED and the socket closes with 4401', async () => {
			const message = await expectRefused(undefined, 'UNAUTHORIZED');
			assert.match(message, /requires a join token/);
			assert.match(await expectRefused('', 'UNAUTHORIZED'), /requires a join token/);
		});

		it('a forged token (signed with another secret): UNAUTHORIZED + 4401', async () => {
			const forged = await mintJoinToken(OTHER_SECRET, { roomId: ROOM, peer: 'mallory', displayName: 'Admin' }, 60);
			assert.match(await expectRefused(forged, 'UNAUTHORIZED'), /invalid/);
		});

		it('an expired token: UNAUTHORIZED + 4401', async () => {
			const expired = await mintJoinToken(JOIN_SECRET, { roomId: ROOM, peer: 'late' }, -60);
			assert.match(await expectRefused(expired, 'UNAUTHORIZED'), /expired/);
		});

		it('garbage strings: UNAUTHORIZED + 4401', async () => {
			for (const garbage of ['garbage', 'a.b.c', 'eyJ.eyJ.sig', '....', 'x'.repeat(4096)]) {
				await expectRefused(garbage, 'UNAUTHORIZED');
			}
		});

		it('tampered or unsigned tokens: UNAUTHORIZED + 4401', async () => {
			const valid = await mintJoinToken(JOIN_SECRET, { roomId: 'other-room', peer: 'p' }, 60);
			const [header, , signature] = valid.split('.');
			// Payload swapped for one naming this room, signature kept.
			const swapped = `${header}.${base64url({ room: ROOM, sub: 'p', exp: Math.floor(Date.now() / 1000) + 60 })}.${signature}`;
			await expectRefused(swapped, 'UNAUTHORIZED');
			// alg "none".
			const unsigned = `${base64url({ alg: 'none' })}.${base64url({ room: ROOM, sub: 'p', exp: Math.floor(Date.now() / 1000) + 60 })}.`;
			await expectRefused(unsigned, 'UNAUTHORIZED');
		});

		it('tokens missing a required claim (exp, sub, room): UNAUTHORIZED + 4401', async () => {
			const key = new TextEncoder().encode(JOIN_SECRET);
			const exp = Math.floor(Date.now() / 1000) + 60;
			const noExp = await new SignJWT({ room: ROOM }).setProtectedHeader({ alg: 'HS256' }).setSubject('p').sign(key);
			const noSub = await new SignJWT({ room: ROOM }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(key);
			const noRoom = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('p').setExpirationTime(exp).sign(key);
			for (const token of [noExp, noSub, noRoom]) await expectRefused(token, 'UNAUTHORIZED');
			// HS512 with the right secret is still not the algorithm the server takes.
			const otherAlg = await new SignJWT({ room: ROOM }).setProtectedHeader({ alg: 'HS512' }).setSubject('p').setExpirationTime(exp).sign(key);
			await expectRefused(otherAlg, 'UNAUTHORIZED');
		});

		it('a token for another room: FORBIDDEN + 4401', async () => {
			const token = await mintJoinToken(JOIN_SECRET, { roomId: 'another-room', peer: 'p' }, 60);
			assert.match(await expectRefused(token, 'FORBIDDEN'), /another room/);
		});
	});

	describe('admin endpoints', () => {
		const guarded: [method: string, path: string][] = [
			['GET', '/stats'],
			['GET', '/workers'],
			['GET', '/rooms'],
			['GET', '/metrics'],
			['POST', '/workers/0/drain'],
		];

		it('answer 401 JSON UNAUTHORIZED without an Authorization header', async () => {
			for (const [method, path] of guarded) {
				const reply = await http(baseUrl, method, path);
				assertJsonError(reply, 401, 'UNAUTHORIZED');
			}
			const reply = await fetch(`${baseUrl}/stats`, { signal: AbortSignal.timeout(10_000) });
			assert.equal(reply.headers.get('www-authenticate'), 'Bearer');
			await reply.body?.cancel();
		});

		it('answer 401 for an Authorization header that is not a Bearer token', async () => {
			for (const authorization of [`Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`, ADMIN_TOKEN, `bearer ${ADMIN_TOKEN}`]) {
				assertJsonError(await http(baseUrl, 'GET', '/stats', { authorization }), 401, 'UNAUTHORIZED');
			}
		});

		it('answer 403 JSON FORBIDDEN with a wrong token', async () => {
			for (const [method, path] of guarded) {
				assertJsonError(await http(baseUrl, method, path, bearer('wrong-token-0123456789')), 403, 'FORBIDDEN');
			}
			// (fetch trims the header value, so no trailing-space cases here.)
			for (const wrong of [` ${ADMIN_TOKEN}`, ADMIN_TOKEN.slice(0, -1), `${ADMIN_TOKEN}x`, ADMIN_TOKEN.toUpperCase(), JOIN_SECRET]) {
				assertJsonError(await http(baseUrl, 'GET', '/stats', bearer(wrong)), 403, 'FORBIDDEN');
			}
		});

		it('answer 200 with Authorization: Bearer <ADMIN_TOKEN>', async () => {
			for (const [method, path] of guarded) {
				const reply = await http(baseUrl, method, path, bearer(ADMIN_TOKEN));
				assert.equal(reply.status, 200, `${method} ${path}: ${reply.text}`);
			}
			assert.equal(tureen.pool.getWorker(0)?.draining, true, 'the authorised drain happened');
			const undrain = await http(baseUrl, 'POST', '/workers/0/undrain', bearer(ADMIN_TOKEN));
			assert.equal(undrain.status, 200);
			assert.equal(tureen.pool.getWorker(0)?.draining, false);
		});

		it('guard the rest of /rooms and /workers too, query strings included', async () => {
			assertJsonError(await http(baseUrl, 'GET', `/rooms/${ROOM}`), 401, 'UNAUTHORIZED');
			assertJsonError(await http(baseUrl, 'DELETE', `/rooms/${ROOM}`), 401, 'UNAUTHORIZED');
			assertJsonError(await http(baseUrl, 'POST', '/workers/0/undrain'), 401, 'UNAUTHORIZED');
			assertJsonError(await http(baseUrl, 'GET', '/stats?token=x'), 401, 'UNAUTHORIZED');
			// Not a route at all: 404 before any data could leak.
			assertJsonError(await http(baseUrl, 'GET', '/stats/'), 404, 'NOT_FOUND');
		});

		it(
			'guard admin paths written with percent-encoded characters',
			async () => {
				for (const [method, path] of [
					['GET', '/%73tats'],
					['GET', '/w%6Frkers'],
					['GET', '/%72ooms'],
					['GET', '/%6detrics'],
				] as const) {
					const reply = await http(baseUrl, method, path);
					assert.equal(reply.status, 401, `${method} ${path} answered ${reply.status} without a token`);
				}
				// Not POST /%77orkers/0/drain: while the bypass exists it would really drain worker 0.
			},
		);

		it('leave /health, /ready, / (demo page) and /dashboard open', async () => {
			for (const path of ['/health', '/ready', '/', '/dashboard']) {
				const reply = await http(baseUrl, 'GET', path);
				assert.equal(reply.status, 200, `${path}: ${reply.text.slice(0, 200)}`);
			}
		});
	});
});

describe('auth: neither JOIN_SECRET nor ADMIN_TOKEN set', () => {
	let tureen: Tureen;
	let baseUrl: string;

	before(async () => {
		({ tureen, baseUrl } = await startTestServer({ MEDIASOUP_WORKER_COUNT: '1', RTC_BASE_PORT: '43000' }));
	});

	after(async () => {
		await tureen?.close();
	});

	it('serves the admin endpoints without a token', async () => {
		for (const path of ['/stats', '/workers', '/rooms', '/metrics']) {
			const reply = await http(baseUrl, 'GET', path);
			assert.equal(reply.status, 200, `${path}: ${reply.text.slice(0, 200)}`);
		}
	});

	it('lets anyone join without a token (a token, if sent, is ignored)', async () => {
		const client = await connect(`${baseUrl.replace(/^http/, 'ws')}/ws`);
		try {
			const caps = await client.request('getRouterRtpCapabilities', { roomId: 'open-room' });
			assert.ok(caps.ok);
			const rtpCapabilities = (caps.data as { rtpCapabilities: Record<string, unknown> }).rtpCapabilities;
			const joined = await client.request('join', { roomId: 'open-room', displayName: 'Anyone', rtpCapabilities, token: 'garbage' });
			assert.ok(joined.ok, JSON.stringify(joined));
			assert.equal(tureen.rooms.getRoom('open-room')?.members.size, 1);
		} finally {
			await client.close();
		}
	});
});
