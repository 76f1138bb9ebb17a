import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { placePeer, type PeerPlacementOptions, type RoomRouterSnapshot } from '../../src/services/workers/peerPlacement.ts';
import { chooseWorker, type WorkerSnapshot } from '../../src/services/workers/placement.ts';

const NO_CAP: PeerPlacementOptions = { cpuSimilarThreshold: 0.1, roomSpreadCpu: 0.6, roomSpreadMinPeers: 1, maxPeersPerRouter: Infinity };
const CAP2: PeerPlacementOptions = { ...NO_CAP, maxPeersPerRouter: 2 };
const MIN4: PeerPlacementOptions = { ...NO_CAP, roomSpreadMinPeers: 4 };

function worker(workerId: number, overrides: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
	return { workerId, alive: true, draining: false, roomCount: 0, cpu: 0, lastUsedAt: 0, ...overrides };
}

const router = (workerId: number, peerCount: number): RoomRouterSnapshot => ({ workerId, peerCount });

describe('placePeer: staying on the room\'s router', () => {
	it('a room without routers opens one where chooseWorker says', () => {
		const workers = [worker(0, { roomCount: 2 }), worker(1, { roomCount: 1 })];
		assert.deepEqual(placePeer(workers, [], NO_CAP), { kind: 'new', workerId: 1 });
	});

	it('with no cap and CPU below ROOM_SPREAD_CPU every peer stays on the one router', () => {
		const workers = [worker(0, { cpu: 0.59, roomCount: 9 }), worker(1)];
		assert.deepEqual(placePeer(workers, [router(0, 49)], NO_CAP), { kind: 'existing', workerId: 0 });
	});

	it('picks the router with the fewest peers, then the lower CPU, then the lower workerId', () => {
		const workers = [worker(0, { cpu: 0.1 }), worker(1, { cpu: 0.2 }), worker(2, { cpu: 0.1 })];
		assert.deepEqual(placePeer(workers, [router(0, 3), router(1, 1), router(2, 2)], NO_CAP), { kind: 'existing', workerId: 1 });
		assert.deepEqual(placePeer(workers, [router(1, 1), router(0, 1)], NO_CAP), { kind: 'existing', workerId: 0 });
		assert.deepEqual(placePeer(workers, [router(2, 1), router(0, 1)], NO_CAP), { kind: 'existing', workerId: 0 });
	});

	it('skips a router whose worker is at or above ROOM_SPREAD_CPU when another router is below', () => {
		const workers = [worker(0, { cpu: 0.6 }), worker(1, { cpu: 0.3 })];
		assert.deepEqual(placePeer(workers, [router(0, 0), router(1, 5)], NO_CAP), { kind: 'existing', workerId: 1 });
	});

	it('below ROOM_SPREAD_MIN_PEERS a room stays on its hot worker; from the minimum on it spreads', () => {
		const workers = [worker(0, { cpu: 0.9 }), worker(1)];
		assert.deepEqual(placePeer(workers, [router(0, 3)], MIN4), { kind: 'existing', workerId: 0 });
		assert.deepEqual(placePeer(workers, [router(0, 4)], MIN4), { kind: 'new', workerId: 1 });
	});

	it('an empty room on a hot worker still moves (it costs nothing), whatever ROOM_SPREAD_MIN_PEERS', () => {
		const workers = [worker(0, { cpu: 0.9 }), worker(1)];
		assert.deepEqual(placePeer(workers, [router(0, 0)], MIN4), { kind: 'new', workerId: 1 });
	});

	it('counts the peers of every router of the room against ROOM_SPREAD_MIN_PEERS', () => {
		const workers = [worker(0, { cpu: 0.9 }), worker(1, { cpu: 0.8 }), worker(2)];
		assert.deepEqual(placePeer(workers, [router(0, 1), router(1, 2)], MIN4), { kind: 'existing', workerId: 0 });
		assert.deepEqual(placePeer(workers, [router(0, 1), router(1, 3)], MIN4), { kind: 'new', workerId: 2 });
	});

	it('below ROOM_SPREAD_MIN_PEERS the cap still opens another router', () => {
		const workers = [worker(0), worker(1)];
		assert.deepEqual(placePeer(workers, [router(0, 2)], { ...MIN4, maxPeersPerRouter: 2 }), { kind: 'new', workerId: 1 });
	});

	it('skips a full router (peers = cap) when another has room', () => {
		const workers = [worker(0), worker(1)];
		assert.deepEqual(placePeer(workers, [router(0, 2), router(1, 1)], CAP2), { kind: 'existing', workerId: 1 });
	});

	it('never stays on a dead, draining or port-exhausted worker while another worker can take a router', () => {
		for (const state of [{ alive: false }, { draining: true }, { portUse: 1 }]) {
			const workers = [worker(0, state), worker(1, { roomCount: 5 })];
			assert.deepEqual(placePeer(workers, [router(0, 0)], NO_CAP), { kind: 'new', workerId: 1 }, JSON.stringify(state));
		}
	});

	it('ignores routers on workers it has no snapshot of', () => {
		assert.deepEqual(placePeer([worker(1)], [router(7, 0)], NO_CAP), { kind: 'new', workerId: 1 });
	});
});

