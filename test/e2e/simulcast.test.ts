// Simulcast in real Chromium (fake camera at 1280x720): layers, adaptive
// quality and dynacast. Three pages at most: one publisher, two watchers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { Page } from 'playwright-core';

import type { ConsumerLayerState } from '../../src/protocol/messages.ts';
import type { Tureen } from '../../src/server.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { openDemo, pollUntil } from '../support/demoPage.ts';
import { startTestServer } from '../support/server.ts';
import { callClient, inboundVideo, outboundVideo, topEncodingGrowth } from '../support/simulcastStats.ts';

const ROOM = 'simulcast';
let tureen: Tureen;
let baseUrl: string;
let browser: TestBrowser;
let publisher: Page;
let watcher: Page;

before(async () => {
	({ tureen, baseUrl } = await startTestServer({ MEDIASOUP_WORKER_COUNT: '1', RTC_BASE_PORT: '46500' }));
	browser = await launchBrowser();
	publisher = await openDemo(browser.context, baseUrl, ROOM, 'publisher');
	// The watcher publishes nothing and leaves layers to the test (adaptive quality off).
	watcher = await openDemo(browser.context, baseUrl, ROOM, 'watcher', { publish: 'off', adaptive: 'off' });
});

after(async () => {
	await browser?.close();
	await tureen?.close();
});

type RoomDetails = { peers: { displayName: string; consumers: ConsumerLayerState[] }[] };

async function videoConsumerOf(name: string): Promise<ConsumerLayerState | undefined> {
	const room = (await (await fetch(`${baseUrl}/rooms/${ROOM}`)).json()) as RoomDetails;
	return room.peers.find((p) => p.displayName === name)?.consumers.find((c) => c.kind === 'video');
}

test('simulcast layers: the watcher decodes ~1280-wide frames at the top layer and ~320-wide after preferring spatial layer 0', async () => {
	const encodings = await pollUntil(() => outboundVideo(publisher), (e) => e.length === 3, { what: 'three simulcast encodings sent' });
	assert.deepEqual(
		encodings.map((e) => e.rid),
		['r0', 'r1', 'r2'],
	);
	// The bandwidth estimate starts near 1 Mbit/s and probes up: allow it time to reach the top layer.
	const top = await pollUntil(
		() => inboundVideo(watcher),
		(v) => v.length === 1 && v[0]!.frameWidth >= 1200,
		{ timeoutMs: 45_000, what: 'the top layer (about 1280 wide) decoded' },
	);
	console.log(`top layer decoded at ${top[0]!.frameWidth} px wide`);
	const consumerId = top[0]!.consumerId;

	await callClient(watcher, 'setPreferredLayers', consumerId, 0);
	const low = await pollUntil(
		() => inboundVideo(watcher),
		(v) => v.length === 1 && v[0]!.frameWidth > 0 && v[0]!.frameWidth <= 400,
		{ timeoutMs: 15_000, what: 'the smallest layer (about 320 wide) decoded' },
	);
	console.log(`after preferring layer 0: ${low[0]!.frameWidth} px wide`);

	// The operator sees the same in the room details and in Prometheus.
	const state = await pollUntil(() => videoConsumerOf('watcher'), (c) => c?.currentLayers?.spatialLayer === 0, { what: 'layer 0 in room details' });
	assert.equal(state?.type, 'simulcast');
	assert.equal(state?.preferredLayers?.spatialLayer, 0);
	const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
	assert.match(metrics, /tureen_forwarded_video_layers\{spatial_layer="0"\} 1\b/);
	assert.match(metrics, /tureen_forwarded_video_layers\{spatial_layer="2"\} 0\b/);
});

test('simulcast dynacast: with every subscriber on layer 0 the publisher stops its top encoding, and resumes when one wants it', async () => {
	// The only watcher prefers layer 0 (previous test): after the hold-off the publisher drops r2.
	await pollUntil(() => topEncodingGrowth(publisher), (growth) => growth === 0, { timeoutMs: 20_000, what: 'the top encoding stopped' });
	const [consumer] = await inboundVideo(watcher);
	assert.ok(consumer, 'the watcher has its video consumer');
	await callClient(watcher, 'setPreferredLayers', consumer.consumerId, 2);
	await pollUntil(() => topEncodingGrowth(publisher), (growth) => growth > 0, { timeoutMs: 20_000, what: 'the top encoding sent again' });
	await pollUntil(
		() => inboundVideo(watcher),
		(v) => (v[0]?.frameWidth ?? 0) >= 1200,
		{ timeoutMs: 45_000, what: 'the top layer decoded again' },
	);
});

test('simulcast adaptive layers: a hidden tile pauses its consumer on the server and bytes stop; showing it resumes', async () => {
	// Adaptive quality on (the default), watching only.
	const viewer = await openDemo(browser.context, baseUrl, ROOM, 'viewer', { publish: 'off' });
	try {
		await pollUntil(() => inboundVideo(viewer), (v) => v.length === 1 && v[0]!.framesDecoded > 0, { what: 'the viewer decoding' });
		// Adaptive quality picked a layer for the tile's size (it is not the whole window).
		await pollUntil(() => videoConsumerOf('viewer'), (c) => c?.preferredLayers !== null && c?.paused === false, { what: 'adaptive layer chosen' });

		await viewer.evaluate(() => {
			document.querySelector<HTMLElement>('.tile[data-peer-id]:not(#local-tile)')!.style.display = 'none';
		});
		await pollUntil(() => videoConsumerOf('viewer'), (c) => c?.paused === true, { timeoutMs: 10_000, what: 'the consumer paused on the server' });
		// Bytes stop: two readings a second apart agree (bounded: packets in flight settle first).
		await pollUntil(
			async () => {
				const a = (await inboundVideo(viewer))[0]?.bytesReceived ?? 0;
				await new Promise((resolve) => setTimeout(resolve, 1000));
				return ((await inboundVideo(viewer))[0]?.bytesReceived ?? 0) - a;
			},
			(growth) => growth === 0,
			{ timeoutMs: 10_000, what: 'bytes received stopping' },
		);

		const shownAt = Date.now();
		await viewer.evaluate(() => {
			document.querySelector<HTMLElement>('.tile[data-peer-id]:not(#local-tile)')!.style.display = '';
		});
		await pollUntil(() => videoConsumerOf('viewer'), (c) => c?.paused === false, { timeoutMs: 2_000, intervalMs: 50, what: 'the consumer resumed within 2 s' });
		console.log(`tile shown -> consumer resumed on the server in ${Date.now() - shownAt} ms`);
		const resumedAt = (await inboundVideo(viewer))[0]?.bytesReceived ?? 0;
		await pollUntil(() => inboundVideo(viewer), (v) => (v[0]?.bytesReceived ?? 0) > resumedAt, { timeoutMs: 10_000, what: 'bytes flowing again' });
	} finally {
		await viewer.close();
	}
});
