// The bench's placement simulation: deterministic, spreading simulated at
// the configured defaults, at every threshold of the sweep and at each
// comparison setting, and pipe streams counted only where rooms spread.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { runPlacementSim, type SimParams } from '../../bench/placementSim.ts';
import { DEFAULT_ROOM_SPREAD_CPU, DEFAULT_ROOM_SPREAD_MIN_PEERS } from '../../src/config.ts';

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
	spreadCompare: [{ roomSpreadCpu: 0.7, roomSpreadMinPeers: 1 }],
};

describe('placement simulation', () => {
	const result = runPlacementSim(params);

	it('gives the same figures for the same parameters', () => {
		assert.deepEqual(runPlacementSim(params), result);
	});

	it('simulates spreading at the configured defaults, at each threshold of the sweep once, ascending, then at the comparisons', () => {
		assert.equal(result.roomSpreadCpu, DEFAULT_ROOM_SPREAD_CPU);
		assert.equal(result.roomSpreadMinPeers, DEFAULT_ROOM_SPREAD_MIN_PEERS);
		assert.deepEqual(
			result.spreadSweep.map(({ roomSpreadCpu, roomSpreadMinPeers }) => [roomSpreadCpu, roomSpreadMinPeers]),
			[
				...[0.3, DEFAULT_ROOM_SPREAD_CPU, 0.7].sort((a, b) => a - b).map((cpu) => [cpu, DEFAULT_ROOM_SPREAD_MIN_PEERS]),
				[0.7, 1],
			],
		);
		const spreading = result.policies.find((r) => r.policy === 'tureen, spreading');
		assert.deepEqual(spreading, result.spreadSweep.find((r) => r.roomSpreadCpu === DEFAULT_ROOM_SPREAD_CPU));
		const other = runPlacementSim({ ...params, roomSpreadCpu: 0.45, roomSpreadMinPeers: 2 });
		assert.deepEqual([other.roomSpreadCpu, other.roomSpreadMinPeers], [0.45, 2]);
	});

	it('counts pipe streams only where rooms spread, and more of them at a lower threshold', () => {
		for (const r of result.policies.filter((x) => x.policy !== 'tureen, spreading')) assert.equal(r.pipeCpuShare, 0, r.policy);
		const [low, , high, noMinimum] = result.spreadSweep;
		assert.ok(high!.pipeCpuShare > 0, 'rooms spread even at the highest threshold');
		assert.ok(low!.pipeCpuShare > high!.pipeCpuShare);
		assert.ok(low!.pipeCpuShare < 1);
		assert.ok(noMinimum!.pipeCpuShare > high!.pipeCpuShare, 'small rooms spread too without the minimum');
	});
});
