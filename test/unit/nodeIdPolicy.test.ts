import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { nodeIdVerdict, type HolderObservation } from '../../src/cluster/nodeIdPolicy.ts';

const TTL = 6000;
const seen = (...pairs: [number, number][]): HolderObservation[] => pairs.map(([atMs, ttlMs]) => ({ atMs, ttlMs }));

describe('nodeIdVerdict: a NODE_ID held by another process', () => {
	it('nothing observed yet: wait', () => {
		assert.equal(nodeIdVerdict([], TTL), 'wait');
	});

	it('an entry counting down (a killed predecessor\'s, say) is waited out', () => {
		assert.equal(nodeIdVerdict(seen([0, 5000]), TTL), 'wait');
		assert.equal(nodeIdVerdict(seen([0, 5000], [200, 4800], [400, 4600]), TTL), 'wait');
		assert.equal(nodeIdVerdict(seen([0, 5000], [200, 5000]), TTL), 'wait');
	});

	it('an entry renewed between two looks belongs to a live node: refuse', () => {
		assert.equal(nodeIdVerdict(seen([0, 4100], [200, 5990]), TTL), 'refuse');
		assert.equal(nodeIdVerdict(seen([0, 5000], [200, 4800], [400, 4801]), TTL), 'refuse');
	});

	it('an entry without expiry is never going to lapse: refuse', () => {
		assert.equal(nodeIdVerdict(seen([0, -1]), TTL), 'refuse');
		assert.equal(nodeIdVerdict(seen([0, 3000], [200, -1]), TTL), 'refuse');
	});

	it('an entry that outlived a whole node TTL must have been renewed: refuse', () => {
		assert.equal(nodeIdVerdict(seen([0, 100], [TTL, 50]), TTL), 'wait');
		assert.equal(nodeIdVerdict(seen([0, 100], [TTL + 1, 50]), TTL), 'refuse');
	});

	it('any renewal in a long series refuses, wherever it is', () => {
		for (let at = 1; at < 10; at++) {
			const series = Array.from({ length: 10 }, (_, i) => ({ atMs: i * 200, ttlMs: 5000 - i * 200 + (i >= at ? 2000 : 0) }));
			assert.equal(nodeIdVerdict(series, TTL), 'refuse', `renewed at look ${at}`);
		}
		const steady = Array.from({ length: 10 }, (_, i) => ({ atMs: i * 200, ttlMs: 5000 - i * 200 }));
		assert.equal(nodeIdVerdict(steady, TTL), 'wait');
	});
});
