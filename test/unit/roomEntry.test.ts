import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { REHOME_ATTEMPTS } from '../../client/nodeRoute.ts';
import { entryRoutes } from '../../client/roomEntry.ts';

const GIVEN = 'ws://lb/ws';

describe('entryRoutes: where each try into the room goes', () => {
	it('a first join tries the URL the app gave, once', () => {
		assert.deepEqual(entryRoutes({ kind: 'join' }, GIVEN, ['ws://b/ws']), [{ via: 'newSocket', url: GIVEN }]);
	});

	it('a room move stays on the socket it has (the peer is still joined)', () => {
		assert.deepEqual(entryRoutes({ kind: 'moved', workerId: 2, reason: 'worker-died' }, GIVEN, ['ws://b/ws']), [{ via: 'sameSocket' }]);
	});

	it('a rehome goes round the suggested node, the given URL and the alternates, REHOME_ATTEMPTS times', () => {
		const routes = entryRoutes({ kind: 'rehome', reason: 'server draining', preferredUrl: 'ws://c/ws' }, GIVEN, ['ws://b/ws', 'ws://c/ws']);
		assert.equal(routes.length, REHOME_ATTEMPTS);
		const urls = routes.map((route) => (route.via === 'newSocket' ? route.url : 'same socket'));
		assert.deepEqual(urls.slice(0, 4), ['ws://c/ws', GIVEN, 'ws://b/ws', 'ws://c/ws']);
	});

	it('a rehome with no suggestion and no alternates keeps trying the given URL', () => {
		const routes = entryRoutes({ kind: 'rehome', reason: 'connection lost' }, GIVEN, []);
		assert.ok(routes.every((route) => route.via === 'newSocket' && route.url === GIVEN));
	});
});
