// Two Chromium pages opened on two different nodes of a cluster join one
// room: the client library follows WRONG_NODE to the owner and each page
// decodes the other's video.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { postRoom, startTestCluster, type TestCluster } from '../support/cluster.ts';
import { framesByPeer, openDemo, pollUntil, videoStats } from '../support/demoPage.ts';

let cluster: TestCluster;
let browser: TestBrowser;

before(async () => {
	cluster = await startTestCluster(2, 48000);
	browser = await launchBrowser();
});

after(async () => {
	await browser?.close();
	await cluster?.stop();
});

test('two pages connected to different nodes of one room see each other', async () => {
	const [first, second] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
	const { body } = await postRoom(first, 'across-nodes');
	const pages = [await openDemo(browser.context, first.baseUrl, 'across-nodes', 'left'), await openDemo(browser.context, second.baseUrl, 'across-nodes', 'right')];
	for (const page of pages) {
		const stats = await pollUntil(
			() => videoStats(page),
			(s) => s.length === 1 && s.every((v) => v.framesDecoded > 0),
			{ what: 'the other page\'s video decoded', timeoutMs: 30_000 },
		);
		assert.equal(framesByPeer(stats).size, 1);
	}
	// Both sit on the owner: its room holds the two peers, the other node has no such room.
	const owner = cluster.node(body.nodeId);
	const room = (await (await fetch(`${owner.baseUrl}/rooms/across-nodes`)).json()) as { peerCount: number };
	assert.equal(room.peerCount, 2);
	const other = cluster.nodes.find((n) => n !== owner)!;
	assert.equal((await fetch(`${other.baseUrl}/rooms/across-nodes`)).status, 404);
});

test('the dashboard of a node shows the cluster: one row per node, this node marked', async () => {
	const page = await browser.context.newPage();
	await page.goto(`${cluster.nodes[1]!.baseUrl}/dashboard`);
	const rows = await pollUntil(
		() => page.$$eval('#cluster:not([hidden]) tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.nodeId ?? '')),
		(ids) => ids.length === 2,
		{ what: 'two cluster rows on the dashboard' },
	);
	assert.deepEqual(rows, ['node-1', 'node-2']);
	assert.equal(await page.$eval('#cluster tr[data-node-id="node-2"]', (tr) => tr.textContent?.includes('this node')), true);
	// Each row links to that node's own dashboard, at its httpUrl.
	assert.equal(await page.$eval('#cluster tr[data-node-id="node-1"] a', (a) => (a as HTMLAnchorElement).href), `${cluster.node('node-1').baseUrl}/dashboard`);
});
