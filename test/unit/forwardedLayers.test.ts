import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { countForwardedLayers, forwardedLayerLabel } from '../../src/metrics/layers.ts';
import type { ConsumerLayerState } from '../../src/protocol/messages.ts';

function consumer(overrides: Partial<ConsumerLayerState> = {}): ConsumerLayerState {
	return {
		consumerId: 'c',
		producerId: 'p',
		kind: 'video',
		type: 'simulcast',
		paused: false,
		producerPaused: false,
		currentLayers: { spatialLayer: 0, temporalLayer: 2 },
		preferredLayers: { spatialLayer: 2, temporalLayer: 2 },
		priority: 1,
		score: 10,
		...overrides,
	};
}

describe('forwarded layer labels (bounded)', () => {
	it('names the spatial layer forwarded, 3 and above together', () => {
		for (const [spatialLayer, label] of [[0, '0'], [1, '1'], [2, '2'], [3, '3+'], [9, '3+']] as const) {
			assert.equal(forwardedLayerLabel(consumer({ currentLayers: { spatialLayer, temporalLayer: null } })), label);
		}
	});

	it('is none when nothing is forwarded: no layer, paused by the subscriber or by the publisher', () => {
		assert.equal(forwardedLayerLabel(consumer({ currentLayers: null })), 'none');
		assert.equal(forwardedLayerLabel(consumer({ paused: true })), 'none');
		assert.equal(forwardedLayerLabel(consumer({ producerPaused: true })), 'none');
	});

	it('counts only video consumers with layers, and reports every label', () => {
		const counts = countForwardedLayers([
			consumer(),
			consumer({ currentLayers: { spatialLayer: 2, temporalLayer: 0 } }),
			consumer({ type: 'svc', currentLayers: { spatialLayer: 2, temporalLayer: 0 } }),
			consumer({ paused: true }),
			consumer({ type: 'simple', currentLayers: null }),
			consumer({ kind: 'audio', type: 'simple', currentLayers: null }),
		]);
		assert.deepEqual(counts, { '0': 1, '1': 0, '2': 2, '3+': 0, none: 1 });
		assert.deepEqual(countForwardedLayers([]), { '0': 0, '1': 0, '2': 0, '3+': 0, none: 0 });
	});
});
