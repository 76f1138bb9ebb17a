import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, test } from 'node:test';

import type { Page } from 'playwright-core';

import type { Tureen } from '../../src/server.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { audioStats, framesByPeer, ONE_ENCODING, openDemo, pollUntil, videoStats } from '../support/demoPage.ts';
import { startTestServer } from '../support/server.ts';

let tureen: Tureen;
let baseUrl: string;
let browser: TestBrowser;

before(async () => {
	({ tureen, baseUrl } = await startTestServer({ MEDIASOUP_WORKER_COUNT: '2', RTC_BASE_PORT: '46000' }));
	browser = await launchBrowser();
});

after(async () => {
	await browser?.close();
	await tureen?.close();
});

test('two rooms on two workers: every page decodes the video and audio of every other page of its room', async () => {
	const rooms = { A: ['a1', 'a2'], B: ['b1', 'b2'] } as const;
	const pages: { room: string; page: Page; loadedAt: number }[] = [];
	for (const [room, names] of Object.entries(rooms)) {
		for (const name of names) {
			const loadedAt = Date.now();
			pages.push({ room, page: await openDemo(browser.context, baseUrl, room, name, ONE_ENCODING), loadedAt });
		}
	}

	const firstFrameMs: number[] = [];
	for (const { page, loadedAt, room } of pages) {
		const stats = await pollUntil(
			() => videoStats(page),
			(s) => s.length === 1 && s.every((v) => v.framesDecoded > 0),
			{ what: `a decoded remote video in room ${room}` },
		);
		firstFrameMs.push(Date.now() - loadedAt);
		assert.equal(stats.length, 1);
	}
	firstFrameMs.sort((a, b) => a - b);
	console.log(`page load -> first decoded remote frame: median ${firstFrameMs[Math.floor(firstFrameMs.length / 2)]} ms, all ${firstFrameMs.join(', ')} ms`);

	// Frames keep coming: the counts rise between two readings.
	for (const { page } of pages) {
		const before = framesByPeer(await videoStats(page));
		assert.equal(before.size, 1, 'one remote peer to compare (an empty map would pass vacuously)');
		await pollUntil(
			async () => framesByPeer(await videoStats(page)),
			(now) => [...before].every(([peer, n]) => (now.get(peer) ?? 0) > n),
			{ what: 'framesDecoded rising' },
		);
	}

	// Audio too: each page decodes its partner's microphone, and keeps decoding.
	for (const { page, room } of pages) {
		const first = await pollUntil(
			() => audioStats(page),
			(s) => s.length === 1 && s[0]!.packetsReceived > 0 && s[0]!.totalSamplesReceived > 0,
			{ what: `decoded remote audio in room ${room}` },
		);
		await pollUntil(
			() => audioStats(page),
			(s) => s.length === 1 && s[0]!.totalSamplesReceived > first[0]!.totalSamplesReceived,
			{ what: 'decoded audio samples rising' },
		);
		const video = await videoStats(page);
		assert.equal(first[0]!.peerId, video[0]!.peerId, 'the audio comes from the same peer as the video');
	}

	const stats = (await (await fetch(`${baseUrl}/stats`)).json()) as {
		workers: { workerId: number; peerCount: number }[];
		distribution: Record<string, string[]>;
	};
	const workerOf = (room: string) => Object.entries(stats.distribution).find(([, ids]) => ids.includes(room))?.[0];
	assert.ok(workerOf('A') !== undefined && workerOf('B') !== undefined);
	assert.notEqual(workerOf('A'), workerOf('B'), 'rooms A and B are on different workers');
	assert.deepEqual(
		stats.workers.map((w) => w.peerCount),
		[2, 2],
	);

	const status = await pages[0]!.page.textContent('#status');
	assert.match(status ?? '', /hosted on worker \d/);
	mkdirSync('test-results', { recursive: true });
	await pages[0]!.page.screenshot({ path: 'test-results/demo.png' });
	console.log('demo screenshot: test-results/demo.png');
});
