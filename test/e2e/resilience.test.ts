import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { Page } from 'playwright-core';

import type { Tureen } from '../../src/server.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { framesByPeer, ONE_ENCODING, openDemo, pollUntil, videoStats, type VideoStat } from '../support/demoPage.ts';
import { startTestServer } from '../support/server.ts';

type Stats = {
	workers: { workerId: number; pid: number | null; closed: boolean; portRange: { min: number; max: number }; restarts: number }[];
	distribution: Record<string, string[]>;
};

let tureen: Tureen;
let baseUrl: string;
let browser: TestBrowser;

before(async () => {
	({ tureen, baseUrl } = await startTestServer({ MEDIASOUP_WORKER_COUNT: '2', RTC_BASE_PORT: '48000' }));
	browser = await launchBrowser();
});

after(async () => {
	await browser?.close();
	await tureen?.close();
});

const getStats = async () => (await (await fetch(`${baseUrl}/stats`)).json()) as Stats;

function transportIds(page: Page): Promise<string[]> {
	return page.evaluate(() => {
		const client = (window as unknown as { tureenDemo: { client?: { sendTransport?: { id: string }; recvTransport?: { id: string } } } }).tureenDemo.client;
		return [client?.sendTransport?.id ?? '', client?.recvTransport?.id ?? ''];
	});
}

function totalFrames(stats: VideoStat[]): number {
	return stats.reduce((sum, s) => sum + s.framesDecoded, 0);
}

test('kill -9 of one worker: its rooms recover on their own, the other rooms never notice', async () => {
	const pages: Record<'A' | 'B', Page[]> = { A: [], B: [] };
	for (const room of ['A', 'B'] as const) {
		for (const name of ['1', '2']) pages[room].push(await openDemo(browser.context, baseUrl, room, `${room}${name}`, ONE_ENCODING));
	}
	for (const page of [...pages.A, ...pages.B]) {
		await pollUntil(() => videoStats(page), (s) => s.length === 1 && s[0]!.framesDecoded > 0, { what: 'first decoded frame' });
	}

	const before = await getStats();
	const workerOf = (room: string) => Number(Object.entries(before.distribution).find(([, ids]) => ids.includes(room))?.[0]);
	const deadWorkerId = workerOf('A');
	assert.notEqual(deadWorkerId, workerOf('B'), 'A and B start on different workers');
	const dead = before.workers[deadWorkerId]!;
	const consumersBefore = new Map<Page, string>();
	for (const page of pages.A) consumersBefore.set(page, (await videoStats(page))[0]!.consumerId);
	const bTransports = await Promise.all(pages.B.map(transportIds));
	const bFrames = await Promise.all(pages.B.map(async (p) => totalFrames(await videoStats(p))));

	const killedAt = Date.now();
	process.kill(dead.pid!, 'SIGKILL');

	// Poll everything together until A has recovered and a few B samples were taken.
	const recoveredAfter = new Map<Page, number>();
	const bLast = [...bFrames];
	let bSamples = 0;
	let respawned: Stats['workers'][number] | undefined;
	const deadline = killedAt + 30_000;
	while ((recoveredAfter.size < pages.A.length || bSamples < 10 || !respawned) && Date.now() < deadline) {
		await new Promise((resolve) => setTimeout(resolve, 100));
		const stats = await getStats();
		for (const [workerId, rooms] of Object.entries(stats.distribution)) {
			if (rooms.length > 0) assert.equal(stats.workers[Number(workerId)]!.closed, false, `/stats lists rooms on dead worker ${workerId}`);
		}
		const slot = stats.workers[deadWorkerId]!;
		if (!slot.closed && slot.pid !== dead.pid) respawned = slot;
		for (const page of pages.A) {
			if (recoveredAfter.has(page)) continue;
			const now = await videoStats(page);
			if (now.length === 1 && now[0]!.consumerId !== consumersBefore.get(page) && now[0]!.framesDecoded > 0) {
				recoveredAfter.set(page, Date.now() - killedAt);
			}
		}
		if (Date.now() - killedAt > bSamples * 500) {
			for (const [i, page] of pages.B.entries()) {
				const frames = totalFrames(await videoStats(page));
				assert.ok(frames >= bLast[i]!, 'room B frame counts never go backwards (its consumers were never replaced)');
				bLast[i] = frames;
			}
			bSamples += 1;
		}
	}

	const times = [...recoveredAfter.values()].sort((a, b) => a - b);
	console.log(`recovery after kill -9 (decoding again): ${times.join(', ')} ms; worst ${times.at(-1)} ms`);
	assert.equal(recoveredAfter.size, pages.A.length, 'every page of room A decodes again');

	for (const [i, page] of pages.B.entries()) {
		assert.ok(bLast[i]! > bFrames[i]!, 'room B kept decoding throughout');
		assert.deepEqual(await transportIds(page), bTransports[i], 'room B kept its transports');
		assert.equal(framesByPeer(await videoStats(page)).size, 1);
	}

	assert.ok(respawned, 'the dead worker was respawned');
	assert.notEqual(respawned.pid, dead.pid);
	assert.deepEqual(respawned.portRange, dead.portRange, 'same port range after respawn');
	assert.equal(respawned.restarts, 1);
	const after = await getStats();
	assert.ok(!after.distribution[String(deadWorkerId)]!.includes('A'), 'room A moved off the dead worker');
});
