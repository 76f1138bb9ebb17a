import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { chooseNode, type NodeSnapshot } from '../../src/cluster/nodeSelection.ts';
import { seededRandom } from '../support/random.ts';

const DEFAULT = { cpuSimilarThreshold: 0.1 };

type Shape = Omit<NodeSnapshot, 'nodeId'>;

function shape(overrides: Partial<Shape> = {}): Shape {
	return { alive: true, draining: false, workersAlive: 1, roomCount: 0, maxRooms: 1000, cpu: 0, lastPlacedSeq: 0, ...overrides };
}

function node(nodeId: string, overrides: Partial<Shape> = {}): NodeSnapshot {
	return { nodeId, ...shape(overrides) };
}

describe('chooseNode: eligibility', () => {
	it('returns undefined for an empty cluster', () => {
		assert.equal(chooseNode([], DEFAULT), undefined);
	});

	it('returns undefined when every node is dead, draining, without a live worker or full', () => {
		const nodes = [
			node('a', { alive: false }),
			node('b', { draining: true }),
			node('c', { workersAlive: 0 }),
			node('d', { roomCount: 5, maxRooms: 5 }),
		];
		assert.equal(chooseNode(nodes, DEFAULT), undefined);
	});

	it('skips a dead node even when it has no rooms', () => {
		assert.equal(chooseNode([node('a', { alive: false }), node('b', { roomCount: 7 })], DEFAULT), 'b');
	});

	it('skips a draining node even when it is the least loaded', () => {
		assert.equal(chooseNode([node('a', { draining: true }), node('b', { roomCount: 3, cpu: 0.9, lastPlacedSeq: 5 })], DEFAULT), 'b');
	});

	it('skips a node whose workers are all dead', () => {
		assert.equal(chooseNode([node('a', { workersAlive: 0 }), node('b', { roomCount: 9 })], DEFAULT), 'b');
	});

	it('skips a node at its MAX_ROOMS, takes one just below it', () => {
		assert.equal(chooseNode([node('a', { roomCount: 10, maxRooms: 10 }), node('b', { roomCount: 50 })], DEFAULT), 'b');
		assert.equal(chooseNode([node('a', { roomCount: 9, maxRooms: 10 }), node('b', { roomCount: 50 })], DEFAULT), 'a');
	});

	it('a node above its MAX_ROOMS (lowered on restart) takes nothing', () => {
		assert.equal(chooseNode([node('a', { roomCount: 12, maxRooms: 10 })], DEFAULT), undefined);
	});
});

describe('chooseNode: region', () => {
	it('prefers a node of the preferred region over a less loaded one elsewhere', () => {
		const nodes = [node('a', { region: 'eu', roomCount: 5 }), node('b', { region: 'us', roomCount: 0 })];
		assert.equal(chooseNode(nodes, { ...DEFAULT, preferRegion: 'eu' }), 'a');
	});

	it('falls back to any region when no node of the preferred one can take the room', () => {
		const nodes = [node('a', { region: 'eu', draining: true }), node('b', { region: 'us', roomCount: 4 }), node('c', { roomCount: 3 })];
		assert.equal(chooseNode(nodes, { ...DEFAULT, preferRegion: 'eu' }), 'c');
	});

	it('without a preferred region, regions do not matter', () => {
		const nodes = [node('a', { region: 'eu', roomCount: 2 }), node('b', { region: 'us', roomCount: 1 })];
		assert.equal(chooseNode(nodes, DEFAULT), 'b');
	});

	it('a node without a region is not in the preferred region', () => {
		const nodes = [node('a', { roomCount: 0 }), node('b', { region: 'eu', roomCount: 9 })];
		assert.equal(chooseNode(nodes, { ...DEFAULT, preferRegion: 'eu' }), 'b');
	});

	it('among nodes of the preferred region the usual rules apply', () => {
		const nodes = [node('a', { region: 'eu', roomCount: 2 }), node('b', { region: 'eu', roomCount: 1 }), node('c', { region: 'us' })];
		assert.equal(chooseNode(nodes, { ...DEFAULT, preferRegion: 'eu' }), 'b');
	});
});

