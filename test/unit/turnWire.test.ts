import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';

import { coturnConfig, DENIED_PEER_RANGES } from '../../src/services/turn/coturnConfig.ts';
import { decodeResponse, encodeRequest, MAGIC_COOKIE, messageLength, StunMethod } from '../../src/services/turn/stunMessage.ts';
import { parseTurnUrl } from '../../src/services/turn/turnUrl.ts';

const BASE = {
	listenIps: ['203.0.113.10'],
	port: 3478,
	relayIp: '203.0.113.10',
	relayPorts: { min: 49160, max: 65535 },
	realm: 'turn.example.com',
	secret: 'shared-secret-of-16+',
	allowedPeerIps: ['10.0.0.20'],
	userQuota: 12,
	totalQuota: 1200,
	stateDir: '/run/turnserver',
};

describe('coturnConfig', () => {
	it('REST API auth with the secret, every denied range, the media server allowed, quotas, no multicast', () => {
		const lines = coturnConfig({ ...BASE, tls: { port: 443, cert: '/c.pem', key: '/k.pem' } }).split('\n');
		for (const expected of ['use-auth-secret', 'static-auth-secret=shared-secret-of-16+', 'realm=turn.example.com', 'no-multicast-peers', 'allowed-peer-ip=10.0.0.20', 'user-quota=12', 'total-quota=1200', 'tls-listening-port=443', 'cert=/c.pem', 'pkey=/k.pem', 'no-dtls', 'pidfile=/run/turnserver/turnserver.pid']) {
			assert.ok(lines.includes(expected), expected);
		}
		assert.deepEqual(lines.filter((l) => l.startsWith('denied-peer-ip=')), DENIED_PEER_RANGES.map((r) => `denied-peer-ip=${r}`));
		assert.ok(DENIED_PEER_RANGES.includes('127.0.0.0-127.255.255.255') && DENIED_PEER_RANGES.includes('10.0.0.0-10.255.255.255'));
		assert.ok(!lines.includes('allow-loopback-peers'), 'loopback peers stay refused for a media server off loopback');
	});

	it('without TLS: no TLS listener at all; a loopback media server gets allow-loopback-peers', () => {
		const lines = coturnConfig({ ...BASE, allowedPeerIps: ['127.0.0.2'] }).split('\n');
		assert.ok(lines.includes('no-tls') && !lines.some((l) => l.startsWith('tls-listening-port')));
		assert.ok(lines.includes('allow-loopback-peers'));
	});
});

describe('parseTurnUrl', () => {
	it('transport and default ports per RFC 7065', () => {
		assert.deepEqual(parseTurnUrl('turn:h'), { url: 'turn:h', host: 'h', port: 3478, transport: 'udp' });
		assert.deepEqual(parseTurnUrl('turn:h:1?transport=tcp'), { url: 'turn:h:1?transport=tcp', host: 'h', port: 1, transport: 'tcp' });
		assert.deepEqual(parseTurnUrl('turns:[::1]?transport=tcp'), { url: 'turns:[::1]?transport=tcp', host: '::1', port: 5349, transport: 'tls' });
		assert.throws(() => parseTurnUrl('http://h'));
	});
});

describe('STUN messages', () => {
	it('an authenticated Allocate: header, attributes, MESSAGE-INTEGRITY = HMAC-SHA1(MD5(user:realm:pass)) over what precedes it', () => {
		const transactionId = Buffer.alloc(12, 7);
		const auth = { username: '60:p', password: 'pw', realm: 'r', nonce: 'n' };
		const bytes = encodeRequest({ method: StunMethod.allocate, transactionId, requestedTransport: 17, auth });
		assert.equal(bytes.readUInt16BE(0), 0x0003);
		assert.equal(bytes.readUInt32BE(4), MAGIC_COOKIE);
		assert.equal(messageLength(bytes), bytes.length);
		const integrity = bytes.subarray(bytes.length - 20);
		const key = createHash('md5').update('60:p:r:pw').digest();
		assert.deepEqual(integrity, createHmac('sha1', key).update(bytes.subarray(0, bytes.length - 24)).digest());
	});

	it('decodes an error answer (401, realm, nonce) and a success with XOR-RELAYED-ADDRESS', () => {
		const header = (type: number, body: Buffer) => {
			const h = Buffer.alloc(20);
			h.writeUInt16BE(type, 0);
			h.writeUInt16BE(body.length, 2);
			h.writeUInt32BE(MAGIC_COOKIE, 4);
			return Buffer.concat([h, body]);
		};
		const attr = (type: number, value: Buffer) => {
			const a = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
			a.writeUInt16BE(type, 0);
			a.writeUInt16BE(value.length, 2);
			value.copy(a, 4);
			return a;
		};
		const error = decodeResponse(header(0x0113, Buffer.concat([attr(0x0009, Buffer.from([0, 0, 4, 1, ...Buffer.from('Unauthorized')])), attr(0x0014, Buffer.from('realm')), attr(0x0015, Buffer.from('nonce1'))])));
		assert.equal(error?.klass, 'error');
		assert.equal(error?.method, StunMethod.allocate);
		assert.deepEqual([error?.errorCode, error?.errorReason, error?.realm, error?.nonce], [401, 'Unauthorized', 'realm', 'nonce1']);
		// 127.0.0.1:46129 XORed with the magic cookie.
		const xored = Buffer.alloc(8);
		xored.writeUInt8(1, 1);
		xored.writeUInt16BE(46129 ^ (MAGIC_COOKIE >>> 16), 2);
		xored.writeUInt32BE((0x7f000001 ^ MAGIC_COOKIE) >>> 0, 4);
		const ok = decodeResponse(header(0x0103, attr(0x0016, xored)));
		assert.deepEqual(ok?.xorRelayedAddress, { family: 4, ip: '127.0.0.1', port: 46129 });
		assert.equal(decodeResponse(Buffer.from('not stun at all, not at all')), undefined);
	});
});
