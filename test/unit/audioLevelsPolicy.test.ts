import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { levelsToSend, normalizeLevels } from '../../src/services/rooms/audioLevelsPolicy.ts';

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

describe('levelsToSend', () => {
	const last = { at: 10_000, levels: [{ peerId: 'a', volume: -30 }] };

	it('sends the first non-empty reading at once, nothing for a silent start', () => {
		assert.deepEqual(levelsToSend(undefined, [{ peerId: 'a', volume: -30 }], 0, policy), [{ peerId: 'a', volume: -30 }]);
		assert.equal(levelsToSend(undefined, [], 0, policy), undefined);
	});

	it('waits minIntervalMs after the last send, then sends a change', () => {
		const louder = [{ peerId: 'a', volume: -10 }];
		assert.equal(levelsToSend(last, louder, 10_999, policy), undefined);
		assert.deepEqual(levelsToSend(last, louder, 11_000, policy), louder);
	});

	it('sends when a change reaches minChangeDb, not below it', () => {
		assert.equal(levelsToSend(last, [{ peerId: 'a', volume: -32 }], 20_000, policy), undefined);
		assert.deepEqual(levelsToSend(last, [{ peerId: 'a', volume: -33 }], 20_000, policy), [{ peerId: 'a', volume: -33 }]);
		assert.deepEqual(levelsToSend(last, [{ peerId: 'a', volume: -27 }], 20_000, policy), [{ peerId: 'a', volume: -27 }]);
	});

	it('sends when someone starts or stops being heard, or another peer takes the place', () => {
		assert.deepEqual(levelsToSend(last, [], 20_000, policy), []);
		const two = [{ peerId: 'a', volume: -30 }, { peerId: 'b', volume: -50 }];
		assert.deepEqual(levelsToSend(last, two, 20_000, policy), two);
		assert.deepEqual(levelsToSend(last, [{ peerId: 'b', volume: -30 }], 20_000, policy), [{ peerId: 'b', volume: -30 }]);
	});

	it('stays quiet for an unchanged silent room', () => {
		assert.equal(levelsToSend({ at: 0, levels: [] }, [], 20_000, policy), undefined);
	});
});
