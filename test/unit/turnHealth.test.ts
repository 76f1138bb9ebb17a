import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';

import { HEALTH_CHECK_USER, TurnHealth } from '../../src/services/turn/turnHealth.ts';
import { summarizeTurn } from '../../src/services/turn/turnStatus.ts';

const TURN = { urls: ['turn:a:3478', 'turns:b:443?transport=tcp'], secret: 'health-secret-of-16+', ttlSeconds: 600 };

describe('summarizeTurn', () => {
	it('up when all answer, partial when some, down when none, checking until all are known', () => {
		const up = { url: 'a', state: 'up' as const, rttMs: 1, checkedAt: 0 };
		const down = { url: 'b', state: 'down' as const, error: 'x', checkedAt: 0 };
		assert.equal(summarizeTurn([up, { ...up, url: 'b' }]), 'up');
		assert.equal(summarizeTurn([up, down]), 'partial');
		assert.equal(summarizeTurn([down, { ...down, url: 'a' }]), 'down');
		assert.equal(summarizeTurn([up, { url: 'b', state: 'checking' }]), 'checking');
	});
});

describe('TurnHealth', () => {
	it('checking before the first check; then each URL allocated with credentials minted like a join', async () => {
		const seen: { url: string; username: string; password: string }[] = [];
		const health = new TurnHealth(
			TURN,
			async (url, { username, password }) => {
				seen.push({ url, username, password });
				return url.startsWith('turns') ? { ok: false, url, error: 'no answer' } : { ok: true, url, relayed: undefined, rttMs: 7 };
			},
			() => 1_000_000,
		);
		assert.equal(health.summary, 'checking');
		await health.check();
		assert.deepEqual(seen.map((s) => s.url), TURN.urls);
		for (const { username, password } of seen) {
			assert.equal(username, `${1000 + 600}:${HEALTH_CHECK_USER}`);
			assert.equal(password, createHmac('sha1', TURN.secret).update(username).digest('base64'));
		}
		assert.deepEqual(health.servers, [
			{ url: 'turn:a:3478', state: 'up', rttMs: 7, checkedAt: 1_000_000 },
			{ url: 'turns:b:443?transport=tcp', state: 'down', error: 'no answer', checkedAt: 1_000_000 },
		]);
		assert.equal(health.summary, 'partial');
	});
});
