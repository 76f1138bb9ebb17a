// The limit variables of issue 10: documented defaults, bounds, and one-line errors naming the variable.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError, loadConfig } from '../../src/config.ts';

describe('limit settings', () => {
	it('an empty environment gives the documented defaults', () => {
		const config = loadConfig({});
		assert.deepEqual(config.limits, {
			transportsPerPeer: 4,
			producersPerPeer: 8,
			consumersPerPeer: 200,
			connectionsPerIp: 100,
			connections: 5000,
			rooms: 1000,
			roomsPerIpPerMinute: 30,
			joinTimeoutMs: 30000,
			wsMaxBufferedBytes: 1048576,
			slowReaderTimeoutMs: 5000,
			dataProducersPerPeer: 4,
			dataMessageBytes: 16384,
			dataMessagesPerSecond: 50,
			dataBytesPerSecond: 262144,
			incomingBitratePerPeer: 10_000_000,
			outgoingBitratePerPeer: Infinity,
		});
		assert.equal(config.maxTokenTtlSeconds, 86400);
		assert.equal(config.allowedOrigins, undefined);
	});

	it('each variable sets its limit', () => {
		const config = loadConfig({
			MAX_TRANSPORTS_PER_PEER: '2',
			MAX_PRODUCERS_PER_PEER: '3',
			MAX_CONSUMERS_PER_PEER: '4',
			MAX_CONNECTIONS_PER_IP: '5',
			MAX_CONNECTIONS: '6',
			MAX_ROOMS: '7',
			MAX_ROOMS_PER_IP_PER_MINUTE: '8',
			JOIN_TIMEOUT_MS: '900',
			WS_MAX_BUFFERED_BYTES: '20000',
			SLOW_READER_TIMEOUT_MS: '1000',
			MAX_DATA_PRODUCERS_PER_PEER: '9',
			DATA_MAX_MESSAGE_BYTES: '2048',
			MAX_DATA_MESSAGES_PER_SECOND: '11',
			MAX_DATA_BYTES_PER_SECOND: '4096',
			MAX_INCOMING_BITRATE: '3000000',
			MAX_OUTGOING_BITRATE: '1500000',
			MAX_TOKEN_TTL: '600',
			ALLOWED_ORIGINS: 'https://a.example, http://LOCALHOST:8080,http://[::1]:3000',
		});
		assert.deepEqual(Object.values(config.limits), [2, 3, 4, 5, 6, 7, 8, 900, 20000, 1000, 9, 2048, 11, 4096, 3_000_000, 1_500_000]);
		assert.equal(config.maxTokenTtlSeconds, 600);
		assert.deepEqual(config.allowedOrigins, ['https://a.example', 'http://localhost:8080', 'http://[::1]:3000']);
	});

	const rejects = (env: Record<string, string>, variable: string) =>
		assert.throws(
			() => loadConfig(env),
			(error: unknown) => error instanceof ConfigError && error.variable === variable && error.message.includes('allowed is'),
		);

	it('refuses zero, negative, fractional and out-of-range values', () => {
		for (const variable of ['MAX_TRANSPORTS_PER_PEER', 'MAX_PRODUCERS_PER_PEER', 'MAX_CONSUMERS_PER_PEER', 'MAX_CONNECTIONS_PER_IP', 'MAX_CONNECTIONS', 'MAX_ROOMS', 'MAX_ROOMS_PER_IP_PER_MINUTE']) {
			for (const value of ['0', '-1', '1.5', 'many', '99999999999']) rejects({ [variable]: value }, variable);
		}
		rejects({ JOIN_TIMEOUT_MS: '10' }, 'JOIN_TIMEOUT_MS');
		rejects({ WS_MAX_BUFFERED_BYTES: '1000' }, 'WS_MAX_BUFFERED_BYTES');
		rejects({ SLOW_READER_TIMEOUT_MS: '5s' }, 'SLOW_READER_TIMEOUT_MS');
		rejects({ MAX_TOKEN_TTL: '59' }, 'MAX_TOKEN_TTL');
		rejects({ MAX_DATA_PRODUCERS_PER_PEER: '0' }, 'MAX_DATA_PRODUCERS_PER_PEER');
		rejects({ DATA_MAX_MESSAGE_BYTES: '1023' }, 'DATA_MAX_MESSAGE_BYTES');
		rejects({ DATA_MAX_MESSAGE_BYTES: '262145' }, 'DATA_MAX_MESSAGE_BYTES');
		rejects({ MAX_DATA_MESSAGES_PER_SECOND: '0' }, 'MAX_DATA_MESSAGES_PER_SECOND');
		rejects({ MAX_DATA_BYTES_PER_SECOND: '1023' }, 'MAX_DATA_BYTES_PER_SECOND');
		rejects({ MAX_TOKEN_TTL: '2000001' }, 'MAX_TOKEN_TTL');
		// Bits per second: below 100 kbit/s nothing useful fits; 1 Gbit/s is the worker's ceiling.
		for (const variable of ['MAX_INCOMING_BITRATE', 'MAX_OUTGOING_BITRATE']) {
			for (const value of ['0', '-1', '99999', '2.5e6', '1.5', '2M', '1000000001']) rejects({ [variable]: value }, variable);
		}
	});

	it('MAX_INCOMING_BITRATE and MAX_OUTGOING_BITRATE take their bounds; an empty value is the default', () => {
		assert.equal(loadConfig({ MAX_INCOMING_BITRATE: '100000' }).limits.incomingBitratePerPeer, 100_000);
		assert.equal(loadConfig({ MAX_INCOMING_BITRATE: '1000000000' }).limits.incomingBitratePerPeer, 1_000_000_000);
		assert.equal(loadConfig({ MAX_INCOMING_BITRATE: ' ' }).limits.incomingBitratePerPeer, 10_000_000);
		assert.equal(loadConfig({ MAX_OUTGOING_BITRATE: '100000' }).limits.outgoingBitratePerPeer, 100_000);
		assert.equal(loadConfig({ MAX_OUTGOING_BITRATE: '' }).limits.outgoingBitratePerPeer, Infinity);
	});

	it('ALLOWED_ORIGINS must be origins: scheme and host, nothing after', () => {
		for (const value of ['*', 'app.example.com', 'https://a.example/', 'https://a.example/path', 'ftp://a.example', ',', 'https://a.example, nope']) {
			rejects({ ALLOWED_ORIGINS: value }, 'ALLOWED_ORIGINS');
		}
	});
});

