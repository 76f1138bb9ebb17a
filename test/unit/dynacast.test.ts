import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';

import type { ConsumerWant } from '../../src/services/participants/dynacastPolicy.ts';
import { ProducerDynacast } from '../../src/services/participants/dynacast.ts';

/** A dynacast on a fake clock: `wants` is what the consumers want, `told` what the publisher heard. */
function setup() {
	mock.timers.enable({ apis: ['setTimeout', 'Date'] });
	const state = { wants: [] as ConsumerWant[], told: [] as number[] };
	const dynacast = new ProducerDynacast({
		spatialLayers: 3,
		wants: () => state.wants,
		tell: (layer) => state.told.push(layer),
		holdOffMs: 1000,
	});
	return { state, dynacast, [Symbol.dispose]: () => mock.timers.reset() };
}

describe('ProducerDynacast (mechanism)', () => {
	it('with nobody watching, tells the publisher to keep only layer 0 once the hold-off ends', () => {
		using t = setup();
		t.dynacast.review();
		assert.deepEqual(t.state.told, []);
		mock.timers.tick(999);
		assert.deepEqual(t.state.told, []);
		mock.timers.tick(1);
		assert.deepEqual(t.state.told, [0]);
		assert.equal(t.dynacast.maxSpatialLayer, 0);
	});

	it('raises at once when a consumer wants more, and a drop cancelled within the hold-off is never told', () => {
		using t = setup();
		t.dynacast.review();
		mock.timers.tick(1000);
		t.state.wants = [{ preferredSpatialLayer: 2, paused: false }];
		t.dynacast.review();
		assert.deepEqual(t.state.told, [0, 2]);
		t.state.wants = [{ preferredSpatialLayer: 1, paused: false }];
		t.dynacast.review();
		mock.timers.tick(500);
		t.state.wants = [{ preferredSpatialLayer: 2, paused: false }];
		t.dynacast.review();
		mock.timers.tick(5000);
		assert.deepEqual(t.state.told, [0, 2]);
	});

	it('tells nothing after close', () => {
		using t = setup();
		t.dynacast.review();
		t.dynacast.close();
		mock.timers.tick(5000);
		t.dynacast.review();
		assert.deepEqual(t.state.told, []);
	});
});
