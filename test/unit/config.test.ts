import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';

import { ConfigError, loadConfig, type Config } from '../../src/config.ts';

/** Asserts that loadConfig(env) throws a ConfigError for `variable` carrying `value`. */
function assertRejects(env: Record<string, string>, variable: string, value: string): ConfigError {
	let caught: unknown;
	try {
		loadConfig(env);
	} catch (error) {
		caught = error;
	}
	assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(env)}, got ${String(caught)}`);
	assert.equal(caught.name, 'ConfigError');
	assert.equal(caught.variable, variable);
	assert.equal(caught.value, value);
	assert.ok(caught.message.includes(variable), `message names the variable: ${caught.message}`);
	assert.ok(caught.message.includes(value), `message names the value: ${caught.message}`);
	assert.ok(caught.allowed.length > 0);
	assert.ok(!caught.message.includes('\n'), 'message is one line');
	return caught;
}

/** Issue 21's flood limits: their documented defaults. */
const DEFAULT_FLOOD_LIMITS = {
	requestsPerIpPerSecond: 500,
	joinsPerIpPerMinute: 120,
	joinsPerIdentityPerMinute: 10,
	peerAnnounceWindowMs: 250,
	keyFrameRequestMinIntervalMs: 1000,
	peerOutgoingBitrate: 100_000_000,
};

describe('loadConfig defaults', () => {
	it('an empty environment gives the documented defaults', () => {
		// The whole Config: a setting added without a test here fails this deepEqual.
		assert.deepEqual(loadConfig({}), {
			workerCount: 4,
			rtcBasePort: 10000,
			rtcPortsPerWorker: 1000,
			rtcPortMode: 'range',
			webrtcListenIp: '127.0.0.1',
			announcedIp: undefined,
			httpHost: '0.0.0.0',
			port: 3000,
			logLevel: 'info',
			cpuSampleIntervalMs: 1000,
			cpuSimilarThreshold: 0.1,
			roomSpreadCpu: 0.4,
			roomSpreadMinPeers: 4,
			roomMaxPeersPerRouter: Infinity,
			roomIdleTimeoutMs: 30000,
			maxPeersPerRoom: 50,
			wsMaxMessageBytes: 65536,
			joinSecret: undefined,
			adminToken: undefined,
			drainTimeoutMs: 30000,
			workerTimeoutMs: 5000,
			limits: {
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
			},
			flood: DEFAULT_FLOOD_LIMITS,
			maxTokenTtlSeconds: 86400,
			allowedOrigins: undefined,
		} satisfies Config);
	});

	it('empty and blank values count as unset', () => {
		const config = loadConfig({ MEDIASOUP_WORKER_COUNT: '', RTC_BASE_PORT: '   ', LOG_LEVEL: '' });
		assert.equal(config.workerCount, 4);
		assert.equal(config.rtcBasePort, 10000);
		assert.equal(config.logLevel, 'info');
	});

	it('ignores unrelated variables', () => {
		assert.deepEqual(loadConfig({ HOME: '/root', PATH: '/bin' }), loadConfig({}));
	});
});

describe('loadConfig valid values', () => {
	it('MEDIASOUP_WORKER_COUNT=auto is os.availableParallelism()', () => {
		assert.equal(loadConfig({ MEDIASOUP_WORKER_COUNT: 'auto' }).workerCount, availableParallelism());
	});

	it('reads every setting', () => {
		const config = loadConfig({
			MEDIASOUP_WORKER_COUNT: '8',
			RTC_BASE_PORT: '20000',
			RTC_PORTS_PER_WORKER: '500',
			RTC_PORT_MODE: 'single',
			WEBRTC_LISTEN_IP: '0.0.0.0',
			ANNOUNCED_IP: 'media.example.com',
			HTTP_HOST: '::1',
			PORT: '0',
			LOG_LEVEL: 'debug',
			CPU_SAMPLE_INTERVAL_MS: '250',
			CPU_SIMILAR_THRESHOLD: '0.25',
			ROOM_SPREAD_CPU: '0.75',
			ROOM_SPREAD_MIN_PEERS: '6',
			ROOM_MAX_PEERS_PER_ROUTER: '2',
			ROOM_IDLE_TIMEOUT_MS: '0',
			MAX_PEERS_PER_ROOM: '10',
			WS_MAX_MESSAGE_BYTES: '2048',
			JOIN_SECRET: 'join-secret-of-24-chars!',
			ADMIN_TOKEN: 'exactly-16-chars',
			DRAIN_TIMEOUT_MS: '0',
			WORKER_TIMEOUT_MS: '100',
			MAX_TRANSPORTS_PER_PEER: '2',
			MAX_PRODUCERS_PER_PEER: '3',
			MAX_CONSUMERS_PER_PEER: '5',
			MAX_CONNECTIONS_PER_IP: '7',
			MAX_CONNECTIONS: '11',
			MAX_ROOMS: '13',
			MAX_ROOMS_PER_IP_PER_MINUTE: '17',
			JOIN_TIMEOUT_MS: '1900',
			WS_MAX_BUFFERED_BYTES: '23000',
			SLOW_READER_TIMEOUT_MS: '2900',
			MAX_DATA_PRODUCERS_PER_PEER: '3',
			DATA_MAX_MESSAGE_BYTES: '4096',
			MAX_DATA_MESSAGES_PER_SECOND: '20',
			MAX_DATA_BYTES_PER_SECOND: '65536',
			MAX_INCOMING_BITRATE: '2000000',
			MAX_OUTGOING_BITRATE: '700000',
			MAX_TOKEN_TTL: '3100',
			ALLOWED_ORIGINS: 'https://app.example.com,http://localhost:8080',
		});
		assert.deepEqual(config, {
			workerCount: 8,
			rtcBasePort: 20000,
			rtcPortsPerWorker: 500,
			rtcPortMode: 'single',
			webrtcListenIp: '0.0.0.0',
			announcedIp: 'media.example.com',
			httpHost: '::1',
			port: 0,
			logLevel: 'debug',
			cpuSampleIntervalMs: 250,
			cpuSimilarThreshold: 0.25,
			roomSpreadCpu: 0.75,
			roomSpreadMinPeers: 6,
			roomMaxPeersPerRouter: 2,
			roomIdleTimeoutMs: 0,
			maxPeersPerRoom: 10,
			wsMaxMessageBytes: 2048,
			joinSecret: 'join-secret-of-24-chars!',
			adminToken: 'exactly-16-chars',
			drainTimeoutMs: 0,
			workerTimeoutMs: 100,
			limits: {
				transportsPerPeer: 2,
				producersPerPeer: 3,
				consumersPerPeer: 5,
				connectionsPerIp: 7,
				connections: 11,
				rooms: 13,
				roomsPerIpPerMinute: 17,
				joinTimeoutMs: 1900,
				wsMaxBufferedBytes: 23000,
				slowReaderTimeoutMs: 2900,
				dataProducersPerPeer: 3,
				dataMessageBytes: 4096,
				dataMessagesPerSecond: 20,
				dataBytesPerSecond: 65536,
				incomingBitratePerPeer: 2_000_000,
				outgoingBitratePerPeer: 700_000,
			},
			flood: DEFAULT_FLOOD_LIMITS,
			maxTokenTtlSeconds: 3100,
			allowedOrigins: ['https://app.example.com', 'http://localhost:8080'],
		} satisfies Config);
	});

	it('accepts each whole-number setting at its maximum', () => {
		const config = loadConfig({
			PORT: '65535',
			MEDIASOUP_WORKER_COUNT: '256',
			RTC_BASE_PORT: '1024',
			RTC_PORTS_PER_WORKER: '2',
			CPU_SAMPLE_INTERVAL_MS: '60000',
			ROOM_IDLE_TIMEOUT_MS: '86400000',
			MAX_PEERS_PER_ROOM: '10000',
			WS_MAX_MESSAGE_BYTES: String(16 * 1024 * 1024),
			DRAIN_TIMEOUT_MS: '86400000',
			WORKER_TIMEOUT_MS: '600000',
		});
		assert.deepEqual(
			[config.port, config.workerCount, config.cpuSampleIntervalMs, config.roomIdleTimeoutMs, config.maxPeersPerRoom, config.wsMaxMessageBytes, config.drainTimeoutMs, config.workerTimeoutMs],
			[65535, 256, 60000, 86400000, 10000, 16 * 1024 * 1024, 86400000, 600000],
		);
	});

	it('an empty secret counts as unset; 16 characters is enough', () => {
		assert.equal(loadConfig({ JOIN_SECRET: '', ADMIN_TOKEN: '' }).joinSecret, undefined);
		assert.equal(loadConfig({ ADMIN_TOKEN: '' }).adminToken, undefined);
		assert.equal(loadConfig({ JOIN_SECRET: '0123456789abcdef' }).joinSecret, '0123456789abcdef');
	});

	it('accepts one-letter labels in ANNOUNCED_IP host names', () => {
		assert.equal(loadConfig({ ANNOUNCED_IP: 'a.b' }).announcedIp, 'a.b');
		assert.equal(loadConfig({ ANNOUNCED_IP: 'x' }).announcedIp, 'x');
	});

	it('trims surrounding whitespace', () => {
		assert.equal(loadConfig({ MEDIASOUP_WORKER_COUNT: ' 3 ' }).workerCount, 3);
	});

	it('accepts an IP address as ANNOUNCED_IP', () => {
		assert.equal(loadConfig({ ANNOUNCED_IP: '203.0.113.7' }).announcedIp, '203.0.113.7');
		assert.equal(loadConfig({ ANNOUNCED_IP: '2001:db8::1' }).announcedIp, '2001:db8::1');
	});

	it('accepts port ranges that end exactly at 65535', () => {
		const config = loadConfig({ RTC_BASE_PORT: '61536', MEDIASOUP_WORKER_COUNT: '4', RTC_PORTS_PER_WORKER: '1000' });
		assert.equal(config.rtcBasePort + config.workerCount * config.rtcPortsPerWorker - 1, 65535);
	});

	it('RTC_PORT_MODE=single needs only one port per worker: 4 workers from 65532 fit, whatever RTC_PORTS_PER_WORKER says', () => {
		const config = loadConfig({ RTC_PORT_MODE: 'single', RTC_BASE_PORT: '65532', MEDIASOUP_WORKER_COUNT: '4', RTC_PORTS_PER_WORKER: '1000' });
		assert.equal(config.rtcPortMode, 'single');
		assert.equal(config.rtcBasePort, 65532);
		assert.equal(loadConfig({ RTC_PORT_MODE: ' range ' }).rtcPortMode, 'range');
	});

	it('accepts every log level pino knows', () => {
		for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) {
			assert.equal(loadConfig({ LOG_LEVEL: level }).logLevel, level);
		}
	});

	it('accepts ROOM_SPREAD_CPU from 0 to 1, ROOM_SPREAD_MIN_PEERS and ROOM_MAX_PEERS_PER_ROUTER from 1 to 10000', () => {
		assert.equal(loadConfig({ ROOM_SPREAD_CPU: '0' }).roomSpreadCpu, 0);
		assert.equal(loadConfig({ ROOM_SPREAD_CPU: '1' }).roomSpreadCpu, 1);
		assert.equal(loadConfig({ ROOM_SPREAD_MIN_PEERS: '1' }).roomSpreadMinPeers, 1);
		assert.equal(loadConfig({ ROOM_SPREAD_MIN_PEERS: '10000' }).roomSpreadMinPeers, 10000);
		assert.equal(loadConfig({ ROOM_SPREAD_MIN_PEERS: ' ' }).roomSpreadMinPeers, 4);
		assert.equal(loadConfig({ ROOM_MAX_PEERS_PER_ROUTER: '1' }).roomMaxPeersPerRouter, 1);
		assert.equal(loadConfig({ ROOM_MAX_PEERS_PER_ROUTER: '10000' }).roomMaxPeersPerRouter, 10000);
		assert.equal(loadConfig({ ROOM_MAX_PEERS_PER_ROUTER: ' ' }).roomMaxPeersPerRouter, Infinity);
	});

	it('accepts CPU_SIMILAR_THRESHOLD from 0 to 1', () => {
		assert.equal(loadConfig({ CPU_SIMILAR_THRESHOLD: '0' }).cpuSimilarThreshold, 0);
		assert.equal(loadConfig({ CPU_SIMILAR_THRESHOLD: '.5' }).cpuSimilarThreshold, 0.5);
		assert.equal(loadConfig({ CPU_SIMILAR_THRESHOLD: '1' }).cpuSimilarThreshold, 1);
	});
});

describe('loadConfig invalid values throw ConfigError naming the variable and value', () => {
	for (const value of ['abc', '0', '-1', '1.5', '257', '1e3', 'Auto']) {
		it(`MEDIASOUP_WORKER_COUNT=${JSON.stringify(value)}`, () => {
			assertRejects({ MEDIASOUP_WORKER_COUNT: value }, 'MEDIASOUP_WORKER_COUNT', value);
		});
	}

	for (const value of ['70000', '65536', '80', 'x', '-10000']) {
		it(`RTC_BASE_PORT=${JSON.stringify(value)}`, () => {
			assertRejects({ RTC_BASE_PORT: value }, 'RTC_BASE_PORT', value);
		});
	}

	it('port ranges past 65535 (RTC_BASE_PORT=60000 with 10 workers of 1000)', () => {
		// The overflow is reported on RTC_PORTS_PER_WORKER (its effective value),
		// with the base port, the worker count and the would-be last port.
		const error = assertRejects(
			{ RTC_BASE_PORT: '60000', MEDIASOUP_WORKER_COUNT: '10' },
			'RTC_PORTS_PER_WORKER',
			'1000',
		);
		assert.match(error.message, /60000/);
		assert.match(error.message, /10 workers/);
		assert.match(error.message, /69999/);
	});

	it('port ranges past 65535 by one port', () => {
		const error = assertRejects(
			{ RTC_BASE_PORT: '61537', MEDIASOUP_WORKER_COUNT: '4', RTC_PORTS_PER_WORKER: '1000' },
			'RTC_PORTS_PER_WORKER',
			'1000',
		);
		assert.match(error.message, /65536/);
	});

	for (const value of ['Single', 'ranges', 'udp', '1']) {
		it(`RTC_PORT_MODE=${JSON.stringify(value)}`, () => {
			assertRejects({ RTC_PORT_MODE: value }, 'RTC_PORT_MODE', value);
		});
	}

	it('RTC_PORT_MODE=single with single ports past 65535 (5 workers from 65532) is reported on RTC_BASE_PORT', () => {
		const error = assertRejects({ RTC_PORT_MODE: 'single', RTC_BASE_PORT: '65532', MEDIASOUP_WORKER_COUNT: '5' }, 'RTC_BASE_PORT', '65532');
		assert.match(error.message, /65536/);
	});

	it('RTC_PORTS_PER_WORKER=1', () => {
		assertRejects({ RTC_PORTS_PER_WORKER: '1' }, 'RTC_PORTS_PER_WORKER', '1');
	});

	for (const value of ['300.1.1.1', 'localhost', '1.2.3', 'not an ip']) {
		it(`WEBRTC_LISTEN_IP=${JSON.stringify(value)}`, () => {
			assertRejects({ WEBRTC_LISTEN_IP: value }, 'WEBRTC_LISTEN_IP', value);
		});
	}

	// 254 characters in labels of up to 63: one past DNS's limit.
	const tooLong = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`;
	for (const value of ['bad host!', 'a..b', '-leading.example.com', 'under_score.example.com', tooLong, `${'a'.repeat(64)}.com`]) {
		it(`ANNOUNCED_IP=${JSON.stringify(value)}`, () => {
			assertRejects({ ANNOUNCED_IP: value }, 'ANNOUNCED_IP', value);
		});
	}

	it('HTTP_HOST="example.com"', () => {
		assertRejects({ HTTP_HOST: 'example.com' }, 'HTTP_HOST', 'example.com');
	});

	for (const value of ['x', '-5', '65536', '80.5', '+5', '1e3', '5x', 'x5', '0x50']) {
		it(`PORT=${JSON.stringify(value)}`, () => {
			assertRejects({ PORT: value }, 'PORT', value);
		});
	}

	for (const value of ['loud', 'INFO', 'warning']) {
		it(`LOG_LEVEL=${JSON.stringify(value)}`, () => {
			const error = assertRejects({ LOG_LEVEL: value }, 'LOG_LEVEL', value);
			assert.equal(error.allowed, 'one of fatal, error, warn, info, debug, trace, silent');
		});
	}

	for (const value of ['2', '-0.1', '1.01', 'abc', '10%']) {
		it(`CPU_SIMILAR_THRESHOLD=${JSON.stringify(value)}`, () => {
			assertRejects({ CPU_SIMILAR_THRESHOLD: value }, 'CPU_SIMILAR_THRESHOLD', value);
		});
	}

	for (const value of ['2', '-0.1', '1.01', 'abc', '60%']) {
		it(`ROOM_SPREAD_CPU=${JSON.stringify(value)}`, () => {
			assertRejects({ ROOM_SPREAD_CPU: value }, 'ROOM_SPREAD_CPU', value);
		});
	}

	for (const value of ['0', '-1', '1.5', 'none', '10001']) {
		it(`ROOM_SPREAD_MIN_PEERS=${JSON.stringify(value)}`, () => {
			assertRejects({ ROOM_SPREAD_MIN_PEERS: value }, 'ROOM_SPREAD_MIN_PEERS', value);
		});
	}

	for (const value of ['0', '-1', '1.5', 'none', '10001', 'Infinity']) {
		it(`ROOM_MAX_PEERS_PER_ROUTER=${JSON.stringify(value)}`, () => {
			assertRejects({ ROOM_MAX_PEERS_PER_ROUTER: value }, 'ROOM_MAX_PEERS_PER_ROUTER', value);
		});
	}

	it('CPU_SAMPLE_INTERVAL_MS below its minimum', () => {
		assertRejects({ CPU_SAMPLE_INTERVAL_MS: '10' }, 'CPU_SAMPLE_INTERVAL_MS', '10');
	});

	it('ROOM_IDLE_TIMEOUT_MS that is not a whole number', () => {
		assertRejects({ ROOM_IDLE_TIMEOUT_MS: '1s' }, 'ROOM_IDLE_TIMEOUT_MS', '1s');
	});

	it('MAX_PEERS_PER_ROOM=0', () => {
		assertRejects({ MAX_PEERS_PER_ROOM: '0' }, 'MAX_PEERS_PER_ROOM', '0');
	});

	it('DRAIN_TIMEOUT_MS that is not a whole number', () => {
		assertRejects({ DRAIN_TIMEOUT_MS: '30s' }, 'DRAIN_TIMEOUT_MS', '30s');
	});

	it('WORKER_TIMEOUT_MS below its minimum', () => {
		assertRejects({ WORKER_TIMEOUT_MS: '5' }, 'WORKER_TIMEOUT_MS', '5');
	});

	for (const variable of ['JOIN_SECRET', 'ADMIN_TOKEN']) {
		it(`${variable} shorter than 16 characters is refused without echoing the secret`, () => {
			// The value shown is a placeholder: a secret never reaches logs or stderr.
			const error = assertRejects({ [variable]: 'short' }, variable, '<hidden>');
			assert.ok(!error.message.includes('short'));
		});
	}

	it('WS_MAX_MESSAGE_BYTES below 1024', () => {
		assertRejects({ WS_MAX_MESSAGE_BYTES: '100' }, 'WS_MAX_MESSAGE_BYTES', '100');
	});

	it('reports the value trimmed', () => {
		assertRejects({ PORT: '  x  ' }, 'PORT', 'x');
	});
});

