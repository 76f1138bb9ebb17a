import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DEFAULT_RESPAWN_POLICY, decideRespawn, type RespawnPolicy } from '../../src/services/workers/respawnPolicy.ts';

const NOW = 1_700_000_000_000;

describe('DEFAULT_RESPAWN_POLICY', () => {
	it('is 5 deaths per 60 s, 100 ms doubling up to 5 s', () => {
		assert.deepEqual(DEFAULT_RESPAWN_POLICY, { maxDeaths: 5, windowMs: 60_000, baseDelayMs: 100, maxDelayMs: 5_000 });
	});
});

describe('decideRespawn', () => {
	it('respawns after the first death with the base delay', () => {
		assert.deepEqual(decideRespawn([NOW], NOW, DEFAULT_RESPAWN_POLICY), { respawn: true, delayMs: 100 });
	});

	it('with no recorded deaths still respawns with the base delay', () => {
		assert.deepEqual(decideRespawn([], NOW, DEFAULT_RESPAWN_POLICY), { respawn: true, delayMs: 100 });
	});

	it('doubles the delay with each recent death', () => {
		const delays: number[] = [];
		const deaths: number[] = [];
		for (let i = 0; i < 4; i++) {
			deaths.push(NOW - 4000 + i * 1000);
			const decision = decideRespawn(deaths, NOW, DEFAULT_RESPAWN_POLICY);
			assert.equal(decision.respawn, true);
			if (decision.respawn) delays.push(decision.delayMs);
		}
		assert.deepEqual(delays, [100, 200, 400, 800]);
	});

	it('gives up at 5 deaths within 60 s', () => {
		const deaths = [NOW - 50_000, NOW - 40_000, NOW - 30_000, NOW - 1, NOW];
		assert.deepEqual(decideRespawn(deaths, NOW, DEFAULT_RESPAWN_POLICY), { respawn: false });
	});

	it('gives up at 5 deaths in the same millisecond, and at more than 5', () => {
		assert.deepEqual(decideRespawn([NOW, NOW, NOW, NOW, NOW], NOW, DEFAULT_RESPAWN_POLICY), { respawn: false });
		const many = Array.from({ length: 20 }, (_, i) => NOW - i * 100);
		assert.deepEqual(decideRespawn(many, NOW, DEFAULT_RESPAWN_POLICY), { respawn: false });
	});

	it('deaths older than the window do not count', () => {
		// Deaths exactly 60 s ago are outside the window.
		const deaths = [NOW - 120_000, NOW - 90_000, NOW - 60_000, NOW - 60_000, NOW];
		assert.deepEqual(decideRespawn(deaths, NOW, DEFAULT_RESPAWN_POLICY), { respawn: true, delayMs: 100 });
	});

	it('a death 1 ms inside the window counts', () => {
		const deaths = [NOW - 59_999, NOW - 59_999, NOW - 59_999, NOW - 59_999, NOW];
		assert.deepEqual(decideRespawn(deaths, NOW, DEFAULT_RESPAWN_POLICY), { respawn: false });
	});

	it('5 deaths spread over more than 60 s keep respawning', () => {
		// Only the last three are within the window: the delay is for the third recent death.
		const deaths = [NOW - 80_000, NOW - 60_000, NOW - 40_000, NOW - 20_000, NOW];
		assert.deepEqual(decideRespawn(deaths, NOW, DEFAULT_RESPAWN_POLICY), { respawn: true, delayMs: 400 });
	});

	it('caps the delay at maxDelayMs', () => {
		const policy: RespawnPolicy = { maxDeaths: 100, windowMs: 60_000, baseDelayMs: 100, maxDelayMs: 5_000 };
		const expected = [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000, 5000, 5000];
		const actual = expected.map((_, i) => {
			const deaths = Array.from({ length: i + 1 }, () => NOW);
			const decision = decideRespawn(deaths, NOW, policy);
			assert.equal(decision.respawn, true);
			return decision.respawn ? decision.delayMs : -1;
		});
		assert.deepEqual(actual, expected);
	});

	it('the cap holds for very many deaths (no Infinity or NaN)', () => {
		const policy: RespawnPolicy = { maxDeaths: 10_000, windowMs: 60_000, baseDelayMs: 100, maxDelayMs: 5_000 };
		const deaths = Array.from({ length: 5000 }, () => NOW);
		assert.deepEqual(decideRespawn(deaths, NOW, policy), { respawn: true, delayMs: 5000 });
	});

	it('follows a custom policy', () => {
		const policy: RespawnPolicy = { maxDeaths: 2, windowMs: 1000, baseDelayMs: 10, maxDelayMs: 15 };
		assert.deepEqual(decideRespawn([NOW], NOW, policy), { respawn: true, delayMs: 10 });
		assert.deepEqual(decideRespawn([NOW - 999, NOW], NOW, policy), { respawn: false });
		assert.deepEqual(decideRespawn([NOW - 1000, NOW], NOW, policy), { respawn: true, delayMs: 10 });
	});
});
