// The pure token bucket (src/limits/tokenBucket.ts), the data budget built on it, and the per-key budget.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { admitMessage, dataBuckets, fullDataLevels } from '../../src/limits/dataBudget.ts';
import { KeyedBudget } from '../../src/limits/keyedBudget.ts';
import { fullLevel, isFull, refilled, take } from '../../src/limits/tokenBucket.ts';

const bucket = { capacity: 10, perSecond: 5 };

describe('token bucket policy', () => {
	it('refills at perSecond up to capacity; a clock going back refills nothing', () => {
		assert.deepEqual(refilled(bucket, { tokens: 0, at: 1000 }, 1200), { tokens: 1, at: 1200 });
		assert.deepEqual(refilled(bucket, { tokens: 9, at: 1000 }, 5000), { tokens: 10, at: 5000 });
		assert.deepEqual(refilled(bucket, { tokens: 3, at: 1000 }, 900), { tokens: 3, at: 1000 });
		assert.equal(isFull(bucket, { tokens: 0, at: 0 }, 1999), false);
		assert.equal(isFull(bucket, { tokens: 0, at: 0 }, 2000), true);
	});

	it('takes from every bucket or from none', () => {
		const buckets = { a: bucket, b: { capacity: 100, perSecond: 100 } };
		const levels = { a: fullLevel(buckets.a, 0), b: { tokens: 5, at: 0 } };
		const refused = take(buckets, levels, { a: 1, b: 6 }, 0);
		assert.equal(refused.admitted, false);
		assert.deepEqual(refused.levels, levels);
		const admitted = take(buckets, levels, { a: 1, b: 5 }, 0);
		assert.equal(admitted.admitted, true);
		assert.deepEqual(admitted.levels, { a: { tokens: 9, at: 0 }, b: { tokens: 0, at: 0 } });
	});

	it('over any window admits at most capacity + rate x window, however the takes are spread', () => {
		for (const step of [0, 1, 7, 50, 199, 200, 201, 1000]) {
			let levels = { one: fullLevel(bucket, 0) };
			let admitted = 0;
			for (let t = 0; t <= 10_000; t += step || 1) {
				for (let i = 0; i < (step === 0 ? 100 : 1); i++) {
					const next = take({ one: bucket }, levels, { one: 1 }, t);
					levels = next.levels;
					if (next.admitted) admitted++;
				}
			}
			assert.ok(admitted <= bucket.capacity + bucket.perSecond * 10, `step ${step}: ${admitted}`);
		}
	});
});

describe('data budget', () => {
	const limits = { messagesPerSecond: 50, bytesPerSecond: 4096, maxMessageBytes: 16_384 };

	it('holds one second of each rate, the bytes bucket at least one largest message', () => {
		assert.deepEqual(dataBuckets(limits), { messages: { capacity: 50, perSecond: 50 }, bytes: { capacity: 16_384, perSecond: 4096 } });
		assert.equal(dataBuckets({ ...limits, bytesPerSecond: 65_536 }).bytes.capacity, 65_536);
	});

	it('a burst of 3,000 small messages: one bucket passes, the rest is dropped until it refills', () => {
		const buckets = dataBuckets(limits);
		let levels = fullDataLevels(buckets, 0);
		let admitted = 0;
		for (let i = 0; i < 3000; i++) {
			const next = admitMessage(buckets, levels, 10, 0);
			levels = next.levels;
			if (next.admitted) admitted++;
		}
		assert.equal(admitted, 50);
		assert.equal(admitMessage(buckets, levels, 10, 19).admitted, false);
		assert.equal(admitMessage(buckets, levels, 10, 20).admitted, true);
	});

	it('large messages are limited by bytes; an empty message still costs a message and a byte', () => {
		const buckets = dataBuckets(limits);
		let levels = fullDataLevels(buckets, 0);
		const results = [0, 1, 2].map(() => {
			const next = admitMessage(buckets, levels, 8192, 0);
			levels = next.levels;
			return next.admitted;
		});
		assert.deepEqual(results, [true, true, false]);
		const empty = admitMessage(buckets, fullDataLevels(buckets, 0), 0, 0);
		assert.deepEqual([empty.levels.messages.tokens, empty.levels.bytes.tokens], [49, 16_383]);
	});
});

describe('KeyedBudget', () => {
	it('keeps one bucket per key and forgets keys that refilled', () => {
		let now = 0;
		const budget = new KeyedBudget({ capacity: 2, perSecond: 1 }, () => now);
		assert.deepEqual([budget.tryTake('a'), budget.tryTake('a'), budget.tryTake('a'), budget.tryTake('b')], [true, true, false, true]);
		assert.equal(budget.keys, 2);
		now = 1000;
		assert.equal(budget.tryTake('a'), true);
		assert.equal(budget.tryTake('a'), false);
		now = 10_000;
		assert.equal(budget.tryTake('c', 2), true);
		assert.equal(budget.keys, 1, 'a and b refilled and were swept');
	});
});