describe('loadConfig cluster settings (REDIS_URL, NODE_ID, PUBLIC_URL, NODE_REGION)', () => {
	const CLUSTER = { REDIS_URL: 'redis://127.0.0.1:6379', PUBLIC_URL: 'https://node1.example.com' };

	it('without REDIS_URL there is no cluster key at all, whatever else is set', () => {
		assert.equal('cluster' in loadConfig({}), false);
		assert.equal('cluster' in loadConfig({ NODE_ID: 'a', PUBLIC_URL: 'not checked', NODE_REGION: 'eu' }), false);
	});

	it('reads every cluster setting', () => {
		const config = loadConfig({ ...CLUSTER, REDIS_URL: 'rediss://user:pw@redis.internal:6380/2', NODE_ID: 'node-1.eu', PUBLIC_URL: 'https://media.example.com:8443/tureen/', NODE_REGION: 'eu-west' });
		assert.deepEqual(config.cluster, {
			redisUrl: 'rediss://user:pw@redis.internal:6380/2',
			nodeId: 'node-1.eu',
			publicUrl: 'https://media.example.com:8443/tureen',
			region: 'eu-west',
		});
	});

	it('NODE_ID defaults to the host name plus the port; NODE_REGION to none', () => {
		const cluster = loadConfig({ ...CLUSTER, PORT: '4100' }).cluster;
		assert.ok(cluster);
		assert.match(cluster.nodeId, /^[A-Za-z0-9][A-Za-z0-9._-]*-4100$/);
		assert.equal(cluster.region, undefined);
		assert.equal(cluster.publicUrl, 'https://node1.example.com');
	});

	it('PUBLIC_URL is required with REDIS_URL', () => {
		const error = assertRejects({ REDIS_URL: 'redis://127.0.0.1:6379' }, 'PUBLIC_URL', '');
		assert.match(error.allowed, /required with REDIS_URL/);
	});

	for (const value of ['http://', 'ftp://node1', 'node1.example.com', 'https://node1?x=1', 'https://node1#top', 'https://u:p@node1']) {
		it(`PUBLIC_URL=${JSON.stringify(value)}`, () => {
			assertRejects({ ...CLUSTER, PUBLIC_URL: value }, 'PUBLIC_URL', value);
		});
	}

	for (const value of ['localhost:6379', 'http://redis:6379', 'redis://']) {
		it(`REDIS_URL=${JSON.stringify(value)}`, () => {
			assertRejects({ ...CLUSTER, REDIS_URL: value }, 'REDIS_URL', value);
		});
	}

	it('a bad REDIS_URL that may hold a password is not echoed', () => {
		const error = assertRejects({ ...CLUSTER, REDIS_URL: 'http://admin:s3cret@redis' }, 'REDIS_URL', '<hidden>');
		assert.ok(!error.message.includes('s3cret'));
	});

	for (const variable of ['NODE_ID', 'NODE_REGION']) {
		for (const value of ['-node', 'node 1', 'node/1', 'n'.repeat(65), 'nöde']) {
			it(`${variable}=${JSON.stringify(value)}`, () => {
				assertRejects({ ...CLUSTER, [variable]: value }, variable, value);
			});
		}
		it(`${variable} of 64 characters is accepted`, () => {
			const cluster = loadConfig({ ...CLUSTER, [variable]: `a${'b'.repeat(63)}` }).cluster;
			assert.equal(variable === 'NODE_ID' ? cluster?.nodeId : cluster?.region, `a${'b'.repeat(63)}`);
		});
	}
});

