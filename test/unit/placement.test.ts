import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { chooseWorker, PORTS_NEARLY_FULL, type WorkerSnapshot } from '../../src/services/workers/placement.ts';

const DEFAULT = { cpuSimilarThreshold: 0.1 };

function worker(workerId: number, overrides: Partial<WorkerSnapshot> = {}): WorkerSnapshot {
	return { workerId, alive: true, draining: false, roomCount: 0, cpu: 0, lastUsedAt: 0, ...overrides };
}


/** Every ordered choice of three workers (ids 0, 1, 2) from the given states. */
function forEveryTrio(perWorker: readonly Omit<WorkerSnapshot, 'workerId'>[], check: (workers: WorkerSnapshot[]) => void): void {
	for (const a of perWorker) {
		for (const b of perWorker) {
			for (const c of perWorker) check([{ workerId: 0, ...a }, { workerId: 1, ...b }, { workerId: 2, ...c }]);
		}
	}
}
describe('chooseWorker: eligibility', () => {
	it('returns undefined for an empty pool', () => {
		assert.equal(chooseWorker([], DEFAULT), undefined);
	});

	it('returns undefined when every worker is dead or draining', () => {
		const workers = [
			worker(0, { alive: false }),
			worker(1, { draining: true }),
			worker(2, { alive: false, draining: true }),
		];
		assert.equal(chooseWorker(workers, DEFAULT), undefined);
	});

	it('skips a dead worker even when it has the fewest rooms', () => {
		const workers = [worker(0, { alive: false }), worker(1, { roomCount: 5 })];
		assert.equal(chooseWorker(workers, DEFAULT), 1);
	});

	it('skips a draining worker even when it has the fewest rooms and lowest CPU', () => {
		const workers = [worker(0, { draining: true }), worker(1, { roomCount: 3, cpu: 0.9, lastUsedAt: 5 })];
		assert.equal(chooseWorker(workers, DEFAULT), 1);
	});

	it('takes the only eligible worker', () => {
		const workers = [worker(0, { alive: false }), worker(1, { draining: true }), worker(2, { roomCount: 9, cpu: 1 })];
		assert.equal(chooseWorker(workers, DEFAULT), 2);
	});
});

describe('chooseWorker: fewest rooms first', () => {
	it('prefers fewer rooms over lower CPU', () => {
		const workers = [worker(0, { roomCount: 2, cpu: 0 }), worker(1, { roomCount: 1, cpu: 0.9 })];
		assert.equal(chooseWorker(workers, DEFAULT), 1);
	});

	it('prefers fewer rooms over being never used', () => {
		const workers = [worker(0, { roomCount: 1, lastUsedAt: 0 }), worker(1, { roomCount: 0, lastUsedAt: 1000 })];
		assert.equal(chooseWorker(workers, DEFAULT), 1);
	});

	it('prefers fewer rooms over a lower workerId', () => {
		const workers = [worker(0, { roomCount: 3 }), worker(1, { roomCount: 3 }), worker(2, { roomCount: 2 })];
		assert.equal(chooseWorker(workers, DEFAULT), 2);
	});
});

describe('chooseWorker: CPU among equal room counts', () => {
	it('picks the lower CPU when the difference is above the threshold', () => {
		const workers = [worker(0, { cpu: 0.5, lastUsedAt: 0 }), worker(1, { cpu: 0.2, lastUsedAt: 1000 })];
		assert.equal(chooseWorker(workers, DEFAULT), 1);
	});

	it('falls back to least recently used when CPU is within the threshold', () => {
		const workers = [worker(0, { cpu: 0.05, lastUsedAt: 1000 }), worker(1, { cpu: 0.12, lastUsedAt: 500 })];
		assert.equal(chooseWorker(workers, DEFAULT), 1);
	});

	it('counts a difference exactly equal to the threshold as similar', () => {
		// 0.25 and 0.5 are exact in binary floating point, so the difference is exactly 0.25.
		const workers = [worker(0, { cpu: 0.25, lastUsedAt: 2000 }), worker(1, { cpu: 0.5, lastUsedAt: 1000 })];
		assert.equal(chooseWorker(workers, { cpuSimilarThreshold: 0.25 }), 1);
		// Just above the threshold the lower CPU wins again.
		assert.equal(chooseWorker(workers, { cpuSimilarThreshold: 0.2499 }), 0);
	});

	it('counts a difference exactly equal to the default threshold (0 vs 0.1) as similar', () => {
		const workers = [worker(0, { cpu: 0, lastUsedAt: 2000 }), worker(1, { cpu: 0.1, lastUsedAt: 1000 })];
		assert.equal(chooseWorker(workers, DEFAULT), 1);
	});

	it('measures similarity from the lowest CPU, not pairwise', () => {
		// 0.08 is similar to 0 and 0.16 is similar to 0.08, but 0.16 is not similar to 0.
		const workers = [
			worker(0, { cpu: 0, lastUsedAt: 3000 }),
			worker(1, { cpu: 0.08, lastUsedAt: 2000 }),
			worker(2, { cpu: 0.16, lastUsedAt: 1000 }),
		];
		assert.equal(chooseWorker(workers, DEFAULT), 1);
	});

	it('ignores CPU of workers with more rooms', () => {
		const workers = [
			worker(0, { roomCount: 1, cpu: 0 }),
			worker(1, { roomCount: 0, cpu: 0.6, lastUsedAt: 2000 }),
			worker(2, { roomCount: 0, cpu: 0.55, lastUsedAt: 1000 }),
		];
		assert.equal(chooseWorker(workers, DEFAULT), 2);
	});

	it('with a threshold of 0 only an exact CPU tie goes to least recently used', () => {
		const workers = [worker(0, { cpu: 0.3, lastUsedAt: 1 }), worker(1, { cpu: 0.3, lastUsedAt: 0 }), worker(2, { cpu: 0.31 })];
		assert.equal(chooseWorker(workers, { cpuSimilarThreshold: 0 }), 1);
	});
});

