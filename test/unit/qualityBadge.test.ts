import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { qualityBadge } from '../../client/demo/quality.ts';

describe('qualityBadge (demo tiles)', () => {
	const base = { frameHeight: 720, framesPerSecond: 30, packetsLost: 0, packetsReceived: 1000 };

	it('shows nothing before a frame was decoded', () => {
		assert.equal(qualityBadge({ framesPerSecond: 30 }), undefined);
		assert.equal(qualityBadge({ ...base, frameHeight: 0 }), undefined);
	});

	it('good: no loss, smooth, at least 360p', () => {
		assert.deepEqual(qualityBadge(base), { text: '720p', level: 'good', title: '720p · 30 fps · 0.0% loss' });
		assert.equal(qualityBadge({ ...base, frameHeight: 360, framesPerSecond: 20 })?.level, 'good');
	});

	it('fair: small picture, under 20 fps, or over 1% loss in the interval', () => {
		assert.equal(qualityBadge({ ...base, frameHeight: 359 })?.level, 'fair');
		assert.equal(qualityBadge({ ...base, framesPerSecond: 19 })?.level, 'fair');
		const before = { packetsLost: 10, packetsReceived: 900 };
		assert.equal(qualityBadge({ ...base, packetsLost: 12, packetsReceived: 1000 }, before)?.level, 'fair'); // 2 of 102
		assert.equal(qualityBadge({ ...base, packetsLost: 11, packetsReceived: 1000 }, before)?.level, 'good'); // 1 of 101
	});

	it('poor: under 10 fps or over 5% loss in the interval, whatever the size', () => {
		assert.equal(qualityBadge({ ...base, framesPerSecond: 9 })?.level, 'poor');
		const badge = qualityBadge({ ...base, packetsLost: 6, packetsReceived: 1094 }, { packetsLost: 0, packetsReceived: 1000 });
		assert.deepEqual(badge, { text: '720p', level: 'poor', title: '720p · 30 fps · 6.0% loss' });
	});

	it('the thresholds themselves are the better side: 5% loss or 10 fps is fair, 1% loss is good', () => {
		const interval = { packetsLost: 0, packetsReceived: 0 };
		assert.equal(qualityBadge({ ...base, packetsLost: 5, packetsReceived: 95 }, interval)?.level, 'fair');
		assert.equal(qualityBadge({ ...base, framesPerSecond: 10 })?.level, 'fair');
		assert.equal(qualityBadge({ ...base, packetsLost: 1, packetsReceived: 99 }, interval)?.level, 'good');
		assert.equal(qualityBadge({ ...base, packetsLost: 0, packetsReceived: 0 }, interval)?.level, 'good', 'no packets in the interval is no loss');
	});

	it('counts only the interval: old loss does not count again', () => {
		assert.equal(qualityBadge({ ...base, packetsLost: 500 }, { packetsLost: 500, packetsReceived: 0 })?.level, 'good');
	});

	it('shows the round-trip time in the title when the transport has one, without changing the level', () => {
		const badge = qualityBadge({ ...base, roundTripTime: 0.0424 });
		assert.match(badge?.title ?? '', / · 42 ms RTT$/);
		assert.equal(badge?.level, qualityBadge(base)?.level);
		assert.doesNotMatch(qualityBadge(base)?.title ?? '', /RTT/);
	});
});