describe('chooseNode: fewest rooms per live worker first', () => {
	it('prefers fewer rooms over lower CPU', () => {
		assert.equal(chooseNode([node('a', { roomCount: 2 }), node('b', { roomCount: 1, cpu: 0.9 })], DEFAULT), 'b');
	});

	it('counts rooms per live worker: 6 rooms on 4 workers is lighter than 2 rooms on 1', () => {
		const nodes = [node('a', { roomCount: 2, workersAlive: 1 }), node('b', { roomCount: 6, workersAlive: 4 })];
		assert.equal(chooseNode(nodes, DEFAULT), 'b');
	});

	it('equal rooms per worker (2/1 and 4/2) is a tie, settled by CPU', () => {
		const nodes = [node('a', { roomCount: 2, workersAlive: 1, cpu: 0.6 }), node('b', { roomCount: 4, workersAlive: 2, cpu: 0.2 })];
		assert.equal(chooseNode(nodes, DEFAULT), 'b');
	});

	it('compares ratios exactly (1/3 against 2/6 is a tie; 1/3 against 3/10 is not)', () => {
		const tie = [node('a', { roomCount: 1, workersAlive: 3, lastPlacedSeq: 2 }), node('b', { roomCount: 2, workersAlive: 6, lastPlacedSeq: 1 })];
		assert.equal(chooseNode(tie, DEFAULT), 'b');
		const lighter = [node('a', { roomCount: 1, workersAlive: 3 }), node('b', { roomCount: 3, workersAlive: 10, lastPlacedSeq: 9 })];
		assert.equal(chooseNode(lighter, DEFAULT), 'b');
	});

	it('prefers fewer rooms over never having been placed on', () => {
		assert.equal(chooseNode([node('a', { roomCount: 1 }), node('b', { lastPlacedSeq: 99 })], DEFAULT), 'b');
	});
});

describe('chooseNode: CPU among equal loads', () => {
	it('picks the lower CPU when the difference is above the threshold', () => {
		assert.equal(chooseNode([node('a', { cpu: 0.5 }), node('b', { cpu: 0.2, lastPlacedSeq: 9 })], DEFAULT), 'b');
	});

	it('falls back to least recently placed when CPU is within the threshold', () => {
		assert.equal(chooseNode([node('a', { cpu: 0.05, lastPlacedSeq: 9 }), node('b', { cpu: 0.12, lastPlacedSeq: 3 })], DEFAULT), 'b');
	});

	it('a difference exactly equal to the threshold counts as similar', () => {
		const nodes = [node('a', { cpu: 0.25, lastPlacedSeq: 2 }), node('b', { cpu: 0.5, lastPlacedSeq: 1 })];
		assert.equal(chooseNode(nodes, { cpuSimilarThreshold: 0.25 }), 'b');
		assert.equal(chooseNode(nodes, { cpuSimilarThreshold: 0.2499 }), 'a');
	});

	it('measures similarity from the lowest CPU, not pairwise', () => {
		const nodes = [node('a', { cpu: 0, lastPlacedSeq: 3 }), node('b', { cpu: 0.08, lastPlacedSeq: 2 }), node('c', { cpu: 0.16, lastPlacedSeq: 1 })];
		assert.equal(chooseNode(nodes, DEFAULT), 'b');
	});

	it('ignores the CPU of more loaded nodes', () => {
		const nodes = [node('a', { roomCount: 1 }), node('b', { cpu: 0.6, lastPlacedSeq: 2 }), node('c', { cpu: 0.55, lastPlacedSeq: 1 })];
		assert.equal(chooseNode(nodes, DEFAULT), 'c');
	});
});

describe('chooseNode: least recently placed and ties', () => {
	it('a node never placed on comes first', () => {
		assert.equal(chooseNode([node('a', { lastPlacedSeq: 1 }), node('b'), node('c', { lastPlacedSeq: 2 })], DEFAULT), 'b');
	});

	it('ties on everything go to the lowest node id (code-unit order)', () => {
		assert.equal(chooseNode([node('node-b'), node('node-a'), node('node-c')], DEFAULT), 'node-a');
		assert.equal(chooseNode([node('b'), node('B')], DEFAULT), 'B');
		assert.equal(chooseNode([node('node-10'), node('node-9')], DEFAULT), 'node-10');
	});

	it('does not depend on the order of the input array', () => {
		const nodes = [node('a', { roomCount: 1 }), node('b', { cpu: 0.02, lastPlacedSeq: 5 }), node('c', { cpu: 0.04, lastPlacedSeq: 5 }), node('d', { cpu: 0.5 })];
		for (const order of permutations(nodes)) assert.equal(chooseNode(order, DEFAULT), 'b');
	});

	it('does not modify the snapshots it is given', () => {
		const nodes = [node('c', { lastPlacedSeq: 5 }), node('a', { lastPlacedSeq: 9 }), node('b', { lastPlacedSeq: 1 })];
		const copy = structuredClone(nodes);
		chooseNode(nodes, DEFAULT);
		assert.deepEqual(nodes, copy);
	});
});

