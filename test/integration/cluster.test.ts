// Three Tureen nodes as separate processes, coordinated through a real
// redis-server on a random loopback port. Every wait is a bounded poll; the
// times printed are for the record, never asserted.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { clusterViewSchema } from '../../src/protocol/cluster.ts';
import { pollUntil } from '../support/demoPage.ts';
import { clusterView, expectMediaBetween, getJson, postRoom, startTestCluster, type TestCluster } from '../support/cluster.ts';
import { joinNodePeer, type NodePeer } from '../support/nodeClient.ts';

let cluster: TestCluster;
const peers: NodePeer[] = [];

before(async () => {
	cluster = await startTestCluster(3, 47000);
});

after(async () => {
	for (const peer of peers) await peer.leave().catch(() => undefined);
	await cluster?.stop();
});

async function join(baseUrl: string, roomId: string, displayName: string): Promise<NodePeer> {
	const peer = await joinNodePeer({ baseUrl, roomId, displayName });
	peers.push(peer);
	return peer;
}

/** Whether every client got `recovered` (media re-created after losing its node). */
function recoveries(list: readonly NodePeer[]): () => Promise<number> {
	let count = 0;
	for (const peer of list) peer.client.on('recovered', () => (count += 1));
	return async () => count;
}

const liveIds = async (via = cluster.nodes[0]!) => (await clusterView(via)).nodes.map((n) => n.nodeId).sort();