describe('placePeer: spreading', () => {
	it('opens a router on another worker when the router is full', () => {
		const workers = [worker(0, { roomCount: 1 }), worker(1, { roomCount: 3 }), worker(2, { roomCount: 2 })];
		assert.deepEqual(placePeer(workers, [router(0, 2)], CAP2), { kind: 'new', workerId: 2 });
	});

	it('opens a router on another worker when the room\'s worker is hot', () => {
		const workers = [worker(0, { cpu: 0.8, roomCount: 1 }), worker(1, { roomCount: 1 })];
		assert.deepEqual(placePeer(workers, [router(0, 1)], NO_CAP), { kind: 'new', workerId: 1 });
	});

	it('never opens a second router of the room on a worker that has one', () => {
		const workers = [worker(0, { roomCount: 0 }), worker(1, { roomCount: 5 })];
		assert.deepEqual(placePeer(workers, [router(0, 2)], CAP2), { kind: 'new', workerId: 1 });
	});

	it('chooses the new worker exactly as chooseWorker does among the others', () => {
		const workers = [worker(0, { cpu: 0.9 }), worker(1, { cpu: 0.5, lastUsedAt: 1 }), worker(2, { cpu: 0.45, lastUsedAt: 2 })];
		assert.deepEqual(placePeer(workers, [router(0, 1)], NO_CAP), { kind: 'new', workerId: chooseWorker(workers.slice(1), NO_CAP) });
	});

	it('four peers with a cap of 2 end up on two workers; six on three', () => {
		const workers = [worker(0), worker(1), worker(2)];
		const routers = new Map<number, number>();
		for (let peer = 0; peer < 6; peer++) {
			const placed = placePeer(workers, [...routers].map(([w, n]) => router(w, n)), CAP2);
			assert.ok(placed);
			if (placed.kind === 'new') workers[placed.workerId]!.roomCount += 1;
			routers.set(placed.workerId, (routers.get(placed.workerId) ?? 0) + 1);
			if (peer === 3) assert.deepEqual([...routers.values()], [2, 2]);
		}
		assert.deepEqual([...routers.values()], [2, 2, 2]);
	});
});

describe('placePeer: overflow and nowhere', () => {
	it('over the cap on every router and no other worker: the least-loaded router still takes the peer', () => {
		const workers = [worker(0), worker(1)];
		assert.deepEqual(placePeer(workers, [router(0, 3), router(1, 2)], CAP2), { kind: 'existing', workerId: 1 });
	});

	it('hot everywhere and no other worker: overflow onto the fewest peers', () => {
		const workers = [worker(0, { cpu: 0.9 }), worker(1, { cpu: 0.95, draining: true })];
		assert.deepEqual(placePeer(workers, [router(0, 4), router(1, 0)], NO_CAP), { kind: 'existing', workerId: 0 });
	});

	it('last resort: a router on a draining or port-exhausted worker still admits the peer when nothing else can', () => {
		const workers = [worker(0, { portUse: 1 }), worker(1, { draining: true })];
		assert.deepEqual(placePeer(workers, [router(0, 3), router(1, 1)], NO_CAP), { kind: 'existing', workerId: 1 });
		assert.deepEqual(placePeer([worker(0, { portUse: 1 })], [router(0, 2)], CAP2), { kind: 'existing', workerId: 0 });
	});

	it('undefined when no live worker has a router of the room and none can open one', () => {
		const workers = [worker(0, { alive: false }), worker(1, { draining: true })];
		assert.equal(placePeer(workers, [router(0, 0)], NO_CAP), undefined);
		assert.equal(placePeer([], [], NO_CAP), undefined);
	});

	it('does not modify its inputs and does not depend on their order', () => {
		const workers = [worker(0, { cpu: 0.2 }), worker(1, { cpu: 0.7 }), worker(2, { cpu: 0.2, roomCount: 1 })];
		const routers = [router(1, 0), router(0, 2), router(2, 1)];
		const copy = structuredClone([workers, routers]);
		const expected = placePeer(workers, routers, CAP2);
		assert.deepEqual(expected, { kind: 'existing', workerId: 2 });
		assert.deepEqual([workers, routers], copy);
		assert.deepEqual(placePeer([...workers].reverse(), [...routers].reverse(), CAP2), expected);
	});
});

