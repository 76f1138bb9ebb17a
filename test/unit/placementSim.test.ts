// The bench's placement simulation: deterministic, spreading simulated at
// the configured ROOM_SPREAD_CPU default and at every threshold of the sweep,
// and pipe streams counted only where rooms spread.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { runPlacementSim, type SimParams } from '../../bench/placementSim.ts';
import { DEFAULT_ROOM_SPREAD_CPU } from '../../src/config.ts';

const params: SimParams = {
	workers: 3,
	targetUtilization: 0.4,
	seconds: 4 * 3600,
	seed: 7,
	usPerPacket: 12.6,
	packetsPerConsumer: 88,
	paretoAlpha: 2,
	minPeers: 2,
	maxPeers: 20,
	meanLifetimeS: 1200,
	cpuSimilarThreshold: 0.1,
	spreadSweep: [0.7, 0.3, DEFAULT_ROOM_SPREAD_CPU],
};

describe('placement simulation', () => {
	const result = runPlacementSim(params);

	it('gives the same figures for the same parameters', () => {
		assert.deepEqual(runPlacementSim(params), result);
	});

	it('simulates spreading at the configured default and at each threshold of the sweep once, ascending', () => {
		assert.equal(result.roomSpreadCpu, DEFAULT_ROOM_SPREAD_CPU);
		assert.deepEqual(
			result.spreadSweep.map((r) => r.roomSpreadCpu),
			[0.3, DEFAULT_ROOM_SPREAD_CPU, 0.7].sort((a, b) => a - b),
		);
		const spreading = result.policies.find((r) => r.policy === 'tureen, spreading');
		assert.deepEqual(spreading, result.spreadSweep.find((r) => r.roomSpreadCpu === DEFAULT_ROOM_SPREAD_CPU));
		assert.equal(runPlacementSim({ ...params, roomSpreadCpu: 0.45 }).roomSpreadCpu, 0.45);
	});

	it('counts pipe streams only where rooms spread, and more of them at a lower threshold', () => {
		for (const r of result.policies.filter((x) => x.policy !== 'tureen, spreading')) assert.equal(r.pipeCpuShare, 0, r.policy);
		const [low, , high] = result.spreadSweep;
		assert.ok(high!.pipeCpuShare > 0, 'rooms spread even at the highest threshold');
		assert.ok(low!.pipeCpuShare > high!.pipeCpuShare);
		assert.ok(low!.pipeCpuShare < 1);
	});
});
