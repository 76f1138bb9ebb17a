import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { cpuFraction, MovingAverage } from '../../src/services/workers/cpuUsage.ts';

describe('cpuFraction', () => {
	it('is CPU time over wall time between two readings', () => {
		assert.equal(cpuFraction({ cpuMs: 100, atMs: 1000 }, { cpuMs: 600, atMs: 2000 }), 0.5);
		assert.equal(cpuFraction({ cpuMs: 0, atMs: 0 }, { cpuMs: 0, atMs: 1000 }), 0);
	});

	it('can exceed 1 for a process using more than one core', () => {
		assert.equal(cpuFraction({ cpuMs: 0, atMs: 0 }, { cpuMs: 1500, atMs: 1000 }), 1.5);
	});

	it('is 0 when no wall time passed or the clock went backwards', () => {
		assert.equal(cpuFraction({ cpuMs: 0, atMs: 1000 }, { cpuMs: 50, atMs: 1000 }), 0);
		assert.equal(cpuFraction({ cpuMs: 0, atMs: 2000 }, { cpuMs: 50, atMs: 1000 }), 0);
	});

	it('is never negative (cumulative times reset, e.g. a respawned worker)', () => {
		assert.equal(cpuFraction({ cpuMs: 5000, atMs: 0 }, { cpuMs: 10, atMs: 1000 }), 0);
	});
});

describe('MovingAverage', () => {
	it('is 0 with no samples', () => {
		assert.equal(new MovingAverage(5).value, 0);
	});

	it('is the mean of the samples so far while fewer than size', () => {
		const avg = new MovingAverage(5);
		avg.push(1);
		assert.equal(avg.value, 1);
		avg.push(0);
		assert.equal(avg.value, 0.5);
		avg.push(0.5);
		assert.equal(avg.value, 0.5);
	});

	it('keeps only the last `size` samples', () => {
		const avg = new MovingAverage(3);
		for (const sample of [10, 10, 10, 1, 2, 3]) avg.push(sample);
		assert.equal(avg.value, 2);
		avg.push(6);
		assert.equal(avg.value, (2 + 3 + 6) / 3);
	});

	it('size 1 follows the latest sample', () => {
		const avg = new MovingAverage(1);
		for (const sample of [0.3, 0.9, 0.1]) {
			avg.push(sample);
			assert.equal(avg.value, sample);
		}
	});

	it('reset forgets every sample', () => {
		const avg = new MovingAverage(4);
		avg.push(0.8);
		avg.push(0.6);
		avg.reset();
		assert.equal(avg.value, 0);
		avg.push(0.2);
		assert.equal(avg.value, 0.2);
	});

	it('a long run stays bounded to the window', () => {
		const avg = new MovingAverage(5);
		for (let i = 0; i < 1000; i++) avg.push(i % 2);
		// Last five samples: i = 995..999 -> 1, 0, 1, 0, 1.
		assert.equal(avg.value, 3 / 5);
	});
});
