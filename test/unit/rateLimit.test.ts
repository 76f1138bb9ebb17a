import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { TokenBucket } from '../../src/signalling/rateLimit.ts';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
	let t = start;
	return { now: () => t, advance: (ms) => void (t += ms) };
}

function takeAll(bucket: TokenBucket, max = 1000): number {
	let taken = 0;
	while (taken < max && bucket.tryTake()) taken++;
	return taken;
}

describe('TokenBucket', () => {
	it('allows exactly `capacity` at once, then refuses', () => {
		const clock = manualClock();
		const bucket = new TokenBucket(5, 1, clock.now);
		assert.equal(takeAll(bucket), 5);
		assert.equal(bucket.tryTake(), false);
	});

	it('refills at `perSecond`: one token per 1000/perSecond ms, not before', () => {
		const clock = manualClock();
		const bucket = new TokenBucket(3, 2, clock.now);
		takeAll(bucket);
		clock.advance(499);
		assert.equal(bucket.tryTake(), false, '0.998 of a token is not a token');
		clock.advance(1);
		assert.equal(bucket.tryTake(), true, 'exactly one token after 500 ms at 2/s');
		assert.equal(bucket.tryTake(), false);
		clock.advance(1000);
		assert.equal(takeAll(bucket), 2);
	});

	it('keeps fractions of a token across calls', () => {
		const clock = manualClock();
		const bucket = new TokenBucket(1, 0.5, clock.now);
		assert.equal(bucket.tryTake(), true);
		clock.advance(1000);
		assert.equal(bucket.tryTake(), false, 'half a token');
		clock.advance(1000);
		assert.equal(bucket.tryTake(), true, 'two halves make one');
	});

	it('never holds more than `capacity`, however long it idles', () => {
		const clock = manualClock();
		const bucket = new TokenBucket(4, 10, clock.now);
		clock.advance(3_600_000);
		assert.equal(takeAll(bucket), 4);
	});

	it('a refused call costs nothing', () => {
		const clock = manualClock();
		const bucket = new TokenBucket(1, 1, clock.now);
		bucket.tryTake();
		for (let i = 0; i < 10; i++) assert.equal(bucket.tryTake(), false);
		clock.advance(1000);
		assert.equal(bucket.tryTake(), true);
	});

	it('a clock that steps back never adds tokens', () => {
		const clock = manualClock();
		const bucket = new TokenBucket(2, 1, clock.now);
		takeAll(bucket);
		clock.advance(-5000);
		assert.equal(bucket.tryTake(), false);
	});

	it('uses the wall clock by default', () => {
		const bucket = new TokenBucket(2, 1);
		assert.equal(takeAll(bucket), 2);
	});
});