/**
 * The rules written another way: score every candidate (existing routers
 * and new workers) and keep the best, instead of filtering step by step.
 */
function reference(workers: readonly WorkerSnapshot[], routers: readonly RoomRouterSnapshot[], options: PeerPlacementOptions) {
	type Candidate = { kind: 'existing' | 'new'; workerId: number; tier: number; peers: number; cpu: number };
	const candidates: Candidate[] = [];
	let roomPeers = 0;
	for (const r of routers) roomPeers += r.peerCount;
	for (const r of routers) {
		const w = workers.find((x) => x.workerId === r.workerId);
		if (!w || !w.alive) continue;
		const hostable = !w.draining && (w.portUse ?? 0) < 1;
		const small = roomPeers > 0 && roomPeers < options.roomSpreadMinPeers;
		const hot = !small && w.cpu >= options.roomSpreadCpu;
		const fits = hostable && !hot && r.peerCount < options.maxPeersPerRouter;
		candidates.push({ kind: 'existing', workerId: r.workerId, tier: fits ? 0 : hostable ? 2 : 3, peers: r.peerCount, cpu: w.cpu });
	}
	const others = workers.filter((w) => !routers.some((r) => r.workerId === w.workerId));
	const fresh = chooseWorker(others, options);
	if (fresh !== undefined) candidates.push({ kind: 'new', workerId: fresh, tier: 1, peers: 0, cpu: 0 });
	let best: Candidate | undefined;
	for (const c of candidates) {
		const better =
			!best ||
			c.tier < best.tier ||
			(c.tier === best.tier && (c.peers < best.peers || (c.peers === best.peers && (c.cpu < best.cpu || (c.cpu === best.cpu && c.workerId < best.workerId)))));
		if (better) best = c;
	}
	return best && { kind: best.kind, workerId: best.workerId };
}

describe('placePeer: exhaustive matrix against a reference', () => {
	it('agrees for every state of 3 workers and every router layout of the room', () => {
		const states: Partial<WorkerSnapshot>[] = [
			{},
			{ cpu: 0.3 },
			{ cpu: 0.6 },
			{ cpu: 0.9, roomCount: 1 },
			{ alive: false },
			{ draining: true },
			{ portUse: 1 },
			{ portUse: 0.95, roomCount: 2 },
		];
		const peerCounts = [undefined, 0, 1, 2, 3];
		// The room holds 0 to 9 peers, so each minimum meets rooms just below, at and above it; 10 is never reached.
		const optionSets = [NO_CAP, CAP2, { ...CAP2, roomSpreadCpu: 0.3 }].flatMap((o) => [1, 4, 10].map((roomSpreadMinPeers) => ({ ...o, roomSpreadMinPeers })));
		let cases = 0;
		for (const s0 of states) {
			for (const s1 of states) {
				for (const s2 of states) {
					const workers = [worker(0, s0), worker(1, { lastUsedAt: 1, ...s1 }), worker(2, { lastUsedAt: 2, ...s2 })];
					for (const p0 of peerCounts) {
						for (const p1 of peerCounts) {
							for (const p2 of peerCounts) {
								const routers = [p0, p1, p2].flatMap((n, workerId) => (n === undefined ? [] : [router(workerId, n)]));
								for (const options of optionSets) {
									assert.deepEqual(placePeer(workers, routers, options), reference(workers, routers, options), JSON.stringify({ workers, routers, options }));
									cases++;
								}
							}
						}
					}
				}
			}
		}
		assert.equal(cases, 8 ** 3 * 5 ** 3 * 9);
	});
});