function permutations<T>(items: readonly T[]): T[][] {
	if (items.length <= 1) return [[...items]];
	return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((tail) => [item, ...tail]));
}

/**
 * Reference written from the rules, independently of nodeSelection.ts: the
 * answer is the node that no other node beats on any rule, checked pairwise
 * (loads compared as fractions of real numbers, no pipeline of filters).
 */
function referenceChoose(nodes: readonly NodeSnapshot[], threshold: number, preferRegion?: string): string | undefined {
	const open = (n: NodeSnapshot) => n.alive && !n.draining && n.workersAlive >= 1 && n.roomCount < n.maxRooms;
	const regionHasRoom = nodes.some((n) => open(n) && n.region === preferRegion && preferRegion !== undefined);
	const competes = (n: NodeSnapshot) => open(n) && (!regionHasRoom || n.region === preferRegion);
	const load = (n: NodeSnapshot) => n.roomCount / n.workersAlive;
	const winners: string[] = [];
	for (const candidate of nodes) {
		if (!competes(candidate)) continue;
		const rivals = nodes.filter((o) => competes(o) && o !== candidate);
		if (rivals.some((o) => load(o) < load(candidate) - 1e-12)) continue;
		const peers = [candidate, ...rivals.filter((o) => Math.abs(load(o) - load(candidate)) <= 1e-12)];
		const lowest = Math.min(...peers.map((p) => p.cpu));
		if (candidate.cpu - lowest > threshold) continue;
		const beaten = peers.some(
			(p) =>
				p !== candidate &&
				p.cpu - lowest <= threshold &&
				(p.lastPlacedSeq < candidate.lastPlacedSeq || (p.lastPlacedSeq === candidate.lastPlacedSeq && p.nodeId < candidate.nodeId)),
		);
		if (!beaten) winners.push(candidate.nodeId);
	}
	if (winners.length > 1) throw new Error(`reference found several winners: ${winners.join(', ')}`);
	return winners[0];
}

/** Every ordered triple of shapes, named by `ids` in that order. */
function* triples(shapes: readonly Shape[], [x, y, z]: [string, string, string]): Generator<NodeSnapshot[]> {
	for (const a of shapes) {
		for (const b of shapes) {
			for (const c of shapes) yield [{ ...a, nodeId: x }, { ...b, nodeId: y }, { ...c, nodeId: z }];
		}
	}
}