describe('chooseWorker: least recently used and ties', () => {
	it('a never used worker (lastUsedAt 0) comes first', () => {
		const workers = [worker(0, { lastUsedAt: 1 }), worker(1, { lastUsedAt: 0 }), worker(2, { lastUsedAt: 2 })];
		assert.equal(chooseWorker(workers, DEFAULT), 1);
	});

	it('the older lastUsedAt wins', () => {
		const workers = [worker(0, { lastUsedAt: 3000 }), worker(1, { lastUsedAt: 2000 }), worker(2, { lastUsedAt: 2500 })];
		assert.equal(chooseWorker(workers, DEFAULT), 1);
	});

	it('ties on everything go to the lowest workerId', () => {
		const workers = [worker(3), worker(1), worker(2)];
		assert.equal(chooseWorker(workers, DEFAULT), 1);
	});

	it('ties on lastUsedAt go to the lowest workerId regardless of CPU within the threshold', () => {
		const workers = [worker(2, { cpu: 0, lastUsedAt: 7 }), worker(1, { cpu: 0.09, lastUsedAt: 7 })];
		assert.equal(chooseWorker(workers, DEFAULT), 1);
	});

	it('does not depend on the order of the input array', () => {
		const workers = [
			worker(0, { roomCount: 1 }),
			worker(1, { cpu: 0.02, lastUsedAt: 50 }),
			worker(2, { cpu: 0.04, lastUsedAt: 50 }),
			worker(3, { cpu: 0.5, lastUsedAt: 0 }),
		];
		for (const order of permutations(workers)) {
			assert.equal(chooseWorker(order, DEFAULT), 1);
		}
	});

	it('does not modify the snapshots it is given', () => {
		const workers = [worker(2, { lastUsedAt: 5 }), worker(0, { lastUsedAt: 9 }), worker(1, { lastUsedAt: 1 })];
		const copy = structuredClone(workers);
		chooseWorker(workers, DEFAULT);
		assert.deepEqual(workers, copy);
	});
});

function permutations<T>(items: readonly T[]): T[][] {
	if (items.length <= 1) return [[...items]];
	const result: T[][] = [];
	for (const [i, item] of items.entries()) {
		const rest = [...items.slice(0, i), ...items.slice(i + 1)];
		for (const tail of permutations(rest)) result.push([item, ...tail]);
	}
	return result;
}

/**
 * Reference written from the rules, independently of placement.ts: the answer
 * is the worker that satisfies every rule when checked against every other
 * worker (declarative, no filtering or sorting pipeline).
 */