describe('loadConfig TURN settings (TURN_URLS, TURN_SECRET, TURN_CREDENTIAL_TTL_S)', () => {
	const SECRET = 'turn-secret-of-20ch';
	const URLS = 'turn:turn.example.com:3478?transport=udp, turn:turn.example.com:3478?transport=tcp,turns:turn.example.com:443?transport=tcp';

	it('absent without TURN_URLS (a Config without TURN is exactly what it was)', () => {
		assert.equal('turn' in loadConfig({}), false);
	});

	it('parses the URL list, the secret and the TTL (default a day)', () => {
		assert.deepEqual(loadConfig({ TURN_URLS: URLS, TURN_SECRET: SECRET }).turn, {
			urls: ['turn:turn.example.com:3478?transport=udp', 'turn:turn.example.com:3478?transport=tcp', 'turns:turn.example.com:443?transport=tcp'],
			secret: SECRET,
			ttlSeconds: 86_400,
		});
		assert.equal(loadConfig({ TURN_URLS: 'turn:127.0.0.1', TURN_SECRET: SECRET, TURN_CREDENTIAL_TTL_S: '600' }).turn?.ttlSeconds, 600);
		assert.deepEqual(loadConfig({ TURN_URLS: 'turns:[2001:db8::1]:5349', TURN_SECRET: SECRET }).turn?.urls, ['turns:[2001:db8::1]:5349']);
	});

	for (const value of ['http://turn.example.com', 'turn:', 'turns:turn.example.com:443?transport=udp', 'turn:host:70000', 'turn:host?transport=sctp', 'stun:host:3478', ',']) {
		it(`TURN_URLS=${JSON.stringify(value)}`, () => {
			assertRejects({ TURN_URLS: value, TURN_SECRET: SECRET }, 'TURN_URLS', value);
		});
	}

	it('TURN_URLS without TURN_SECRET, a short secret, and a secret without URLs are refused', () => {
		assertRejects({ TURN_URLS: 'turn:127.0.0.1:3478' }, 'TURN_SECRET', '');
		assertRejects({ TURN_URLS: 'turn:127.0.0.1:3478', TURN_SECRET: 'short' }, 'TURN_SECRET', '<hidden>');
		assertRejects({ TURN_SECRET: SECRET }, 'TURN_URLS', '');
	});

	for (const value of ['59', '604801', '1h', '-1']) {
		it(`TURN_CREDENTIAL_TTL_S=${JSON.stringify(value)}`, () => {
			assertRejects({ TURN_URLS: 'turn:127.0.0.1', TURN_SECRET: SECRET, TURN_CREDENTIAL_TTL_S: value }, 'TURN_CREDENTIAL_TTL_S', value);
		});
	}
});
