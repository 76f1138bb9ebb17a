// Simulcast across workers in real Chromium: the publisher and the watcher
// on different workers (ROOM_MAX_PEERS_PER_ROUTER=1), so every layer crosses
// a pipe; layer choice on the watcher's worker and dynacast at the publisher
// work as in a room on one worker.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { Page } from 'playwright-core';

import type { Tureen } from '../../src/server.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { openDemo, pollUntil } from '../support/demoPage.ts';
import { startTestServer } from '../support/server.ts';
import { callClient, inboundVideo, outboundVideo, topEncodingGrowth } from '../support/simulcastStats.ts';

const ROOM = 'simulcast-span';
let tureen: Tureen;
let baseUrl: string;
let browser: TestBrowser;
let publisher: Page;
let watcher: Page;

before(async () => {
	({ tureen, baseUrl } = await startTestServer({
		MEDIASOUP_WORKER_COUNT: '2',
		RTC_BASE_PORT: '44500',
		RTC_PORTS_PER_WORKER: '100',
		ROOM_MAX_PEERS_PER_ROUTER: '1',
	}));
	browser = await launchBrowser();
	publisher = await openDemo(browser.context, baseUrl, ROOM, 'publisher');
	watcher = await openDemo(browser.context, baseUrl, ROOM, 'watcher', { publish: 'off', adaptive: 'off' });
});

after(async () => {
	await browser?.close();
	await tureen?.close();
});

test('layers cross a pipe: the watcher on the other worker decodes the top layer, then ~320 wide after preferring layer 0; the publisher drops its top encoding', async () => {
	await pollUntil(() => outboundVideo(publisher), (e) => e.length === 3, { what: 'three simulcast encodings sent' });
	// The watcher's page joins after the publisher's: wait for it rather than race it.
	await pollUntil(async () => tureen.rooms.getRoom(ROOM)?.members.size ?? 0, (n) => n === 2, { what: 'both pages joined' });
	const room = tureen.rooms.getRoom(ROOM)!;
	assert.equal(room.routers.length, 2, 'publisher and watcher on two workers');
	const top = await pollUntil(
		() => inboundVideo(watcher),
		(v) => v.length === 1 && v[0]!.frameWidth >= 1200,
		{ timeoutMs: 45_000, what: 'the top layer (about 1280 wide) decoded across the pipe' },
	);
	await callClient(watcher, 'setPreferredLayers', top[0]!.consumerId, 0);
	await pollUntil(
		() => inboundVideo(watcher),
		(v) => v.length === 1 && v[0]!.frameWidth > 0 && v[0]!.frameWidth <= 400,
		{ timeoutMs: 15_000, what: 'the smallest layer (about 320 wide) decoded' },
	);
	// Dynacast: the only subscriber (on the other worker) wants layer 0, so the publisher stops r2.
	await pollUntil(() => topEncodingGrowth(publisher), (growth) => growth === 0, { timeoutMs: 20_000, what: 'the top encoding stopped' });
});