function referenceChoose(workers: readonly WorkerSnapshot[], threshold: number): number | undefined {
	const ports = (w: WorkerSnapshot) => w.portUse ?? 0;
	const open = (w: WorkerSnapshot) => w.alive && !w.draining && ports(w) < 1;
	// Rule 0: a nearly full worker competes only when no open worker has room to spare.
	const anyRoomy = workers.some((w) => open(w) && ports(w) < PORTS_NEARLY_FULL);
	const isEligible = (w: WorkerSnapshot) => open(w) && (!anyRoomy || ports(w) < PORTS_NEARLY_FULL);
	const winners: number[] = [];
	for (const candidate of workers) {
		if (!isEligible(candidate)) continue;
		let ok = true;
		// Rule 1: no eligible worker has fewer rooms.
		for (const other of workers) {
			if (isEligible(other) && other.roomCount < candidate.roomCount) ok = false;
		}
		if (!ok) continue;
		const peers = workers.filter((o) => isEligible(o) && o.roomCount === candidate.roomCount);
		let lowest = Infinity;
		for (const p of peers) if (p.cpu < lowest) lowest = p.cpu;
		// Rule 2: the candidate's CPU is within the threshold of the lowest CPU among its peers.
		if (candidate.cpu - lowest > threshold) continue;
		// Rule 3: no other similar peer was used less recently, or equally recently with a lower id.
		for (const p of peers) {
			if (p === candidate || p.cpu - lowest > threshold) continue;
			if (p.lastUsedAt < candidate.lastUsedAt) ok = false;
			if (p.lastUsedAt === candidate.lastUsedAt && p.workerId < candidate.workerId) ok = false;
		}
		if (ok) winners.push(candidate.workerId);
	}
	if (winners.length > 1) throw new Error(`reference found several winners: ${winners.join(', ')}`);
	return winners[0];
}

describe('chooseWorker: exhaustive matrix against a reference', () => {
	it('agrees with the reference for every combination of 3 workers', () => {
		const states = [
			{ alive: true, draining: false },
			{ alive: true, draining: true },
			{ alive: false, draining: false },
			{ alive: false, draining: true },
		];
		const roomCounts = [0, 1, 2];
		const cpus = [0, 0.05, 0.5];
		const lastUsed = [0, 1000, 2000];

		// Every per-worker combination, then every triple of them.
		const perWorker: Omit<WorkerSnapshot, 'workerId'>[] = [];
		for (const state of states) {
			for (const roomCount of roomCounts) {
				for (const cpu of cpus) {
					for (const lastUsedAt of lastUsed) perWorker.push({ ...state, roomCount, cpu, lastUsedAt });
				}
			}
		}
		assert.equal(perWorker.length, 4 * 3 * 3 * 3);

		let checked = 0;
		let undefinedCount = 0;
		const seenWinners = new Set<number>();
		const mismatches: string[] = [];
		forEveryTrio(perWorker, (workers) => {
			const expected = referenceChoose(workers, DEFAULT.cpuSimilarThreshold);
			const actual = chooseWorker(workers, DEFAULT);
			checked += 1;
			if (expected === undefined) undefinedCount += 1;
			else seenWinners.add(expected);
			if (actual !== expected && mismatches.length < 5) {
				mismatches.push(`${JSON.stringify(workers)}: expected ${expected}, got ${actual}`);
			}
		});
		assert.deepEqual(mismatches, []);
		assert.equal(checked, (4 * 27) ** 3);
		// Sanity: the matrix exercised every outcome.
		assert.equal(undefinedCount, (3 * 27) ** 3);
		assert.deepEqual([...seenWinners].sort(), [0, 1, 2]);
	});

	it('agrees with the reference for every combination of port use, rooms and state of 3 workers', () => {
		const states = [
			{ alive: true, draining: false },
			{ alive: true, draining: true },
			{ alive: false, draining: false },
		];
		const portUses = [undefined, 0, 0.5, PORTS_NEARLY_FULL - 0.001, PORTS_NEARLY_FULL, 0.99, 1];
		const perWorker: Omit<WorkerSnapshot, 'workerId'>[] = [];
		for (const state of states) {
			for (const roomCount of [0, 1]) {
				for (const cpu of [0, 0.5]) {
					for (const portUse of portUses) {
						perWorker.push({ ...state, roomCount, cpu, lastUsedAt: 0, ...(portUse === undefined ? {} : { portUse }) });
					}
				}
			}
		}
		const mismatches: string[] = [];
		const outcomes = new Set<number | undefined>();
		forEveryTrio(perWorker, (workers) => {
			const expected = referenceChoose(workers, DEFAULT.cpuSimilarThreshold);
			outcomes.add(expected);
			const actual = chooseWorker(workers, DEFAULT);
			if (actual !== expected && mismatches.length < 5) mismatches.push(`${JSON.stringify(workers)}: ${expected} vs ${actual}`);
		});
		assert.deepEqual(mismatches, []);
		assert.deepEqual([...outcomes].sort(), [0, 1, 2, undefined]);
	});

	it('agrees with the reference for rotated workerIds and other thresholds', () => {
		const cpus = [0, 0.05, 0.1, 0.3, 0.5];
		const thresholds = [0, 0.05, 0.1, 0.25, 1];
		const mismatches: string[] = [];
		for (const threshold of thresholds) {
			for (const ca of cpus) {
				for (const cb of cpus) {
					for (const cc of cpus) {
						for (const order of [[2, 0, 1], [1, 2, 0], [0, 1, 2]]) {
							const workers: WorkerSnapshot[] = [
								worker(order[0]!, { cpu: ca, lastUsedAt: 300 }),
								worker(order[1]!, { cpu: cb, lastUsedAt: 100 }),
								worker(order[2]!, { cpu: cc, lastUsedAt: 100 }),
							];
							const expected = referenceChoose(workers, threshold);
							const actual = chooseWorker(workers, { cpuSimilarThreshold: threshold });
							if (actual !== expected) mismatches.push(`t=${threshold} ${JSON.stringify(workers)}: ${expected} vs ${actual}`);
						}
					}
				}
			}
		}
		assert.deepEqual(mismatches.slice(0, 5), []);
	});
});