// Issue 21: the flood limits, in their own block.
describe('flood limit settings', () => {
	it('each variable sets its limit', () => {
		const config = loadConfig({
			MAX_REQUESTS_PER_IP_PER_SECOND: '7',
			MAX_JOINS_PER_IP_PER_MINUTE: '8',
			MAX_JOINS_PER_IDENTITY_PER_MINUTE: '9',
			PEER_ANNOUNCE_WINDOW_MS: '0',
			KEYFRAME_REQUEST_MIN_INTERVAL_MS: '0',
			MAX_PEER_OUTGOING_BITRATE: '200000',
		});
		assert.deepEqual(config.flood, {
			requestsPerIpPerSecond: 7,
			joinsPerIpPerMinute: 8,
			joinsPerIdentityPerMinute: 9,
			peerAnnounceWindowMs: 0,
			keyFrameRequestMinIntervalMs: 0,
			peerOutgoingBitrate: 200_000,
		});
	});

	it('refuses zero rates, negative, fractional and out-of-range values', () => {
		const rejects = (variable: string, value: string) =>
			assert.throws(
				() => loadConfig({ [variable]: value }),
				(error: unknown) => error instanceof ConfigError && error.variable === variable,
			);
		for (const variable of ['MAX_REQUESTS_PER_IP_PER_SECOND', 'MAX_JOINS_PER_IP_PER_MINUTE', 'MAX_JOINS_PER_IDENTITY_PER_MINUTE']) {
			for (const value of ['0', '-1', '1.5', 'many', '1000001']) rejects(variable, value);
		}
		for (const value of ['-1', '0.5', '10001']) rejects('PEER_ANNOUNCE_WINDOW_MS', value);
		for (const value of ['-1', '1s', '60001']) rejects('KEYFRAME_REQUEST_MIN_INTERVAL_MS', value);
		for (const value of ['0', '99999', '10000000001', '1e8']) rejects('MAX_PEER_OUTGOING_BITRATE', value);
	});
});
