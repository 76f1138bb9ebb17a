import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { overDataRate, peerDataRate, type DataCounters } from '../../src/services/participants/dataRatePolicy.ts';

const counters = (entries: [string, number, number][]) =>
	new Map<string, DataCounters>(entries.map(([id, messages, bytes]) => [id, { messages, bytes }]));

describe('peerDataRate', () => {
	it('sums each data producer’s growth over the window, per second', () => {
		const rate = peerDataRate(counters([['a', 10, 1000], ['b', 0, 0]]), counters([['a', 30, 3000], ['b', 10, 500]]), 2000);
		assert.deepEqual(rate, { messagesPerSecond: 15, bytesPerSecond: 1250 });
	});

	it('counts a producer new since the last sample from zero, and forgets one that is gone', () => {
		const rate = peerDataRate(counters([['gone', 500, 50_000]]), counters([['new', 4, 40]]), 1000);
		assert.deepEqual(rate, { messagesPerSecond: 4, bytesPerSecond: 40 });
	});

	it('never reports a negative rate when a counter is smaller than before', () => {
		assert.deepEqual(peerDataRate(counters([['a', 10, 100]]), counters([['a', 2, 20]]), 1000), { messagesPerSecond: 0, bytesPerSecond: 0 });
	});

	it('reports zero for an empty or non-positive window', () => {
		for (const elapsed of [0, -5]) {
			assert.deepEqual(peerDataRate(counters([]), counters([['a', 10, 100]]), elapsed), { messagesPerSecond: 0, bytesPerSecond: 0 });
		}
	});
});

describe('overDataRate', () => {
	const limits = { messagesPerSecond: 10, bytesPerSecond: 1000 };
	it('is over when either rate is above its cap, not when it equals it', () => {
		assert.equal(overDataRate({ messagesPerSecond: 10, bytesPerSecond: 1000 }, limits), false);
		assert.equal(overDataRate({ messagesPerSecond: 10.5, bytesPerSecond: 0 }, limits), true);
		assert.equal(overDataRate({ messagesPerSecond: 0, bytesPerSecond: 1001 }, limits), true);
		assert.equal(overDataRate({ messagesPerSecond: 0, bytesPerSecond: 0 }, limits), false);
	});
});
