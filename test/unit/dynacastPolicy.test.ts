import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
	decideDynacast,
	initialDynacastState,
	wantedSpatialLayer,
	type ConsumerWant,
	type DynacastState,
} from '../../src/services/participants/dynacastPolicy.ts';

const HOLD = { holdOffMs: 1000 };
const want = (preferredSpatialLayer: number, paused = false): ConsumerWant => ({ preferredSpatialLayer, paused });
const at = (maxSpatialLayer: number, lowerSince?: number): DynacastState => ({ maxSpatialLayer, lowerSince });

describe('wantedSpatialLayer', () => {
	it('is 0 with no consumers (the smallest layer stays on for newcomers)', () => {
		assert.equal(wantedSpatialLayer([], 3), 0);
	});

	it('is 0 when every consumer is paused by its subscriber, whatever they prefer', () => {
		assert.equal(wantedSpatialLayer([want(2, true), want(1, true)], 3), 0);
	});

	it('is the highest preference among live consumers', () => {
		assert.equal(wantedSpatialLayer([want(0), want(1), want(0)], 3), 1);
		assert.equal(wantedSpatialLayer([want(0), want(2), want(1)], 3), 2);
	});

	it('ignores a paused consumer that prefers more than the live ones', () => {
		assert.equal(wantedSpatialLayer([want(2, true), want(1)], 3), 1);
	});

	it('clamps preferences above the producer\'s top layer', () => {
		assert.equal(wantedSpatialLayer([want(7)], 3), 2);
		assert.equal(wantedSpatialLayer([want(2)], 2), 1);
	});

	it('clamps negative and fractional preferences into range', () => {
		assert.equal(wantedSpatialLayer([want(-3)], 3), 0);
		assert.equal(wantedSpatialLayer([want(1.7)], 3), 1);
	});

	it('is 0 for a producer of one layer (or none reported)', () => {
		assert.equal(wantedSpatialLayer([want(2)], 1), 0);
		assert.equal(wantedSpatialLayer([want(2)], 0), 0);
	});
});

describe('initialDynacastState', () => {
	it('starts at the top layer with nothing pending', () => {
		assert.deepEqual(initialDynacastState(3), at(2));
		assert.deepEqual(initialDynacastState(1), at(0));
		assert.deepEqual(initialDynacastState(0), at(0));
	});
});

describe('decideDynacast: raising', () => {
	it('raises at once when a consumer wants more', () => {
		const d = decideDynacast([want(2)], 3, at(0), 5000, HOLD);
		assert.deepEqual(d, { state: at(2), changed: true, recheckAt: undefined });
	});

	it('raises at once even while a drop is pending, and cancels it', () => {
		const d = decideDynacast([want(2)], 3, at(1, 4500), 5000, HOLD);
		assert.deepEqual(d, { state: at(2), changed: true, recheckAt: undefined });
	});

	it('a want equal to the current layer cancels a pending drop without a change', () => {
		const d = decideDynacast([want(1)], 3, at(1, 4500), 5000, HOLD);
		assert.deepEqual(d, { state: at(1), changed: false, recheckAt: undefined });
	});

	it('stays put, unchanged, when wants match the current layer', () => {
		assert.deepEqual(decideDynacast([want(2), want(0)], 3, at(2), 0, HOLD), {
			state: at(2),
			changed: false,
			recheckAt: undefined,
		});
	});
});

describe('decideDynacast: lowering waits for the hold-off', () => {
	it('starts the hold-off when wants first drop, and asks to be checked when it ends', () => {
		const d = decideDynacast([want(0)], 3, at(2), 5000, HOLD);
		assert.deepEqual(d, { state: at(2, 5000), changed: false, recheckAt: 6000 });
	});

	it('keeps the original start while the lower want persists', () => {
		const d = decideDynacast([want(0)], 3, at(2, 5000), 5600, HOLD);
		assert.deepEqual(d, { state: at(2, 5000), changed: false, recheckAt: 6000 });
	});

	it('just before the hold-off ends, still no change', () => {
		const d = decideDynacast([want(0)], 3, at(2, 5000), 5999, HOLD);
		assert.equal(d.changed, false);
		assert.equal(d.state.maxSpatialLayer, 2);
	});

	it('lowers exactly when the hold-off has elapsed', () => {
		const d = decideDynacast([want(0)], 3, at(2, 5000), 6000, HOLD);
		assert.deepEqual(d, { state: at(0), changed: true, recheckAt: undefined });
	});

	it('lowers to the latest want, not to the want that started the hold-off', () => {
		// Wants went 2 -> 1 at 5000, then 1 -> 0 before 6000: drop straight to 0 at 6000.
		const d = decideDynacast([want(0)], 3, at(2, 5000), 6000, HOLD);
		assert.equal(d.state.maxSpatialLayer, 0);
		const partial = decideDynacast([want(1)], 3, at(2, 5000), 6000, HOLD);
		assert.equal(partial.state.maxSpatialLayer, 1);
	});

	it('a flapping resize (down, back up within the hold-off) never tells the publisher', () => {
		let state = initialDynacastState(3);
		let told = 0;
		const wants = [want(0), want(2), want(0), want(2), want(0), want(2)];
		wants.forEach((w, i) => {
			const d = decideDynacast([w], 3, state, 1000 + i * 300, HOLD);
			state = d.state;
			if (d.changed) told++;
		});
		assert.equal(told, 0);
		assert.equal(state.maxSpatialLayer, 2);
	});

	it('everyone pausing lowers to layer 0 after the hold-off', () => {
		const first = decideDynacast([want(2, true)], 3, at(2), 0, HOLD);
		assert.deepEqual(first, { state: at(2, 0), changed: false, recheckAt: 1000 });
		const later = decideDynacast([want(2, true)], 3, first.state, 1000, HOLD);
		assert.deepEqual(later, { state: at(0), changed: true, recheckAt: undefined });
	});

	it('the last consumer leaving lowers to layer 0 after the hold-off', () => {
		const d = decideDynacast([], 3, at(1, 0), 1000, HOLD);
		assert.deepEqual(d, { state: at(0), changed: true, recheckAt: undefined });
	});

	it('a zero hold-off lowers at once', () => {
		const d = decideDynacast([want(1)], 3, at(2), 42, { holdOffMs: 0 });
		assert.deepEqual(d, { state: at(1), changed: true, recheckAt: undefined });
	});

	it('a previous layer above the producer\'s layers comes down to its top after the hold-off', () => {
		const d = decideDynacast([want(5)], 2, at(2), 0, HOLD);
		assert.deepEqual(d, { state: at(2, 0), changed: false, recheckAt: 1000 });
		assert.deepEqual(decideDynacast([want(5)], 2, d.state, 1000, HOLD).state, at(1));
	});
});
