import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { MIN_TRANSPORT_OUTGOING_BITRATE, outgoingBitrateShare } from '../../src/limits/outgoingBitrate.ts';

describe('outgoingBitrateShare', () => {
	it('splits the cap evenly over the receive transports, never below the floor', () => {
		assert.equal(outgoingBitrateShare(100_000_000, 0), 100_000_000);
		assert.equal(outgoingBitrateShare(100_000_000, 1), 100_000_000);
		assert.equal(outgoingBitrateShare(100_000_000, 3), 33_333_333);
		assert.equal(outgoingBitrateShare(300_000, 4), MIN_TRANSPORT_OUTGOING_BITRATE);
		for (let n = 1; n <= 8; n++) assert.ok(outgoingBitrateShare(10_000_000, n) * n <= 10_000_000);
	});
});
