// The coordinator's mechanism (placement, claims, redirects, drain, lost
// rooms) against a real redis-server, with fake nodes: no mediasoup here.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ClusterCoordinator, NodeIdInUseError, type NodeLoad } from '../../src/cluster/coordinator.ts';
import { RedisStore } from '../../src/cluster/redisStore.ts';
import { freePort, startRedis, waitFor, type RedisProcess } from '../../scripts/localCluster.ts';

const quiet = { error() {}, warn() {}, info() {} };

type FakeNode = { coordinator: ClusterCoordinator; hosted: Set<string>; lost: string[] };

function fakeNode(redisUrl: string, nodeId: string, load: Partial<NodeLoad> = {}): FakeNode {
	const hosted = new Set<string>();
	const lost: string[] = [];
	const coordinator = new ClusterCoordinator({
		cluster: { redisUrl, nodeId, publicUrl: `http://${nodeId}.test:3000`, region: undefined },
		settings: { cpuSimilarThreshold: 0.1, maxRooms: 100, roomIdleTimeoutMs: 30_000, roomsPerIpPerMinute: 30 },
		version: 'test',
		logger: quiet,
		load: () => ({ workers: 1, workersAlive: 1, rooms: hosted.size, peers: 0, consumers: 0, cpu: 0, ...load }),
		hostedRoomIds: () => [...hosted],
	});
	coordinator.on('roomLost', (roomId) => lost.push(roomId));
	return { coordinator, hosted, lost };
}

