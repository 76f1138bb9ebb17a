import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { peersForLoad } from '../../bench/spreadRoom.ts';

describe('peersForLoad (where the spread-room ramp starts)', () => {
	it('solves N(N - 1) x packets per subscriber = packets/s over the workers', () => {
		// 14 peers: 182 subscriber pairs x 176 pkt/s = 32,032 pkt/s on one worker.
		assert.equal(peersForLoad(32_032, 1, 176), 14);
		// Two workers carry twice the pairs: 364 pairs -> 19.6, rounded to 20.
		assert.equal(peersForLoad(32_032, 2, 176), 20);
	});

	it('never plans a room of fewer than 2 peers', () => {
		assert.equal(peersForLoad(0, 1, 176), 2);
		assert.equal(peersForLoad(100, 1, 176), 2);
	});
});
