import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { consumersOf } from '../../src/limits/consumeOnce.ts';

describe('consumersOf', () => {
	const held = [
		{ appData: { transportId: 't1', consumes: 'p1' } },
		{ appData: { transportId: 't2', consumes: 'p1' } },
		{ appData: { transportId: 't1', consumes: 'p2' } },
		{ appData: {} },
	];

	it('counts only consumers of that producer on that transport', () => {
		assert.equal(consumersOf(held, { transportId: 't1', consumes: 'p1' }), 1);
		assert.equal(consumersOf(held, { transportId: 't2', consumes: 'p2' }), 0);
		assert.equal(consumersOf([...held, held[0]!], { transportId: 't1', consumes: 'p1' }), 2);
		assert.equal(consumersOf([], { transportId: 't1', consumes: 'p1' }), 0);
	});
});
