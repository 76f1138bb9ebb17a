// Component tests of the token checks: join tokens with real jose signatures,
// the admin guard on a real (unlistened) Fastify instance.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import Fastify from 'fastify';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';

import { adminGuard, openModeGuard, tokenMatches } from '../../src/auth/adminToken.ts';
import { mintJoinToken, verifyJoinToken } from '../../src/auth/joinToken.ts';
import { TureenError } from '../../src/errors.ts';

const SECRET = 'join-secret-0123456789';
const key = new TextEncoder().encode(SECRET);

function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
	return assert.rejects(promise, (error: unknown) => {
		assert.ok(error instanceof TureenError);
		assert.equal(error.code, code);
		assert.match(error.message, message);
		return true;
	});
}

describe('mintJoinToken', () => {
	it('signs HS256 with room, sub, name, iat and exp', async () => {
		const before = Math.floor(Date.now() / 1000);
		const token = await mintJoinToken(SECRET, { roomId: 'r1', peer: 'alice', displayName: 'Alice' }, 600);
		assert.deepEqual(decodeProtectedHeader(token), { alg: 'HS256' });
		const claims = decodeJwt(token);
		assert.equal(claims.room, 'r1');
		assert.equal(claims.sub, 'alice');
		assert.equal(claims.name, 'Alice');
		assert.ok(claims.iat! >= before && claims.iat! <= before + 5);
		assert.ok(claims.exp! >= before + 600 && claims.exp! <= before + 605);
	});

	it('leaves out the name claim when there is no display name', async () => {
		const claims = decodeJwt(await mintJoinToken(SECRET, { roomId: 'r1', peer: 'bob' }, 60));
		assert.equal('name' in claims, false);
	});
});