describe('chooseWorker: port pressure', () => {
	it('avoids a worker whose port range is nearly full, even with fewer rooms and lower CPU', () => {
		const workers = [worker(0, { portUse: PORTS_NEARLY_FULL }), worker(1, { roomCount: 5, cpu: 0.9, portUse: 0.5 })];
		assert.equal(chooseWorker(workers, DEFAULT), 1);
	});

	it('just below the nearly-full mark a worker competes as usual', () => {
		const workers = [worker(0, { portUse: PORTS_NEARLY_FULL - 0.01 }), worker(1, { roomCount: 5 })];
		assert.equal(chooseWorker(workers, DEFAULT), 0);
	});

	it('when every open worker is nearly full, the usual rules pick among them', () => {
		const workers = [worker(0, { roomCount: 2, portUse: 0.95 }), worker(1, { roomCount: 1, portUse: 0.99 })];
		assert.equal(chooseWorker(workers, DEFAULT), 1);
	});

	it('never picks a worker whose ports are exhausted', () => {
		assert.equal(chooseWorker([worker(0, { portUse: 1 })], DEFAULT), undefined);
		const workers = [worker(0, { portUse: 1 }), worker(1, { roomCount: 9, portUse: 0.95 })];
		assert.equal(chooseWorker(workers, DEFAULT), 1);
	});

	it('a nearly full worker does not make a draining or dead one eligible', () => {
		const workers = [worker(0, { portUse: 0.95 }), worker(1, { draining: true }), worker(2, { alive: false })];
		assert.equal(chooseWorker(workers, DEFAULT), 0);
	});
});

describe('chooseWorker: sequential placement simulation', () => {
	it('8 rooms on 4 idle workers end 2/2/2/2, round-robin', () => {
		const workers = [0, 1, 2, 3].map((id) => worker(id));
		let clock = 1_700_000_000_000;
		const placed: number[] = [];
		for (let room = 0; room < 8; room++) {
			const chosen = chooseWorker(workers, DEFAULT);
			assert.notEqual(chosen, undefined);
			const w = workers.find((x) => x.workerId === chosen)!;
			// What the pool does: the registry counts the room, the pool marks the worker used.
			w.roomCount += 1;
			w.lastUsedAt = clock;
			clock += 1;
			placed.push(chosen!);
		}
		assert.deepEqual(placed, [0, 1, 2, 3, 0, 1, 2, 3]);
		assert.deepEqual(
			workers.map((w) => w.roomCount),
			[2, 2, 2, 2],
		);
	});

	it('rooms placed with all lastUsedAt equal (same millisecond) still spread evenly', () => {
		const workers = [0, 1, 2, 3].map((id) => worker(id));
		for (let room = 0; room < 8; room++) {
			const chosen = chooseWorker(workers, DEFAULT)!;
			const w = workers.find((x) => x.workerId === chosen)!;
			w.roomCount += 1;
			w.lastUsedAt = 42;
		}
		assert.deepEqual(
			workers.map((w) => w.roomCount),
			[2, 2, 2, 2],
		);
	});

	it('a draining worker receives none of the rooms', () => {
		const workers = [0, 1, 2, 3].map((id) => worker(id, { draining: id === 2 }));
		let clock = 1;
		for (let room = 0; room < 9; room++) {
			const chosen = chooseWorker(workers, DEFAULT)!;
			const w = workers.find((x) => x.workerId === chosen)!;
			w.roomCount += 1;
			w.lastUsedAt = clock++;
		}
		assert.deepEqual(
			workers.map((w) => w.roomCount),
			[3, 3, 0, 3],
		);
	});
});
