import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { bracket, nextRampStep, type RampPlan, type Tried } from '../../bench/rampPlan.ts';

const plan: RampPlan = { start: 40, stride: 1.2, maxStrides: 3, bisections: 2, resolution: 0.03 };
const step = (load: number, good: boolean): Tried => ({ load, good });

describe('nextRampStep', () => {
	it('starts at the planned step', () => {
		assert.equal(nextRampStep([], plan), 40);
		assert.equal(nextRampStep([], { ...plan, start: 0.2 }), 1);
	});

	it('strides up while every step is carried, and gives up after maxStrides', () => {
		assert.equal(nextRampStep([step(40, true)], plan), 48);
		assert.equal(nextRampStep([step(40, true), step(48, true), step(58, true)], plan), 70);
		assert.equal(nextRampStep([step(40, true), step(48, true), step(58, true), step(70, true)], plan), undefined);
	});

	it('strides down while every step fails', () => {
		assert.equal(nextRampStep([step(40, false)], plan), 33);
		assert.equal(nextRampStep([step(1, false)], plan), undefined);
	});

	it('bisects between the highest carried and the lowest failed step', () => {
		assert.equal(nextRampStep([step(40, true), step(48, false)], plan), 44);
		assert.equal(nextRampStep([step(40, true), step(48, false), step(44, true)], plan), 46);
	});

	it('stops after the planned bisections or once the bracket is within the resolution', () => {
		assert.equal(nextRampStep([step(40, true), step(48, false), step(44, true), step(46, false)], plan), undefined);
		assert.equal(nextRampStep([step(100, true), step(102, false)], plan), undefined);
		assert.equal(nextRampStep([step(4, true), step(5, false)], plan), undefined);
	});
});

describe('bracket', () => {
	it('ignores carried steps above the lowest failed one (noise)', () => {
		assert.deepEqual(bracket([step(40, true), step(48, false), step(52, true)]), { lo: 40, hi: 48 });
		assert.deepEqual(bracket([step(40, true)]), { lo: 40, hi: undefined });
		assert.deepEqual(bracket([step(40, false)]), { lo: undefined, hi: 40 });
	});
});
