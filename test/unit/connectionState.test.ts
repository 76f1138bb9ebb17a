import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { connectionStateOf } from '../../client/connectionState.ts';

describe('connectionStateOf (client)', () => {
	it('closed once signalling is gone, whatever the transports say', () => {
		assert.equal(connectionStateOf(false, ['connected']), 'closed');
		assert.equal(connectionStateOf(false, []), 'closed');
	});

	it('failed beats reconnecting beats connecting', () => {
		assert.equal(connectionStateOf(true, ['connected', 'disconnected', 'failed']), 'failed');
		assert.equal(connectionStateOf(true, ['connected', 'disconnected', 'new']), 'reconnecting');
		assert.equal(connectionStateOf(true, ['connected', 'connecting']), 'connecting');
	});

	it('connected only when there is a transport and all are connected', () => {
		assert.equal(connectionStateOf(true, []), 'connecting');
		assert.equal(connectionStateOf(true, ['new']), 'connecting');
		assert.equal(connectionStateOf(true, ['connected']), 'connected');
		assert.equal(connectionStateOf(true, ['connected', 'connected']), 'connected');
	});
});
