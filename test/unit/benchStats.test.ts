import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { pairedSummary, summary } from '../../bench/capacityRounds.ts';
import { pairedRatios, percentile, spreadOf } from '../../bench/stats.ts';

describe('percentile', () => {
	it('interpolates between ranks and ignores input order', () => {
		assert.equal(percentile([3, 1, 2], 50), 2);
		assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
		assert.equal(percentile([10, 20], 100), 20);
		assert.equal(percentile([], 50), undefined);
	});
});

describe('spreadOf', () => {
	it('gives the median and min-max of the rounds, keeping each round', () => {
		assert.deepEqual(spreadOf([46, 43, 47]), { median: 46, min: 43, max: 47, rounds: [46, 43, 47] });
		assert.deepEqual(spreadOf([5]), { median: 5, min: 5, max: 5, rounds: [5] });
		assert.equal(spreadOf([1, 2, 3, 10]).median, 2.5);
	});

	it('refuses no rounds or a missing figure instead of inventing one', () => {
		assert.throws(() => spreadOf([]), /no rounds/);
		assert.throws(() => spreadOf([1, Number.NaN]), /not a finite/);
		assert.throws(() => spreadOf([1, Infinity]), /not a finite/);
	});
});

describe('pairedRatios', () => {
	it('divides round i by round i only', () => {
		assert.deepEqual(pairedRatios([44, 46, 48], [22, 23, 16]), [2, 2, 3]);
	});

	it('refuses rounds that do not pair up or a zero denominator', () => {
		assert.throws(() => pairedRatios([1, 2], [1]), /cannot pair 2 rounds with 1/);
		assert.throws(() => pairedRatios([1, 2], [1, 0]), /round 2/);
		assert.throws(() => pairedRatios([Number.NaN], [1]), /round 1/);
	});
});

describe('summary and pairedSummary over rounds', () => {
	it('a round with no figure (a hole in the array) makes the figure missing, not a crash', () => {
		const sparse: (number | undefined)[] = [];
		sparse[1] = 20;
		sparse[2] = 30;
		assert.equal(summary(sparse, 3), undefined);
		assert.equal(pairedSummary([10, 20, 30], sparse, 3), undefined);
		assert.deepEqual(pairedSummary([10, 20, 30], [5, 10, 10], 3)?.rounds, [2, 2, 3]);
	});
});
