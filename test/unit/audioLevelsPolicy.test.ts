import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decideLevels, normalizeLevels } from '../../src/services/rooms/audioLevelsPolicy.ts';

const policy = { minIntervalMs: 1000, minChangeDb: 3 };

describe('normalizeLevels', () => {
	it('keeps each peer’s loudest producer, whole dBov within -127..0, ordered by peerId', () => {
		assert.deepEqual(
			normalizeLevels([
				{ peerId: 'b', volume: -40.4 },
				{ peerId: 'a', volume: -200 },
				{ peerId: 'b', volume: -20.6 },
				{ peerId: 'c', volume: 5 },
			]),
			[
				{ peerId: 'a', volume: -127 },
				{ peerId: 'b', volume: -21 },
				{ peerId: 'c', volume: 0 },
			],
		);
	});
});

describe('normalizeLevels order', () => {
	it('orders by peerId whatever the reading order', () => {
		const ids = ['d', 'a', 'c', 'b'];
		for (const start of [0, 1, 2, 3]) {
			const readings = [...ids.slice(start), ...ids.slice(0, start)].map((peerId) => ({ peerId, volume: -10 }));
			assert.deepEqual(normalizeLevels(readings).map((l) => l.peerId), ['a', 'b', 'c', 'd']);
		}
	});
});

describe('decideLevels', () => {
	const last = { at: 10_000, levels: [{ peerId: 'a', volume: -30 }] };
	const send = (levels: { peerId: string; volume: number }[]) => ({ action: 'send', levels });
	const none = { action: 'none' };

	it('sends the first non-empty reading at once, nothing for a silent start', () => {
		assert.deepEqual(decideLevels(undefined, [{ peerId: 'a', volume: -30 }], 0, policy), send([{ peerId: 'a', volume: -30 }]));
		assert.deepEqual(decideLevels(undefined, [], 0, policy), none);
	});

	it('within minIntervalMs of the last send, a change waits for the rest of the interval', () => {
		const louder = [{ peerId: 'a', volume: -10 }];
		assert.deepEqual(decideLevels(last, louder, 10_001, policy), { action: 'wait', ms: 999 });
		assert.deepEqual(decideLevels(last, louder, 10_999, policy), { action: 'wait', ms: 1 });
		assert.deepEqual(decideLevels(last, louder, 11_000, policy), send(louder));
	});

	it('no change is nothing to send, however long ago the last send was', () => {
		assert.deepEqual(decideLevels(last, [{ peerId: 'a', volume: -30.4 }], 10_001, policy), none);
		assert.deepEqual(decideLevels(last, [{ peerId: 'a', volume: -30 }], 99_000, policy), none);
	});

	it('sends when a change reaches minChangeDb, not below it', () => {
		assert.deepEqual(decideLevels(last, [{ peerId: 'a', volume: -32 }], 20_000, policy), none);
		assert.deepEqual(decideLevels(last, [{ peerId: 'a', volume: -33 }], 20_000, policy), send([{ peerId: 'a', volume: -33 }]));
		assert.deepEqual(decideLevels(last, [{ peerId: 'a', volume: -27 }], 20_000, policy), send([{ peerId: 'a', volume: -27 }]));
	});

	it('sends when someone starts or stops being heard, or another peer takes the place', () => {
		assert.deepEqual(decideLevels(last, [], 20_000, policy), send([]));
		const two = [{ peerId: 'a', volume: -30 }, { peerId: 'b', volume: -50 }];
		assert.deepEqual(decideLevels(last, two, 20_000, policy), send(two));
		assert.deepEqual(decideLevels(last, [{ peerId: 'b', volume: -30 }], 20_000, policy), send([{ peerId: 'b', volume: -30 }]));
	});

	it('stays quiet for an unchanged silent room', () => {
		assert.deepEqual(decideLevels({ at: 0, levels: [] }, [], 20_000, policy), none);
	});
});
