import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { RECLAIM_GRACE_MS, reclaimPlan } from '../../src/cluster/reclaimPolicy.ts';

describe('reclaimPlan: whom a node waits for should Redis have lost its data', () => {
	it('before its first heartbeat a node plans nothing: it hosts no room of a previous Redis', () => {
		assert.equal(reclaimPlan({ selfId: 'a', generation: undefined, knownNodeIds: ['a', 'b'] }), undefined);
	});

	it('knowing no other node (or only itself), there is nobody to wait for', () => {
		assert.equal(reclaimPlan({ selfId: 'a', generation: 'g1', knownNodeIds: [] }), undefined);
		assert.equal(reclaimPlan({ selfId: 'a', generation: 'g1', knownNodeIds: ['a'] }), undefined);
	});

	it('waits for every other node it knew, each once and in a stable order, for the grace at most', () => {
		assert.deepEqual(reclaimPlan({ selfId: 'b', generation: 'g1', knownNodeIds: ['c', 'b', 'a', 'c'] }), { expect: ['a', 'c'], graceMs: RECLAIM_GRACE_MS });
	});

	it('the grace can be given', () => {
		assert.deepEqual(reclaimPlan({ selfId: 'a', generation: 'g1', knownNodeIds: ['b'] }, 500), { expect: ['b'], graceMs: 500 });
	});

	it('the default grace outlasts a live node\'s longest reconnect delay (5 s + 25 % jitter) plus one command timeout (2 s)', () => {
		assert.ok(RECLAIM_GRACE_MS > 5000 * 1.25 + 2000);
	});

	it('every combination of known ids: expect is the sorted set of known ids other than self', () => {
		const ids = ['a', 'b', 'c', 'd'];
		for (let mask = 0; mask < 1 << ids.length; mask++) {
			const known = ids.filter((_, i) => mask & (1 << i));
			for (const self of ids) {
				const plan = reclaimPlan({ selfId: self, generation: 'g', knownNodeIds: known });
				const others = known.filter((id) => id !== self);
				assert.deepEqual(plan?.expect, others.length > 0 ? others : undefined, `self ${self}, known ${known.join(',')}`);
			}
		}
	});
});