describe('ClusterCoordinator against a real redis-server', () => {
	let redis: RedisProcess;
	let a: FakeNode;
	let b: FakeNode;

	before(async () => {
		redis = await startRedis(await freePort());
		a = fakeNode(redis.url, 'a');
		b = fakeNode(redis.url, 'b');
		await a.coordinator.start();
		await b.coordinator.start();
	});

	after(async () => {
		await a?.coordinator.stop();
		await b?.coordinator.stop();
		await redis?.stop('SIGKILL');
	});

	it('places new rooms by the policy, alternating over idle nodes; a known room keeps its owner', async () => {
		const placed = [];
		for (let i = 0; i < 4; i++) placed.push(await a.coordinator.place(`p${i}`));
		assert.deepEqual(
			placed.map((p) => [p.nodeId, p.here, p.created, p.signallingUrl]),
			[
				['a', true, true, 'ws://a.test:3000/ws'],
				['b', false, true, 'ws://b.test:3000/ws'],
				['a', true, true, 'ws://a.test:3000/ws'],
				['b', false, true, 'ws://b.test:3000/ws'],
			],
		);
		assert.deepEqual(await b.coordinator.place('p0'), { nodeId: 'a', signallingUrl: 'ws://a.test:3000/ws', here: false, created: false });
	});

	it('admit passes for a room that belongs here and throws WRONG_NODE naming the owner otherwise', async () => {
		await a.coordinator.admit('p0');
		await assert.rejects(b.coordinator.admit('p0'), { code: 'WRONG_NODE', details: { nodeId: 'a', signallingUrl: 'ws://a.test:3000/ws', url: 'ws://a.test:3000/ws' } });
	});

	it('the view lists both nodes with their owned rooms; suggestions and alternates name the other node', async () => {
		const view = await a.coordinator.view();
		assert.equal(view.redis, 'up');
		assert.deepEqual(
			view.nodes.map((n) => [n.nodeId, n.self, n.ownedRooms]),
			[
				['a', true, 2],
				['b', false, 2],
			],
		);
		assert.equal(a.coordinator.suggestedUrl(), 'ws://b.test:3000/ws');
		assert.deepEqual(a.coordinator.alternateUrls(), ['ws://b.test:3000/ws']);
	});

	it('release frees a room; the next placement may go anywhere', async () => {
		await a.coordinator.release('p0');
		assert.equal(await b.coordinator.owner('p0'), undefined);
	});

	it('a hosted room another live node took is reported lost at the next heartbeat', async () => {
		const placed = await b.coordinator.place('contested');
		const [owner, other] = placed.nodeId === 'a' ? [a, b] : [b, a];
		// The other node believes it hosts it too (as after a Redis outage).
		other.hosted.add('contested');
		await owner.coordinator.heartbeat();
		await other.coordinator.heartbeat();
		assert.deepEqual(other.lost, ['contested']);
		other.hosted.delete('contested');
	});

	it('drain: draining in the registry at once, hosted rooms given up, no new room placed there', async () => {
		const c = fakeNode(redis.url, 'c');
		await c.coordinator.start();
		try {
			c.hosted.add('on-c');
			await c.coordinator.heartbeat();
			assert.equal((await a.coordinator.owner('on-c'))?.nodeId, 'c');
			await c.coordinator.beginDrain();
			const seen = (await a.coordinator.view()).nodes.find((n) => n.nodeId === 'c');
			assert.equal(seen?.draining, true);
			assert.equal(await a.coordinator.owner('on-c'), undefined);
			for (let i = 0; i < 6; i++) assert.notEqual((await a.coordinator.place(`after-drain-${i}`)).nodeId, 'c');
		} finally {
			await c.coordinator.stop();
		}
		assert.ok(!(await a.coordinator.view()).nodes.some((n) => n.nodeId === 'c'), 'stop() leaves the registry at once');
	});

	it('start() refuses a NODE_ID a live process holds (NodeIdInUseError naming it), and leaves that node registered', async () => {
		const twin = fakeNode(redis.url, 'a');
		await assert.rejects(twin.coordinator.start(), (error: unknown) => error instanceof NodeIdInUseError && /NODE_ID "a" is already in use/.test(error.message));
		await twin.coordinator.stop();
		// The twin wrote nothing and its stop() unregistered nothing: "a" is still listed and still heartbeats as itself.
		assert.ok((await b.coordinator.view()).nodes.some((n) => n.nodeId === 'a'));
		await a.coordinator.heartbeat();
		assert.equal(a.coordinator.registered, true);
	});

	it('start() takes over a NODE_ID whose holder stopped heartbeating (killed) once its entry lapses', async () => {
		// A process that heartbeated once as "phoenix" and died without unregistering.
		const dead = new RedisStore(redis.url, quiet);
		await dead.connect(5000);
		const record = { nodeId: 'phoenix', httpUrl: 'http://phoenix.test:3000', draining: false, workers: 1, workersAlive: 1, rooms: 0, peers: 0, consumers: 0, cpu: 0, maxRooms: 100, version: 'test', startedAt: 1 };
		assert.equal((await dead.heartbeat(record, [], 1000, 1000)).status, 'ok');
		await dead.close();
		const heir = fakeNode(redis.url, 'phoenix');
		try {
			await heir.coordinator.start();
			assert.equal(heir.coordinator.registered, true);
		} finally {
			await heir.coordinator.stop();
		}
	});

	it('no live worker anywhere: NO_WORKER_AVAILABLE; Redis down: CLUSTER_UNAVAILABLE, and back after a restart', async () => {
		const lonely = await freePort();
		const solo = await startRedis(lonely);
		const dead = fakeNode(solo.url, 'dead', { workersAlive: 0 });
		await dead.coordinator.start();
		try {
			await assert.rejects(dead.coordinator.place('nowhere'), { code: 'NO_WORKER_AVAILABLE' });
			await solo.stop('SIGKILL');
			await waitFor('the coordinator to see Redis down', () => !dead.coordinator.redisUp, 5000);
			await assert.rejects(dead.coordinator.place('nowhere'), { code: 'CLUSTER_UNAVAILABLE' });
			assert.equal(dead.coordinator.lastView().redis, 'down');
			const back = await startRedis(lonely);
			try {
				await waitFor('re-registered after the restart', async () => (await dead.coordinator.view()).nodes.length === 1, 15_000);
			} finally {
				await back.stop('SIGKILL');
			}
		} finally {
			await dead.coordinator.stop();
		}
	});
});
