import type { BrowserContext, Page } from 'playwright-core';

import type { AudioStat, VideoStat } from '../../client/demo/stats.ts';

export type { AudioStat, VideoStat } from '../../client/demo/stats.ts';

/**
 * Opens the demo page, which joins `room` at once and publishes the fake
 * camera; `query` adds page options (e.g. `{ simulcast: 'off' }`).
 */
export async function openDemo(context: BrowserContext, baseUrl: string, room: string, name: string, query: Record<string, string> = {}): Promise<Page> {
	const page = await context.newPage();
	const params = new URLSearchParams({ room, name, ...query });
	await page.goto(`${baseUrl}/?${params.toString()}`);
	return page;
}

/**
 * For tests about something other than layers: one encoding per page. Four
 * pages each encoding three simulcast layers overload a 2-core machine.
 */
export const ONE_ENCODING = { simulcast: 'off' } as const;

export function videoStats(page: Page): Promise<VideoStat[]> {
	return page.evaluate(async () => {
		const demo = (window as unknown as { tureenDemo?: { videoStats(): Promise<VideoStat[]> } }).tureenDemo;
		return demo ? demo.videoStats() : [];
	});
}

export function audioStats(page: Page): Promise<AudioStat[]> {
	return page.evaluate(async () => {
		const demo = (window as unknown as { tureenDemo?: { audioStats(): Promise<AudioStat[]> } }).tureenDemo;
		return demo ? demo.audioStats() : [];
	});
}

/**
 * Polls until `check` passes (page.waitForFunction returns at once with an
 * async predicate, so polling evaluate is the reliable way). Bounded.
 */
export async function pollUntil<T>(
	read: () => Promise<T>,
	check: (value: T) => boolean,
	{ timeoutMs = 20_000, intervalMs = 200, what = 'condition' } = {},
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let value = await read();
	while (!check(value)) {
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify(value)}`);
		await new Promise((resolve) => setTimeout(resolve, intervalMs));
		value = await read();
	}
	return value;
}

/** Frames decoded from each remote peer, keyed by peerId. */
export function framesByPeer(stats: VideoStat[]): Map<string, number> {
	const byPeer = new Map<string, number>();
	for (const s of stats) byPeer.set(s.peerId, (byPeer.get(s.peerId) ?? 0) + s.framesDecoded);
	return byPeer;
}
