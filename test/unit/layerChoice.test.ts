import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
	chooseLayer,
	layerWidths,
	shownWidth,
	topWidthFromDecoded,
	type ElementView,
	type StreamView,
} from '../../client/layerChoice.ts';

const SCALES = [4, 2, 1];
const HD: StreamView = { spatialLayers: 3, topWidth: 1280, aspect: 16 / 9, scales: SCALES };
const view = (boxWidth: number, boxHeight: number, overrides: Partial<ElementView> = {}): ElementView => ({
	visible: true,
	boxWidth,
	boxHeight,
	devicePixelRatio: 1,
	cover: false,
	...overrides,
});

describe('layerWidths', () => {
	it('divides the top width by each scale, smallest first', () => {
		assert.deepEqual(layerWidths(HD), [320, 640, 1280]);
	});

	it('keeps the top scales when the consumer has fewer layers', () => {
		assert.deepEqual(layerWidths({ ...HD, spatialLayers: 2 }), [640, 1280]);
		assert.deepEqual(layerWidths({ ...HD, spatialLayers: 1 }), [1280]);
	});
});

describe('shownWidth', () => {
	it('letterboxes (contain): a box taller than the video shows its full width', () => {
		assert.equal(shownWidth(view(320, 400), 16 / 9), 320);
	});

	it('letterboxes (contain): a box wider than the video shows height x aspect', () => {
		assert.equal(shownWidth(view(1000, 180), 16 / 9), 320);
	});

	it('cover fills the wider of the two', () => {
		assert.equal(shownWidth(view(100, 180, { cover: true }), 16 / 9), 320);
		assert.equal(shownWidth(view(400, 180, { cover: true }), 16 / 9), 400);
	});

	it('counts device pixels', () => {
		assert.equal(shownWidth(view(320, 180, { devicePixelRatio: 2 }), 16 / 9), 640);
	});
});

describe('chooseLayer', () => {
	it('pauses a hidden element', () => {
		assert.deepEqual(chooseLayer(view(1280, 720, { visible: false }), HD), { paused: true });
	});

	it('pauses an element with an empty box (display: none)', () => {
		assert.deepEqual(chooseLayer(view(0, 0), HD), { paused: true });
		assert.deepEqual(chooseLayer(view(320, 0), HD), { paused: true });
		assert.deepEqual(chooseLayer(view(0, 180), HD), { paused: true });
	});

	it('a thumbnail gets the smallest layer', () => {
		assert.deepEqual(chooseLayer(view(320, 180), HD), { paused: false, spatialLayer: 0 });
		assert.deepEqual(chooseLayer(view(160, 90), HD), { paused: false, spatialLayer: 0 });
	});

	it('one pixel wider than a layer needs the next one', () => {
		assert.deepEqual(chooseLayer(view(321, 400), HD), { paused: false, spatialLayer: 1 });
		assert.deepEqual(chooseLayer(view(641, 400), HD), { paused: false, spatialLayer: 2 });
	});

	it('a box exactly a layer wide takes that layer', () => {
		assert.deepEqual(chooseLayer(view(640, 360), HD), { paused: false, spatialLayer: 1 });
	});

	it('wider than the top layer still gets the top layer', () => {
		assert.deepEqual(chooseLayer(view(1920, 1080), HD), { paused: false, spatialLayer: 2 });
	});

	it('a high-DPI thumbnail needs more pixels', () => {
		assert.deepEqual(chooseLayer(view(320, 180, { devicePixelRatio: 2 }), HD), { paused: false, spatialLayer: 1 });
	});

	it('a wide, short box letterboxes to a small layer', () => {
		assert.deepEqual(chooseLayer(view(1200, 180), HD), { paused: false, spatialLayer: 0 });
	});

	it('a single-layer stream is always layer 0 when shown', () => {
		assert.deepEqual(chooseLayer(view(1280, 720), { ...HD, spatialLayers: 1 }), { paused: false, spatialLayer: 0 });
	});

	it('a smaller publisher (640 wide) serves a 320 box from its middle layer', () => {
		assert.deepEqual(chooseLayer(view(320, 180), { ...HD, topWidth: 640 }), { paused: false, spatialLayer: 1 });
	});
});

describe('topWidthFromDecoded', () => {
	it('scales the decoded width up by the current layer\'s divisor', () => {
		assert.equal(topWidthFromDecoded(320, 0, 3, SCALES), 1280);
		assert.equal(topWidthFromDecoded(640, 1, 3, SCALES), 1280);
		assert.equal(topWidthFromDecoded(1280, 2, 3, SCALES), 1280);
	});

	it('uses the top scales when the consumer has fewer layers', () => {
		assert.equal(topWidthFromDecoded(320, 0, 2, SCALES), 640);
	});

	it('is undefined without a decoded frame or a known layer', () => {
		assert.equal(topWidthFromDecoded(0, 1, 3, SCALES), undefined);
		assert.equal(topWidthFromDecoded(640, undefined, 3, SCALES), undefined);
		assert.equal(topWidthFromDecoded(640, 5, 3, SCALES), undefined);
	});
});
