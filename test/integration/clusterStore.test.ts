// The room map and node registry (src/cluster/redisStore.ts and its Lua
// scripts) against a real redis-server on a random loopback port.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createClient } from '@redis/client';

import { RedisStore, reconnectDelay } from '../../src/cluster/redisStore.ts';
import type { NodeRecord } from '../../src/protocol/cluster.ts';
import { freePort, startRedis, waitFor, type RedisProcess } from '../../scripts/localCluster.ts';

const quiet = { error() {}, warn() {}, info() {} };
const NODE_TTL = 400;
const ROOM_TTL = 400;
const LONG_TTL = 60_000;

function record(nodeId: string, overrides: Partial<NodeRecord> = {}): NodeRecord {
	return {
		nodeId,
		httpUrl: `http://127.0.0.1/${nodeId}`,
		draining: false,
		workers: 1,
		workersAlive: 1,
		rooms: 0,
		peers: 0,
		consumers: 0,
		cpu: 0,
		maxRooms: 1000,
		version: 'test',
		startedAt: 1,
		...overrides,
	};
}

async function connectedStore(url: string): Promise<RedisStore> {
	const store = new RedisStore(url, quiet);
	assert.equal(await store.connect(5000), true);
	return store;
}

describe('RedisStore against a real redis-server', () => {
	let redis: RedisProcess;
	const stores: RedisStore[] = [];
	let a: RedisStore;
	let b: RedisStore;

	before(async () => {
		redis = await startRedis(await freePort());
		a = await connectedStore(redis.url);
		b = await connectedStore(redis.url);
		stores.push(a, b);
	});

	after(async () => {
		for (const store of stores) await store.close();
		await redis?.stop('SIGKILL');
	});

	it('registers nodes with their record; a node whose heartbeat stops disappears after its TTL', async () => {
		await a.heartbeat(record('n1', { rooms: 2, region: 'eu' }), [], LONG_TTL, LONG_TTL);
		await a.heartbeat(record('short-lived'), [], NODE_TTL, ROOM_TTL);
		const nodes = await b.readNodes();
		assert.deepEqual(
			nodes.map((n) => n.record.nodeId).sort(),
			['n1', 'short-lived'],
		);
		assert.deepEqual(nodes.find((n) => n.record.nodeId === 'n1')?.record, record('n1', { rooms: 2, region: 'eu' }));
		await waitFor('the short-lived node to expire', async () => !(await b.readNodes()).some((n) => n.record.nodeId === 'short-lived'), 5000);
	});

	it('two simultaneous claims of one room for the same node: one placement, one renewal', async () => {
		await a.heartbeat(record('same'), [], LONG_TTL, LONG_TTL);
		const results = await Promise.all([a.claim('same-room', 'same', LONG_TTL, LONG_TTL), b.claim('same-room', 'same', LONG_TTL, LONG_TTL)]);
		assert.deepEqual(results.map((r) => r.claimed && r.fresh).sort(), [false, true]);
	});

	it('two simultaneous claims of one room give exactly one owner', async () => {
		await a.heartbeat(record('n2'), [], LONG_TTL, LONG_TTL);
		for (let round = 0; round < 20; round++) {
			const roomId = `race-${round}`;
			const results = await Promise.all([a.claim(roomId, 'n1', LONG_TTL, LONG_TTL), b.claim(roomId, 'n2', LONG_TTL, LONG_TTL)]);
			const winners = results.filter((r) => r.claimed);
			assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results)}`);
			const loser = results.find((r) => !r.claimed);
			const owner = await a.roomOwner(roomId);
			assert.deepEqual(loser, { claimed: false, owner: owner?.nodeId });
			assert.equal(owner?.alive, true);
			assert.equal(owner?.record?.nodeId, owner?.nodeId);
		}
	});

	it('a claim for an unregistered node is refused', async () => {
		const result = await a.claim('nobody-room', 'ghost', LONG_TTL, LONG_TTL);
		assert.deepEqual(result, { claimed: false, owner: undefined });
		assert.equal(await a.roomOwner('nobody-room'), undefined);
	});

	it('counts rooms per node and stamps the order of placements', async () => {
		await a.heartbeat(record('p1'), [], LONG_TTL, LONG_TTL);
		await a.heartbeat(record('p2'), [], LONG_TTL, LONG_TTL);
		await a.claim('p-room-1', 'p1', LONG_TTL, LONG_TTL);
		await a.claim('p-room-2', 'p2', LONG_TTL, LONG_TTL);
		await a.claim('p-room-3', 'p1', LONG_TTL, LONG_TTL);
		// Claiming again for the same owner is a renewal, not a placement.
		await a.claim('p-room-3', 'p1', LONG_TTL, LONG_TTL);
		const nodes = new Map((await a.readNodes()).map((n) => [n.record.nodeId, n]));
		assert.equal(nodes.get('p1')?.ownedRooms, 2);
		assert.equal(nodes.get('p2')?.ownedRooms, 1);
		assert.ok(nodes.get('p1')!.lastPlacedSeq > nodes.get('p2')!.lastPlacedSeq);
	});

	it('a room whose owner died can be claimed by another node; its owner cannot be overridden while alive', async () => {
		await a.heartbeat(record('doomed'), [], NODE_TTL, LONG_TTL);
		await a.heartbeat(record('heir'), [], LONG_TTL, LONG_TTL);
		assert.equal((await a.claim('orphan', 'doomed', LONG_TTL, NODE_TTL)).claimed, true);
		assert.deepEqual(await b.claim('orphan', 'heir', LONG_TTL, LONG_TTL), { claimed: false, owner: 'doomed' });
		await waitFor('the doomed node to expire', async () => (await a.roomOwner('orphan'))?.alive === false, 5000);
		assert.deepEqual(await a.roomOwner('orphan'), { nodeId: 'doomed', alive: false });
		assert.deepEqual(await b.claim('orphan', 'heir', LONG_TTL, LONG_TTL), { claimed: true, fresh: true, previousOwner: 'doomed' });
		assert.deepEqual(await a.claim('orphan', 'heir', LONG_TTL, LONG_TTL), { claimed: true, fresh: false, previousOwner: 'heir' });
		assert.deepEqual(await a.roomOwner('orphan'), { nodeId: 'heir', alive: true, record: record('heir') });
	});

	it('the heartbeat renews hosted rooms, reports rooms another live node took, and keeps rooms placed on it', async () => {
		await a.heartbeat(record('h1'), [], LONG_TTL, LONG_TTL);
		await a.heartbeat(record('h2'), [], LONG_TTL, LONG_TTL);
		await a.claim('kept', 'h1', ROOM_TTL, LONG_TTL);
		await a.claim('taken', 'h2', LONG_TTL, LONG_TTL);
		await a.claim('given', 'h1', LONG_TTL, LONG_TTL);
		// h1 hosts "kept" and (wrongly) "taken"; "given" was placed on it and has no client yet.
		const beat = await a.heartbeat(record('h1'), ['kept', 'taken'], LONG_TTL, ROOM_TTL);
		assert.deepEqual(beat.status === 'ok' && beat.lost, ['taken']);
		for (let beat = 0; beat < 4; beat++) {
			await new Promise((resolve) => setTimeout(resolve, ROOM_TTL / 2));
			await a.heartbeat(record('h1'), ['kept'], LONG_TTL, ROOM_TTL);
		}
		assert.equal((await a.roomOwner('kept'))?.nodeId, 'h1');
		assert.equal((await a.roomOwner('given'))?.nodeId, 'h1');
		const h1 = (await a.readNodes()).find((n) => n.record.nodeId === 'h1');
		assert.equal(h1?.ownedRooms, 2);
	});

	it('release frees only the rooms the node owns', async () => {
		await a.heartbeat(record('r1'), [], LONG_TTL, LONG_TTL);
		await a.heartbeat(record('r2'), [], LONG_TTL, LONG_TTL);
		await a.claim('mine', 'r1', LONG_TTL, LONG_TTL);
		await a.claim('theirs', 'r2', LONG_TTL, LONG_TTL);
		await a.release('r1', ['mine', 'theirs']);
		assert.equal(await a.roomOwner('mine'), undefined);
		assert.equal((await a.roomOwner('theirs'))?.nodeId, 'r2');
	});

	it('unregister removes the node at once', async () => {
		await a.heartbeat(record('leaving'), [], LONG_TTL, LONG_TTL);
		await a.unregister('leaving');
		assert.ok(!(await a.readNodes()).some((n) => n.record.nodeId === 'leaving'));
	});

	it("stores httpUrl also as the previous release's `url`, and reads a record of that release (url, no httpUrl)", async () => {
		const raw = createClient({ url: redis.url });
		await raw.connect();
		try {
			await a.heartbeat(record('mixed'), [], LONG_TTL, LONG_TTL);
			const stored = JSON.parse((await raw.get('tureen:node:mixed')) ?? '{}') as Record<string, unknown>;
			assert.equal(stored.url, stored.httpUrl);
			const { httpUrl, ...legacy } = record('legacy');
			await a.heartbeat(record('legacy'), [], LONG_TTL, LONG_TTL);
			await raw.set('tureen:node:legacy', JSON.stringify({ ...legacy, url: httpUrl }), { KEEPTTL: true });
			assert.deepEqual((await b.readNodes()).find((n) => n.record.nodeId === 'legacy')?.record, record('legacy'));
		} finally {
			await raw.close();
		}
	});

	it('skips a record that does not parse', async () => {
		await a.heartbeat({ ...record('odd'), workers: -1 }, [], LONG_TTL, LONG_TTL);
		assert.ok(!(await a.readNodes()).some((n) => n.record.nodeId === 'odd'));
	});

	it('a fresh claim needs the target below its MAX_ROOMS and the creating address within its quota; a renewal needs neither', async () => {
		await a.heartbeat(record('capped'), [], LONG_TTL, LONG_TTL);
		const guard = { maxRooms: 2, creator: { address: '198.51.100.7', max: 3, windowMs: LONG_TTL } };
		assert.equal((await a.claim('cap-1', 'capped', LONG_TTL, LONG_TTL, guard)).claimed, true);
		assert.equal((await b.claim('cap-2', 'capped', LONG_TTL, LONG_TTL, guard)).claimed, true);
		assert.deepEqual(await a.claim('cap-3', 'capped', LONG_TTL, LONG_TTL, guard), { claimed: false, refused: 'full' });
		assert.deepEqual(await a.claim('cap-1', 'capped', LONG_TTL, LONG_TTL, guard), { claimed: true, fresh: false, previousOwner: 'capped' });
		await a.heartbeat(record('roomy'), [], LONG_TTL, LONG_TTL);
		// The refused and the renewed claims cost the address nothing: one more room, then no more.
		assert.equal((await a.claim('cap-4', 'roomy', LONG_TTL, LONG_TTL, guard)).claimed, true);
		assert.deepEqual(await b.claim('cap-5', 'roomy', LONG_TTL, LONG_TTL, guard), { claimed: false, refused: 'quota' });
		assert.equal((await b.claim('cap-5', 'roomy', LONG_TTL, LONG_TTL, { creator: { ...guard.creator, address: '198.51.100.8' } })).claimed, true);
	});

	it('a claim from another Redis generation than the current one is refused as stale', async () => {
		const beat = await a.heartbeat(record('fenced'), [], LONG_TTL, LONG_TTL);
		assert.equal(beat.status, 'ok');
		const generation = beat.status === 'ok' ? beat.generation : '';
		assert.deepEqual(await a.claim('fenced-room', 'fenced', LONG_TTL, LONG_TTL, { generation: 'another' }), { claimed: false, refused: 'stale' });
		assert.equal((await a.claim('fenced-room', 'fenced', LONG_TTL, LONG_TTL, { generation })).claimed, true);
	});

	it('another process heartbeating a node id held by a live one is refused and writes nothing; it cannot unregister it either', async () => {
		await a.heartbeat(record('held', { region: 'first' }), [], LONG_TTL, LONG_TTL);
		const beat = await b.heartbeat(record('held', { region: 'second' }), [], LONG_TTL, LONG_TTL);
		assert.equal(beat.status, 'taken');
		assert.ok(beat.status === 'taken' && beat.holderTtlMs > 0 && beat.holderTtlMs <= LONG_TTL);
		await b.unregister('held');
		assert.equal((await b.readNodes()).find((n) => n.record.nodeId === 'held')?.record.region, 'first');
		await a.unregister('held');
		assert.equal((await b.heartbeat(record('held'), [], LONG_TTL, LONG_TTL)).status, 'ok');
	});

	it('a re-claim window closes after its grace even when an expected node never comes back', async () => {
		await a.heartbeat(record('survivor'), [], LONG_TTL, LONG_TTL, { lastGeneration: 'before', reclaim: { expect: ['gone-for-good'], graceMs: 300 } });
		assert.deepEqual(await a.claim('after-grace', 'survivor', LONG_TTL, LONG_TTL), { claimed: false, refused: 'reclaiming' });
		await waitFor('the window to close', async () => (await a.claim('after-grace', 'survivor', LONG_TTL, LONG_TTL)).claimed, 5000, { intervalMs: 50 });
	});

	it('after Redis lost its data a re-claim window refuses fresh claims until every expected node heartbeated; renewals go on', async () => {
		await a.heartbeat(record('back'), [], LONG_TTL, LONG_TTL);
		await a.claim('kept-through', 'back', LONG_TTL, LONG_TTL);
		// As if this node last saw another generation: Redis lost its data since.
		await a.heartbeat(record('back'), ['kept-through'], LONG_TTL, LONG_TTL, { lastGeneration: 'before', reclaim: { expect: ['late'], graceMs: LONG_TTL } });
		assert.deepEqual(await b.claim('new-room', 'back', LONG_TTL, LONG_TTL), { claimed: false, refused: 'reclaiming' });
		assert.equal((await b.claim('kept-through', 'back', LONG_TTL, LONG_TTL)).claimed, true);
		await b.heartbeat(record('late'), [], LONG_TTL, LONG_TTL);
		assert.equal((await b.claim('new-room', 'back', LONG_TTL, LONG_TTL)).claimed, true);
	});

	it('Redis killed: commands fail fast; restarted empty: the store reconnects and one heartbeat re-registers and re-claims', async () => {
		const store = new RedisStore(redis.url, quiet);
		stores.push(store);
		await store.connect(5000);
		const downs: string[] = [];
		store.on('down', (reason) => downs.push(reason));
		await store.heartbeat(record('phoenix'), ['phoenix-room'], LONG_TTL, LONG_TTL);

		const port = redis.port;
		await redis.stop('SIGKILL');
		await waitFor('the store to notice Redis is gone', () => !store.up, 5000);
		assert.ok(downs.length >= 1);
		await assert.rejects(store.readNodes(), { name: 'RedisUnavailableError' });

		redis = await startRedis(port);
		await waitFor('the store to reconnect', () => store.up, 15_000);
		assert.deepEqual(await store.readNodes(), []);
		await store.heartbeat(record('phoenix'), ['phoenix-room'], LONG_TTL, LONG_TTL);
		assert.equal((await store.roomOwner('phoenix-room'))?.alive, true);
		assert.equal((await store.readNodes())[0]?.ownedRooms, 1);
		// The other connections reconnect too (same backoff).
		await waitFor('the other stores to reconnect', () => a.up && b.up, 15_000);
	});

	it('a store started while Redis is down connects once it is up', async () => {
		const port = await freePort();
		const store = new RedisStore(`redis://127.0.0.1:${port}`, quiet);
		stores.push(store);
		assert.equal(await store.connect(300), false);
		assert.equal(store.up, false);
		const late = await startRedis(port);
		try {
			await waitFor('the late store to connect', () => store.up, 15_000);
		} finally {
			await store.close();
			await late.stop('SIGKILL');
		}
	});
});

describe('reconnectDelay', () => {
	it('doubles from 100 ms to a 5 s cap, within ±25 % jitter', () => {
		assert.equal(reconnectDelay(0, () => 0.5), 100);
		assert.equal(reconnectDelay(3, () => 0.5), 800);
		assert.equal(reconnectDelay(10, () => 0.5), 5000);
		assert.equal(reconnectDelay(1000, () => 0.5), 5000);
		assert.equal(reconnectDelay(0, () => 0), 75);
		assert.equal(reconnectDelay(0, () => 0.999999), 125);
	});
});