describe('a cluster of 3 nodes on one Redis', () => {
	it('GET /cluster on every node shows the 3 nodes alive, and /ready says the cluster is reachable', async () => {
		for (const node of cluster.nodes) {
			await pollUntil(() => liveIds(node), (ids) => ids.length === 3, { what: `3 nodes seen from ${node.plan.nodeId}` });
			// The one definition of the shape (src/protocol/cluster.ts) holds for what the node serves.
			const view = clusterViewSchema.parse(await clusterView(node));
			assert.equal(view.nodeId, node.plan.nodeId);
			assert.equal(view.redis, 'up');
			assert.deepEqual(
				view.nodes.map((n) => [n.nodeId, n.alive, n.draining, n.httpUrl, n.signallingUrl]),
				cluster.nodes.map((n) => [n.plan.nodeId, true, false, n.baseUrl, n.wsUrl]),
			);
			const ready = await getJson<{ status: string; cluster?: string }>(`${node.baseUrl}/ready`);
			assert.equal(ready.status, 200);
			assert.equal(ready.body.cluster, 'up');
		}
	});

	it('/metrics adds the node\'s view of the cluster, labelled by node id only', async () => {
		const text = await (await fetch(`${cluster.nodes[1]!.baseUrl}/metrics`)).text();
		assert.match(text, /^tureen_cluster_redis_up 1$/m);
		assert.match(text, /^tureen_cluster_nodes 3$/m);
		for (const node of cluster.nodes) assert.match(text, new RegExp(`^tureen_cluster_node_workers_alive\\{node_id="${node.plan.nodeId}"\\} 1$`, 'm'));
		const labels = new Set([...text.matchAll(/^tureen_cluster_node_\w+\{([^}]*)\}/gm)].map((m) => m[1]!.replace(/"[^"]*"/g, '')));
		assert.deepEqual([...labels], ['node_id=']);
	});

	it('rooms created through one node spread evenly over the nodes', async () => {
		const entry = cluster.nodes[0]!;
		const placed = new Map<string, number>();
		for (let i = 0; i < 6; i++) {
			const { status, body } = await postRoom(entry, `spread-${i}`);
			assert.equal(status, 201);
			assert.equal(body.created, true);
			assert.equal(body.signallingUrl, cluster.node(body.nodeId).wsUrl);
			assert.equal(body.url, body.signallingUrl, 'the deprecated url still names the signalling URL');
			// A room placed here is created here (it has a worker); one placed elsewhere waits for its first client there.
			assert.equal(body.workerId !== undefined, body.nodeId === entry.plan.nodeId);
			placed.set(body.nodeId, (placed.get(body.nodeId) ?? 0) + 1);
		}
		assert.deepEqual(Object.fromEntries([...placed].sort()), { 'node-1': 2, 'node-2': 2, 'node-3': 2 });
		// Asking again answers the same owner, created false; any node knows it.
		const again = await postRoom(cluster.nodes[2]!, 'spread-0');
		assert.equal(again.status, 200);
		assert.equal(again.body.created, false);
		const owner = await getJson<{ nodeId: string }>(`${cluster.nodes[1]!.baseUrl}/cluster/rooms/spread-0`);
		assert.equal(owner.body.nodeId, again.body.nodeId);
	});

	it('two simultaneous creations of one room through different nodes give one owner', async () => {
		for (let round = 0; round < 5; round++) {
			const roomId = `race-${round}`;
			const answers = await Promise.all([postRoom(cluster.nodes[0]!, roomId), postRoom(cluster.nodes[1]!, roomId), postRoom(cluster.nodes[2]!, roomId)]);
			const owners = new Set(answers.map((a) => a.body.nodeId));
			assert.equal(owners.size, 1, `round ${round}: ${JSON.stringify(answers.map((a) => a.body))}`);
			assert.equal(answers.filter((a) => a.body.created).length, 1);
		}
	});

	it('GET /cluster/rooms/:roomId answers 404 ROOM_NOT_FOUND for a room nobody owns', async () => {
		const { status, body } = await getJson<{ error: { code: string } }>(`${cluster.nodes[0]!.baseUrl}/cluster/rooms/nobody-here`);
		assert.equal(status, 404);
		assert.equal(body.error.code, 'ROOM_NOT_FOUND');
	});

	it('clients joining one room through different nodes end up on its owner and exchange media', async () => {
		const { body } = await postRoom(cluster.nodes[0]!, 'meet');
		const others = cluster.nodes.filter((n) => n.plan.nodeId !== body.nodeId);
		const a = await join(others[0]!.baseUrl, 'meet', 'alice');
		const b = await join(others[1]!.baseUrl, 'meet', 'bob');
		assert.equal(a.client.nodeId, body.nodeId);
		assert.equal(b.client.nodeId, body.nodeId);
		await expectMediaBetween([a, b]);
		const rooms = await getJson<{ peerCount: number }>(`${cluster.node(body.nodeId).baseUrl}/rooms/meet`);
		assert.equal(rooms.body.peerCount, 2);
	});

	it('Redis killed: nodes keep their rooms, refuse new ones with CLUSTER_UNAVAILABLE and say so on /ready; restarted empty: the cluster heals', async () => {
		const owner = (await postRoom(cluster.nodes[0]!, 'through-outage')).body.nodeId;
		const ownerNode = cluster.node(owner);
		const a = await join(ownerNode.baseUrl, 'through-outage', 'carol');
		const b = await join(ownerNode.baseUrl, 'through-outage', 'dave');
		await expectMediaBetween([a, b]);

		await cluster.redis.stop('SIGKILL');
		for (const node of cluster.nodes) {
			const ready = await pollUntil(
				() => getJson<{ status: string; cluster?: string }>(`${node.baseUrl}/ready`),
				(r) => r.status === 503 && r.body.cluster === 'down',
				{ what: `${node.plan.nodeId} /ready to report Redis down` },
			);
			assert.equal(ready.body.status, 'cluster-unavailable');
		}
		const refused = await postRoom(cluster.nodes[0]!, 'during-outage');
		assert.equal(refused.status, 503);
		assert.equal(refused.body.error?.code, 'CLUSTER_UNAVAILABLE');
		// The room on its node carries on: media still flows between its peers.
		const before = await a.packetsByPeer();
		await pollUntil(
			() => a.packetsByPeer(),
			(now) => (now.get(b.client.peerId ?? '')?.video ?? 0) > (before.get(b.client.peerId ?? '')?.video ?? 0),
			{ what: 'video still flowing without Redis' },
		);
		const loud = ownerNode.output();
		assert.match(loud, /Redis unreachable/);

		const started = Date.now();
		await cluster.restartRedis();
		for (const node of cluster.nodes) {
			await pollUntil(() => getJson<{ status: string }>(`${node.baseUrl}/ready`), (r) => r.status === 200, { what: `${node.plan.nodeId} ready again`, timeoutMs: 30_000 });
		}
		await pollUntil(() => liveIds(), (ids) => ids.length === 3, { what: 'all nodes registered again', timeoutMs: 30_000 });
		await pollUntil(
			() => getJson<{ nodeId?: string }>(`${cluster.nodes[2]!.baseUrl}/cluster/rooms/through-outage`),
			(r) => r.body.nodeId === owner,
			{ what: 'the room re-claimed by its node', timeoutMs: 30_000 },
		);
		console.log(`cluster healed ${Date.now() - started} ms after redis-server restarted empty`);
		assert.equal((await postRoom(cluster.nodes[0]!, 'after-outage')).status, 201);
	});

	it('SIGTERM drains a node: it is marked draining first, its peers get serverDraining with a URL and meet again on another node; it exits 0', async () => {
		const victim = cluster.nodes[2]!;
		// Until the room lands on the victim (placement rotates); bounded by the node count.
		let roomId = '';
		for (let i = 0; i < 6 && !roomId; i++) {
			const { body } = await postRoom(victim, `drain-${i}`);
			if (body.nodeId === victim.plan.nodeId) roomId = `drain-${i}`;
		}
		assert.ok(roomId, 'a room placed on the node to drain');
		const a = await join(cluster.nodes[0]!.baseUrl, roomId, 'erin');
		const b = await join(cluster.nodes[1]!.baseUrl, roomId, 'frank');
		assert.equal(a.client.nodeId, victim.plan.nodeId);
		await expectMediaBetween([a, b]);
		const drainingUrls: (string | undefined)[] = [];
		for (const peer of [a, b]) peer.client.on('serverDraining', ({ signallingUrl }) => drainingUrls.push(signallingUrl));
		const recovered = recoveries([a, b]);

		await victim.process.kill('SIGTERM');
		const seen = await pollUntil(
			() => clusterView(cluster.nodes[0]!),
			(v) => v.nodes.some((n) => n.nodeId === victim.plan.nodeId && n.draining) || !v.nodes.some((n) => n.nodeId === victim.plan.nodeId),
			{ what: 'the node draining (or gone) in the registry' },
		);
		assert.ok(seen.nodes.every((n) => n.nodeId === victim.plan.nodeId || !n.draining));
		await pollUntil(recovered, (n) => n === 2, { what: 'both clients recovered elsewhere', timeoutMs: 30_000 });
		assert.equal(drainingUrls.length, 2);
		for (const url of drainingUrls) assert.ok(url && url !== victim.wsUrl && cluster.nodes.some((n) => n.wsUrl === url), `suggested ${url}`);
		assert.notEqual(a.client.nodeId, victim.plan.nodeId);
		assert.equal(a.client.nodeId, b.client.nodeId);
		await expectMediaBetween([a, b]);
		const exit = await victim.exited;
		assert.equal(exit.code, 0);
		await pollUntil(() => liveIds(), (ids) => !ids.includes(victim.plan.nodeId), { what: 'the drained node gone' });
		cluster.nodes.splice(2, 1);
	});

	it('kill -9 of a node: the cluster view drops it, its clients recover on another node', async () => {
		const [first, second] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
		// A room owned by the second node, its clients given the first node's URL (as if a load balancer).
		let roomId = '';
		for (let i = 0; i < 4 && !roomId; i++) {
			const { body } = await postRoom(first, `doomed-${i}`);
			if (body.nodeId === second.plan.nodeId) roomId = `doomed-${i}`;
		}
		assert.ok(roomId, 'a room placed on the node to kill');
		const a = await join(first.baseUrl, roomId, 'grace');
		const b = await join(first.baseUrl, roomId, 'heidi');
		assert.equal(a.client.nodeId, second.plan.nodeId);
		await expectMediaBetween([a, b]);
		const recovered = recoveries([a, b]);

		const killedAt = Date.now();
		second.process.kill('SIGKILL');
		await pollUntil(() => liveIds(first), (ids) => !ids.includes(second.plan.nodeId), { what: 'the killed node dropped from /cluster', timeoutMs: 20_000 });
		const droppedMs = Date.now() - killedAt;
		await pollUntil(recovered, (n) => n === 2, { what: 'both clients recovered', timeoutMs: 40_000 });
		const recoveredMs = Date.now() - killedAt;
		assert.equal(a.client.nodeId, first.plan.nodeId);
		assert.equal(b.client.nodeId, first.plan.nodeId);
		await expectMediaBetween([a, b]);
		console.log(`kill -9: node dropped from the cluster view after ${droppedMs} ms; both clients recovered after ${recoveredMs} ms`);
		const owner = await getJson<{ nodeId: string }>(`${first.baseUrl}/cluster/rooms/${roomId}`);
		assert.equal(owner.body.nodeId, first.plan.nodeId);
	});
});
