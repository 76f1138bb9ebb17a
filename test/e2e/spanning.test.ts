// One room over two workers in real Chromium: four demo pages with
// ROOM_MAX_PEERS_PER_ROUTER=2 land on two workers and decode each other
// through the pipes; a kill -9 of one worker moves only its two pages, and
// the other two keep decoding each other throughout.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { Page } from 'playwright-core';

import type { Tureen } from '../../src/server.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { framesByPeer, ONE_ENCODING, openDemo, pollUntil, videoStats } from '../support/demoPage.ts';
import { startTestServer } from '../support/server.ts';

let tureen: Tureen;
let baseUrl: string;
let browser: TestBrowser;

before(async () => {
	({ tureen, baseUrl } = await startTestServer({
		MEDIASOUP_WORKER_COUNT: '2',
		RTC_BASE_PORT: '42000',
		RTC_PORTS_PER_WORKER: '300',
		ROOM_MAX_PEERS_PER_ROUTER: '2',
	}));
	browser = await launchBrowser();
});

after(async () => {
	await browser?.close();
	await tureen?.close();
});

function pagePeerId(page: Page): Promise<string> {
	return page.evaluate(() => (window as unknown as { tureenDemo: { client?: { peerId?: string } } }).tureenDemo.client?.peerId ?? '');
}

/** Frames decoded per remote peer, and the consumer ids used for them. */
async function decoding(page: Page): Promise<{ frames: Map<string, number>; consumers: Map<string, string> }> {
	const stats = await videoStats(page);
	return { frames: framesByPeer(stats), consumers: new Map(stats.map((s) => [s.peerId, s.consumerId])) };
}

test('four pages in one room on two workers decode each other; kill -9 of one worker moves only its pages', async () => {
	const pages: Page[] = [];
	for (const name of ['c1', 'c2', 'c3', 'c4']) pages.push(await openDemo(browser.context, baseUrl, 'spanning', name, ONE_ENCODING));
	const ids = await pollUntil(() => Promise.all(pages.map(pagePeerId)), (list) => list.every(Boolean), { what: 'every page joined' });
	for (const [i, page] of pages.entries()) {
		await pollUntil(
			async () => (await decoding(page)).frames,
			(frames) => ids.every((id, j) => j === i || (frames.get(id) ?? 0) > 0),
			{ what: `page ${i} decoding the 3 others`, timeoutMs: 40_000 },
		);
	}
	const room = tureen.rooms.getRoom('spanning')!;
	const info = (await (await fetch(`${baseUrl}/rooms/spanning`)).json()) as { workers: { workerId: number; peerCount: number }[] };
	assert.deepEqual(info.workers.map((w) => w.peerCount), [2, 2]);
	assert.deepEqual(info.workers.map((w) => w.workerId).sort(), [0, 1]);

	const workerOfPage = (i: number) => room.routerOf(room.members.get(ids[i]!)!)!.workerId;
	const victim = info.workers[1]!.workerId;
	const moved = pages.flatMap((_, i) => (workerOfPage(i) === victim ? [i] : []));
	const kept = pages.flatMap((_, i) => (workerOfPage(i) === victim ? [] : [i]));
	assert.equal(moved.length, 2);

	const keptBefore = await Promise.all(kept.map((i) => decoding(pages[i]!)));
	const movedConsumersBefore = await Promise.all(moved.map(async (i) => (await decoding(pages[i]!)).consumers));
	const killedAt = Date.now();
	process.kill(tureen.pool.getWorker(victim)!.pid!, 'SIGKILL');

	// The kept pages: their consumers of each other are never replaced and their frame counts keep rising.
	const recovered = new Map<number, number>();
	let last = keptBefore.map((d) => d.frames);
	let samples = 0;
	while ((recovered.size < moved.length || samples < 6) && Date.now() - killedAt < 40_000) {
		await new Promise((resolve) => setTimeout(resolve, 500));
		const now = await Promise.all(kept.map((i) => decoding(pages[i]!)));
		kept.forEach((i, k) => {
			const other = ids[kept[1 - k]!]!;
			assert.equal(now[k]!.consumers.get(other), keptBefore[k]!.consumers.get(other), `page ${i} kept its consumer of the other kept page`);
			assert.ok((now[k]!.frames.get(other) ?? 0) > (last[k]!.get(other) ?? 0), `page ${i} kept decoding the other kept page`);
		});
		last = now.map((d) => d.frames);
		samples += 1;
		for (const [m, i] of moved.entries()) {
			if (recovered.has(i)) continue;
			const { frames, consumers } = await decoding(pages[i]!);
			const others = ids.filter((_, j) => j !== i);
			if (others.every((id) => consumers.get(id) !== movedConsumersBefore[m]!.get(id) && (frames.get(id) ?? 0) > 0)) {
				recovered.set(i, Date.now() - killedAt);
			}
		}
	}
	console.log(`spanning e2e kill -9: moved pages decode all others again after ${[...recovered.values()].join(', ')} ms; kept pages sampled ${samples} times, never stalled`);
	assert.equal(recovered.size, 2, 'both moved pages decode every other page again');
	// And the kept pages get the moved pages' video back once those re-publish.
	for (const i of kept) {
		await pollUntil(
			() => videoStats(pages[i]!),
			(stats) => moved.every((m) => stats.some((s) => s.peerId === ids[m] && s.framesDecoded > 0)),
			{ what: `page ${i} decoding the moved pages again`, timeoutMs: 30_000 },
		);
	}
	for (const page of pages) await page.close();
});