describe('chooseNode: exhaustive matrix against a reference', () => {
	it('agrees with the reference for every combination of state, load, CPU and recency of 3 nodes', () => {
		const states: Partial<Shape>[] = [{}, { draining: true }, { alive: false }, { workersAlive: 0 }, { roomCount: 4, maxRooms: 4 }];
		const loads: Partial<Shape>[] = [
			{ roomCount: 0, workersAlive: 1 },
			{ roomCount: 1, workersAlive: 1 },
			{ roomCount: 2, workersAlive: 2 },
			{ roomCount: 1, workersAlive: 2 },
		];
		const perNode: Shape[] = [];
		for (const state of states) {
			for (const l of loads) {
				for (const cpu of [0, 0.05, 0.5]) {
					for (const lastPlacedSeq of [0, 7]) perNode.push(shape({ ...l, cpu, lastPlacedSeq, ...state }));
				}
			}
		}
		assert.equal(perNode.length, 5 * 4 * 3 * 2);
		const mismatches: string[] = [];
		const outcomes = new Set<string | undefined>();
		for (const nodes of triples(perNode, ['n1', 'n0', 'n2'])) {
			const expected = referenceChoose(nodes, DEFAULT.cpuSimilarThreshold);
			outcomes.add(expected);
			const actual = chooseNode(nodes, DEFAULT);
			if (actual !== expected && mismatches.length < 5) mismatches.push(`${JSON.stringify(nodes)}: expected ${expected}, got ${actual}`);
		}
		assert.deepEqual(mismatches, []);
		assert.deepEqual([...outcomes].sort(), ['n0', 'n1', 'n2', undefined]);
	});

	it('agrees with the reference on regions for every combination of region and state of 3 nodes', () => {
		const regions = [undefined, 'eu', 'us'];
		const perNode: Shape[] = [];
		for (const region of regions) {
			for (const state of [{}, { draining: true }, { alive: false }]) {
				for (const roomCount of [0, 1, 2]) perNode.push(shape({ roomCount, ...(region ? { region } : {}), ...state }));
			}
		}
		const mismatches: string[] = [];
		for (const preferRegion of [undefined, 'eu', 'asia']) {
			const options = { ...DEFAULT, ...(preferRegion ? { preferRegion } : {}) };
			for (const nodes of triples(perNode, ['a', 'b', 'c'])) {
				const expected = referenceChoose(nodes, DEFAULT.cpuSimilarThreshold, preferRegion);
				const actual = chooseNode(nodes, options);
				if (actual !== expected && mismatches.length < 5) mismatches.push(`${preferRegion} ${JSON.stringify(nodes)}: ${expected} vs ${actual}`);
			}
		}
		assert.deepEqual(mismatches, []);
	});

	it('agrees with the reference on 2000 random clusters of 1 to 8 nodes', () => {
		const random = seededRandom(15);
		const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
		const mismatches: string[] = [];
		for (let round = 0; round < 2000; round++) {
			const count = 1 + Math.floor(random() * 8);
			const nodes = Array.from({ length: count }, (_, i) =>
				node(`node-${pick(['a', 'b', 'c'])}${i}`, {
					alive: random() > 0.1,
					draining: random() < 0.1,
					workersAlive: pick([0, 1, 2, 4]),
					roomCount: Math.floor(random() * 6),
					maxRooms: pick([3, 1000]),
					cpu: pick([0, 0.05, 0.1, 0.3, 0.9]),
					lastPlacedSeq: Math.floor(random() * 4),
					...(random() < 0.5 ? { region: pick(['eu', 'us']) } : {}),
				}),
			);
			const threshold = pick([0, 0.1, 0.25]);
			const preferRegion = pick([undefined, 'eu']);
			const expected = referenceChoose(nodes, threshold, preferRegion);
			const actual = chooseNode(nodes, { cpuSimilarThreshold: threshold, ...(preferRegion ? { preferRegion } : {}) });
			if (actual !== expected && mismatches.length < 5) mismatches.push(`${JSON.stringify(nodes)} t=${threshold}: ${expected} vs ${actual}`);
		}
		assert.deepEqual(mismatches, []);
	});
});

describe('chooseNode: sequential placement simulation', () => {
	function place(nodes: NodeSnapshot[], rooms: number): string[] {
		const placed: string[] = [];
		for (let seq = 1; seq <= rooms; seq++) {
			const chosen = chooseNode(nodes, DEFAULT);
			assert.notEqual(chosen, undefined);
			const n = nodes.find((x) => x.nodeId === chosen)!;
			// What the room map does: the claim counts the room and stamps the placement order.
			n.roomCount += 1;
			n.lastPlacedSeq = seq;
			placed.push(chosen!);
		}
		return placed;
	}

	it('4 rooms on 2 idle nodes end 2/2, alternating', () => {
		const nodes = [node('b'), node('a')];
		assert.deepEqual(place(nodes, 4), ['a', 'b', 'a', 'b']);
	});

	it('rooms follow worker counts: a 3-worker node takes 3 of every 4 rooms beside a 1-worker node', () => {
		const nodes = [node('a', { workersAlive: 3 }), node('b', { workersAlive: 1 })];
		place(nodes, 8);
		assert.deepEqual(
			nodes.map((n) => n.roomCount),
			[6, 2],
		);
	});

	it('a draining node receives none of the rooms', () => {
		const nodes = [node('a'), node('b', { draining: true }), node('c')];
		place(nodes, 6);
		assert.deepEqual(
			nodes.map((n) => n.roomCount),
			[3, 0, 3],
		);
	});
});