describe('verifyJoinToken', () => {
	it('accepts a token for the room and returns its identity and expiry', async () => {
		const token = await mintJoinToken(SECRET, { roomId: 'r1', peer: 'alice', displayName: 'Alice' }, 60);
		const expiresAt = decodeJwt(token).exp! * 1000;
		assert.deepEqual(await verifyJoinToken(SECRET, token, 'r1'), { roomId: 'r1', peer: 'alice', displayName: 'Alice', expiresAt });
	});

	it('returns no displayName when the token has none; a non-string or empty name is refused', async () => {
		const token = await mintJoinToken(SECRET, { roomId: 'r1', peer: 'bob' }, 60);
		assert.deepEqual(await verifyJoinToken(SECRET, token, 'r1'), { roomId: 'r1', peer: 'bob', expiresAt: decodeJwt(token).exp! * 1000 });
		for (const name of [42, '', '   ', 'x'.repeat(65)]) {
			const bad = await new SignJWT({ room: 'r1', name }).setProtectedHeader({ alg: 'HS256' }).setSubject('bob').setIssuedAt().setExpirationTime('1m').sign(key);
			await rejectsWith(verifyJoinToken(SECRET, bad, 'r1'), 'UNAUTHORIZED', /name must be 1-64 characters/);
		}
	});

	it('UNAUTHORIZED when the lifetime exceeds the maximum', async () => {
		const token = await mintJoinToken(SECRET, { roomId: 'r1', peer: 'alice' }, 120);
		await rejectsWith(verifyJoinToken(SECRET, token, 'r1', 119), 'UNAUTHORIZED', /lives 120 s; this server accepts at most 119 s/);
		assert.equal((await verifyJoinToken(SECRET, token, 'r1', 120)).peer, 'alice');
	});

	it('UNAUTHORIZED without a token', async () => {
		await rejectsWith(verifyJoinToken(SECRET, undefined, 'r1'), 'UNAUTHORIZED', /requires a join token/);
		await rejectsWith(verifyJoinToken(SECRET, '', 'r1'), 'UNAUTHORIZED', /requires a join token/);
	});

	it('UNAUTHORIZED for a token signed with another secret, or not a token at all', async () => {
		const forged = await mintJoinToken('another-secret-0123456789', { roomId: 'r1', peer: 'eve' }, 60);
		await rejectsWith(verifyJoinToken(SECRET, forged, 'r1'), 'UNAUTHORIZED', /invalid/);
		await rejectsWith(verifyJoinToken(SECRET, 'not.a.token', 'r1'), 'UNAUTHORIZED', /invalid/);
	});

	it('UNAUTHORIZED "expired" for an expired token', async () => {
		const expired = await mintJoinToken(SECRET, { roomId: 'r1', peer: 'alice' }, -60);
		await rejectsWith(verifyJoinToken(SECRET, expired, 'r1'), 'UNAUTHORIZED', /expired/);
	});

	it('sub is 1-256 characters; name up to 64 is accepted', async () => {
		const signed = (sub: string, name?: string) =>
			new SignJWT({ room: 'r1', ...(name === undefined ? {} : { name }) }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1m').sign(key);
		assert.equal((await verifyJoinToken(SECRET, await signed('s'.repeat(256)), 'r1')).peer, 's'.repeat(256));
		assert.equal((await verifyJoinToken(SECRET, await signed('a', 'n'.repeat(64)), 'r1')).displayName, 'n'.repeat(64));
		for (const sub of ['', 's'.repeat(257)]) {
			await rejectsWith(verifyJoinToken(SECRET, await signed(sub), 'r1'), 'UNAUTHORIZED', /sub must be 1-256 characters/);
		}
	});

	it('UNAUTHORIZED when exp, iat, sub or room is missing', async () => {
		const base = () => new SignJWT({ room: 'r1' }).setProtectedHeader({ alg: 'HS256' });
		const noExp = await base().setSubject('alice').setIssuedAt().sign(key);
		const noIat = await base().setSubject('alice').setExpirationTime('1m').sign(key);
		const noSub = await base().setIssuedAt().setExpirationTime('1m').sign(key);
		const noRoom = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setIssuedAt().setExpirationTime('1m').sign(key);
		for (const token of [noExp, noIat, noSub, noRoom]) await rejectsWith(verifyJoinToken(SECRET, token, 'r1'), 'UNAUTHORIZED', /invalid/);
	});

	it('UNAUTHORIZED for another algorithm, even with the right secret', async () => {
		const hs512 = await new SignJWT({ room: 'r1' }).setProtectedHeader({ alg: 'HS512' }).setSubject('alice').setIssuedAt().setExpirationTime('1m').sign(key);
		await rejectsWith(verifyJoinToken(SECRET, hs512, 'r1'), 'UNAUTHORIZED', /invalid/);
	});

	it('FORBIDDEN for a valid token of another room, naming the room', async () => {
		const token = await mintJoinToken(SECRET, { roomId: 'r1', peer: 'alice' }, 60);
		await rejectsWith(verifyJoinToken(SECRET, token, 'r2'), 'FORBIDDEN', /another room, not "r2"/);
	});
});

describe('tokenMatches', () => {
	it('is true only for the same string', () => {
		assert.equal(tokenMatches('admin-token-0123456789', 'admin-token-0123456789'), true);
		assert.equal(tokenMatches('admin-token-012345678', 'admin-token-0123456789'), false);
		assert.equal(tokenMatches('', 'admin-token-0123456789'), false);
		assert.equal(tokenMatches('Admin-token-0123456789', 'admin-token-0123456789'), false);
	});
});

describe('adminGuard', () => {
	const TOKEN = 'admin-token-0123456789';

	async function call(authorization?: string) {
		const app = Fastify();
		app.addHook('onRequest', adminGuard(TOKEN));
		app.get('/stats', async () => ({ secret: 'stats' }));
		const response = await app.inject({ method: 'GET', url: '/stats', headers: authorization === undefined ? {} : { authorization } });
		await app.close();
		return { status: response.statusCode, body: response.json() as unknown, challenge: response.headers['www-authenticate'] };
	}

	it('lets the right bearer token through', async () => {
		assert.deepEqual(await call(`Bearer ${TOKEN}`), { status: 200, body: { secret: 'stats' }, challenge: undefined });
	});

	it('401 with a Bearer challenge when there is no bearer token', async () => {
		for (const header of [undefined, '', TOKEN, `Basic ${TOKEN}`, `bearer ${TOKEN}`, 'Bearer']) {
			const reply = await call(header);
			assert.equal(reply.status, 401, `Authorization: ${header}`);
			assert.equal(reply.challenge, 'Bearer');
			assert.deepEqual(reply.body, { error: { code: 'UNAUTHORIZED', message: 'send Authorization: Bearer <ADMIN_TOKEN>' } });
		}
	});

	it('403 for a wrong bearer token', async () => {
		for (const header of ['Bearer wrong', 'Bearer ', `Bearer ${TOKEN} `, `Bearer ${TOKEN.slice(1)}`]) {
			const reply = await call(header);
			assert.equal(reply.status, 403, `Authorization: ${header}`);
			assert.deepEqual(reply.body, { error: { code: 'FORBIDDEN', message: 'wrong admin token' } });
		}
	});
});

describe('openModeGuard', () => {
	async function call(headers: Record<string, string>) {
		const app = Fastify();
		app.addHook('onRequest', openModeGuard);
		app.get('/stats', async () => ({ open: true }));
		const response = await app.inject({ method: 'GET', url: '/stats', headers });
		await app.close();
		return { status: response.statusCode, body: response.json() as unknown };
	}

	it('lets same-origin and non-browser requests through', async () => {
		assert.deepEqual(await call({}), { status: 200, body: { open: true } });
		assert.deepEqual(await call({ 'sec-fetch-site': 'same-origin' }), { status: 200, body: { open: true } });
	});

	it('403 FORBIDDEN for a cross-origin browser request, saying how to allow it', async () => {
		const reply = await call({ 'sec-fetch-site': 'cross-site' });
		assert.deepEqual(reply, {
			status: 403,
			body: { error: { code: 'FORBIDDEN', message: 'operator endpoints refuse cross-origin browser requests; set ADMIN_TOKEN to use them from elsewhere' } },
		});
	});
});
