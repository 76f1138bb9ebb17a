// Hardening finding 4, tokens not bound to one identity (issue 10): one token
// joined 50 times at once, `sub` was thrown away, the client chose its own
// display name, sessions outlived `exp`, an `exp` in year 9999 was accepted
// and a 2,501-character `name` claim skipped the 1-64 limit.
// Tested here: `sub` is the peer's identity
// and peerId; one live session per (room, sub), a second join replacing the
// first; the token's name is length-checked; exp - iat is bounded by
// MAX_TOKEN_TTL; a session ends when its token expires, told first.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { SignJWT } from 'jose';

import { mintJoinToken } from '../../src/auth/joinToken.ts';
import type { Tureen } from '../../src/server.ts';
import { startTestServer } from '../support/server.ts';
import { connect, type WsTestClient } from '../support/wsClient.ts';

const JOIN_SECRET = 'token-identity-secret-0123456789';
const ROOM = 'identity-room';

function sign(claims: Record<string, unknown>): Promise<string> {
	return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(JOIN_SECRET));
}

describe('tokens bound to one identity: one session per (room, sub), the name checked, the lifetime bounded', () => {
	let tureen: Tureen;
	let wsUrl: string;
	let caps: Record<string, unknown>;
	const clients: WsTestClient[] = [];

	const open = async (): Promise<WsTestClient> => {
		const client = await connect(wsUrl);
		clients.push(client);
		return client;
	};

	before(async () => {
		let baseUrl: string;
		({ tureen, baseUrl } = await startTestServer({ MEDIASOUP_WORKER_COUNT: '1', RTC_BASE_PORT: '46600', JOIN_SECRET, MAX_TOKEN_TTL: '3600' }));
		wsUrl = `${baseUrl.replace(/^http/, 'ws')}/ws`;
		const client = await open();
		const token = await mintJoinToken(JOIN_SECRET, { roomId: ROOM, peer: 'caps' }, 60);
		const reply = await client.request('getRouterRtpCapabilities', { roomId: ROOM, token });
		assert.ok(reply.ok);
		caps = (reply.data as { rtpCapabilities: Record<string, unknown> }).rtpCapabilities;
	});

	after(async () => {
		await Promise.all(clients.map((c) => c.close()));
		await tureen?.close();
	});

	const members = () => [...(tureen.rooms.getRoom(ROOM)?.members.values() ?? [])].map((m) => ({ peerId: m.peerId, displayName: m.displayName }));

	it('a second join with the same sub replaces the first: told, then closed; sub is the peerId', async () => {
		const token = await mintJoinToken(JOIN_SECRET, { roomId: ROOM, peer: 'alice', displayName: 'Alice' }, 600);
		const first = await open();
		const one = await first.request('join', { roomId: ROOM, displayName: 'x', rtpCapabilities: caps, token });
		assert.ok(one.ok);
		assert.equal((one.data as { peerId: string }).peerId, 'alice');
		const second = await open();
		assert.ok((await second.request('join', { roomId: ROOM, displayName: 'x', rtpCapabilities: caps, token })).ok);
		const ended = await first.waitForNotification('sessionEnded');
		assert.equal(ended.data.reason, 'replaced');
		assert.equal((await first.waitForClose()).code, 4409);
		assert.deepEqual(members(), [{ peerId: 'alice', displayName: 'Alice' }]);
		await second.close();
	});

	it('50 sockets joining at once with one token leave one member', async () => {
		const token = await mintJoinToken(JOIN_SECRET, { roomId: ROOM, peer: 'mallory' }, 600);
		const sockets = await Promise.all(Array.from({ length: 50 }, () => open()));
		await Promise.all(sockets.map((s) => s.request('join', { roomId: ROOM, displayName: 'M', rtpCapabilities: caps, token }).catch(() => undefined)));
		assert.equal(members().filter((m) => m.peerId === 'mallory').length, 1);
		await Promise.all(sockets.map((s) => s.close()));
	});

	const refused = async (token: string, pattern: RegExp): Promise<void> => {
		const client = await open();
		const reply = await client.request('join', { roomId: ROOM, displayName: 'x', rtpCapabilities: caps, token });
		assert.equal(reply.ok, false);
		if (reply.ok) return;
		assert.equal(reply.error.code, 'UNAUTHORIZED');
		assert.match(reply.error.message, pattern);
	};

	it('a token living longer than MAX_TOKEN_TTL (exp in year 9999) is refused', async () => {
		const iat = Math.floor(Date.now() / 1000);
		await refused(await sign({ room: ROOM, sub: 'forever', iat, exp: 253402300799 }), /MAX_TOKEN_TTL/);
		// Without iat the lifetime cannot be checked.
		await refused(await sign({ room: ROOM, sub: 'no-iat', exp: iat + 60 }), /invalid/);
	});

	it("the token's name claim is length-checked like a displayName", async () => {
		const iat = Math.floor(Date.now() / 1000);
		await refused(await sign({ room: ROOM, sub: 'long', name: 'A'.repeat(2501), iat, exp: iat + 60 }), /name must be 1-64/);
		await refused(await sign({ room: ROOM, sub: 'blank', name: '   ', iat, exp: iat + 60 }), /name must be 1-64/);
		await refused(await sign({ room: ROOM, sub: 'S'.repeat(257), iat, exp: iat + 60 }), /sub must be/);
	});

	it('a session ends when its token expires: sessionEnded first, then the socket closes', async () => {
		const iat = Math.floor(Date.now() / 1000);
		const token = await sign({ room: ROOM, sub: 'brief', iat, exp: iat + 5 });
		const client = await open();
		assert.ok((await client.request('join', { roomId: ROOM, displayName: 'Brief', rtpCapabilities: caps, token })).ok);
		const ended = await client.waitForNotification('sessionEnded', 15_000);
		assert.equal(ended.data.reason, 'token-expired');
		assert.equal((await client.waitForClose()).code, 4401);
		assert.ok(!members().some((m) => m.peerId === 'brief'));
	});
});
