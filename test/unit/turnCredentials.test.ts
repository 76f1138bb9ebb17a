import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';

import { mintIceServer, turnExpiry, turnPassword, turnUsername } from '../../src/services/turn/credentials.ts';

const SETTINGS = { urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:443?transport=tcp'], secret: 'north-wind-turn-secret', ttlSeconds: 3600 };

describe('TURN REST API credentials', () => {
	it('password: HMAC-SHA1 known answer (RFC 2202 test case 2: key "Jefe")', () => {
		// HMAC-SHA1("Jefe", "what do ya want for nothing?") = effcdf6ae5eb2fa2d27416d5f184df9c259a7c79
		assert.equal(turnPassword('Jefe', 'what do ya want for nothing?'), Buffer.from('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79', 'hex').toString('base64'));
		assert.equal(turnPassword('Jefe', 'what do ya want for nothing?'), '7/zfauXrL6LSdBbV8YTfnCWafHk=');
	});

	it('password: the value coturn computes for a REST API username', () => {
		// Same computation as coturn's (and the draft's example code), written out with the primitive.
		const username = '1796600000:peer-1';
		assert.equal(turnPassword('s3cret-of-sixteen+', username), createHmac('sha1', 's3cret-of-sixteen+').update(username).digest('base64'));
	});

	it('username: expiry is now + ttl in whole unix seconds, then ":" and the peer id', () => {
		assert.equal(turnUsername('peer-1', 1_796_600_000_999, 3600), '1796603600:peer-1');
		assert.equal(turnUsername('p', 0, 60), '60:p');
		assert.equal(turnExpiry('1796603600:peer-1'), 1796603600);
		assert.equal(turnExpiry('peer-1'), undefined);
	});

	it('mintIceServer: every URL, a username expiring after the TTL, the matching password', () => {
		const now = Date.UTC(2026, 11, 6, 22, 0, 0);
		const server = mintIceServer(SETTINGS, 'abc', now);
		assert.deepEqual(server.urls, SETTINGS.urls);
		assert.equal(server.username, `${now / 1000 + 3600}:abc`);
		assert.equal(server.credential, createHmac('sha1', SETTINGS.secret).update(server.username).digest('base64'));
		assert.equal(turnExpiry(server.username)! - now / 1000, SETTINGS.ttlSeconds);
	});

	it('two peers, or two moments, get different credentials; the URL list is a copy', () => {
		const a = mintIceServer(SETTINGS, 'a', 1_000_000);
		const b = mintIceServer(SETTINGS, 'b', 1_000_000);
		const later = mintIceServer(SETTINGS, 'a', 2_000_000);
		assert.notEqual(a.credential, b.credential);
		assert.notEqual(a.credential, later.credential);
		assert.notEqual(a.urls, SETTINGS.urls);
	});
});
