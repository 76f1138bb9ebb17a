// Hardening finding 8, open mode (issue 10): a cross-origin text/plain
// POST /workers/0/undrain was accepted, so a web page could drive the workers
// of a server without ADMIN_TOKEN, and /ws did not check Origin.
// Tested here: without ADMIN_TOKEN, a web page on another site must
// not drive the operator endpoints through a visitor's browser; bodies must
// be application/json; /ws honours ALLOWED_ORIGINS.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import WebSocket from 'ws';

import type { Tureen } from '../../src/server.ts';
import { startTestServer } from '../support/server.ts';

describe('open mode and origins: a page of another site cannot drive the operator endpoints, and /ws honours ALLOWED_ORIGINS', () => {
	let tureen: Tureen;
	let baseUrl: string;

	before(async () => {
		({ tureen, baseUrl } = await startTestServer({
			MEDIASOUP_WORKER_COUNT: '1',
			RTC_BASE_PORT: '47100',
			ALLOWED_ORIGINS: 'https://app.example.com, http://localhost:8080',
		}));
	});

	after(async () => {
		await tureen?.close();
	});

	const post = (path: string, headers: Record<string, string>, body?: string) => fetch(`${baseUrl}${path}`, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });

	it('a cross-origin text/plain POST /workers/0/drain (what a hidden form sends) is refused and changes nothing', async () => {
		const response = await post('/workers/0/drain', { origin: 'https://evil.example', 'content-type': 'text/plain' }, 'x');
		assert.equal(response.status, 403);
		assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'FORBIDDEN');
		assert.equal(tureen.pool.workers[0]!.draining, false);
	});

	it('Sec-Fetch-Site: cross-site is refused even without Origin, GET included', async () => {
		assert.equal((await post('/workers/0/drain', { 'sec-fetch-site': 'cross-site' })).status, 403);
		assert.equal((await fetch(`${baseUrl}/stats`, { headers: { 'sec-fetch-site': 'same-site' } })).status, 403);
		assert.equal(tureen.pool.workers[0]!.draining, false);
	});

	it('same-origin pages and tools without Origin still work', async () => {
		const origin = new URL(baseUrl).origin;
		assert.equal((await post('/workers/0/drain', { origin, 'sec-fetch-site': 'same-origin' })).status, 200);
		assert.equal((await post('/workers/0/undrain', {})).status, 200);
		assert.equal(tureen.pool.workers[0]!.draining, false);
	});

	it('bodies must be application/json: text/plain gets 415', async () => {
		const response = await post('/rooms', { 'content-type': 'text/plain' }, JSON.stringify({ roomId: 'plain' }));
		assert.equal(response.status, 415);
		assert.match(((await response.json()) as { error: { message: string } }).error.message, /application\/json/);
		assert.equal(tureen.rooms.getRoom('plain'), undefined);
		assert.equal((await post('/rooms', { 'content-type': 'application/json' }, JSON.stringify({ roomId: 'json' }))).status, 201);
	});

	const openWs = (origin: string | undefined): Promise<{ code: number; first: string | undefined }> =>
		new Promise((resolve, reject) => {
			const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`, origin ? { origin } : {});
			let first: string | undefined;
			socket.on('message', (data) => (first ??= String(data)));
			socket.on('open', () => setTimeout(() => socket.close(1000), 200));
			socket.on('close', (code) => resolve({ code, first }));
			socket.on('error', reject);
		});

	it('/ws refuses an Origin outside ALLOWED_ORIGINS (FORBIDDEN, 4403); listed origins and non-browsers connect', async () => {
		const foreign = await openWs('https://evil.example');
		assert.equal(foreign.code, 4403);
		assert.equal((JSON.parse(foreign.first ?? '{}') as { error?: { code: string } }).error?.code, 'FORBIDDEN');
		for (const origin of ['https://app.example.com', 'http://LOCALHOST:8080', undefined]) {
			const allowed = await openWs(origin);
			assert.equal(allowed.code, 1000, `origin ${origin}`);
			assert.equal(allowed.first, undefined);
		}
	});
});
