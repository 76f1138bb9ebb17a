import { isIP } from 'node:net';
import { availableParallelism, hostname } from 'node:os';

import { RTC_PORT_MODES, type RtcPortMode } from './protocol/stats.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Config = {
	workerCount: number;
	rtcBasePort: number;
	rtcPortsPerWorker: number;
	/** range: ports per transport from each worker's range; single: one WebRtcServer per worker on RTC_BASE_PORT + workerId (UDP + TCP). */
	rtcPortMode: RtcPortMode;
	webrtcListenIp: string;
	announcedIp: string | undefined;
	httpHost: string;
	port: number;
	logLevel: LogLevel;
	cpuSampleIntervalMs: number;
	cpuSimilarThreshold: number;
	/** A worker at or above this CPU average (fraction of a core) takes no new peers of its rooms (of roomSpreadMinPeers or more) while another can. */
	roomSpreadCpu: number;
	/** roomSpreadCpu applies to a room with 1 to roomSpreadMinPeers - 1 peers not at all (an empty one moves freely); 1 = to every room. */
	roomSpreadMinPeers: number;
	/** Peers one router of a room holds before the room opens a router on another worker; Infinity = no cap. */
	roomMaxPeersPerRouter: number;
	roomIdleTimeoutMs: number;
	maxPeersPerRoom: number;
	wsMaxMessageBytes: number;
	/** HMAC secret for join tokens; unset = anyone may join (development). */
	joinSecret: string | undefined;
	/** Bearer token for operator endpoints; unset = open (development). */
	adminToken: string | undefined;
	drainTimeoutMs: number;
	/** A worker that does not answer getResourceUsage() within this counts as dead. */
	workerTimeoutMs: number;
	limits: Limits;
	/** Issue 21 (floods that per-socket caps did not hold): see FloodLimits. */
	flood: FloodLimits;
	/** Longest lifetime (exp - iat, seconds) a join token may have. */
	maxTokenTtlSeconds: number;
	/** Origins allowed to open /ws; undefined = any (non-browser clients send none). */
	allowedOrigins: readonly string[] | undefined;
	/** Present only with REDIS_URL: this process is one node of a cluster (docs/cluster.md). */
	cluster?: ClusterConfig;
	/** Present only with TURN_URLS: joins get short-lived TURN credentials for these servers (docs/turn.md). */
	turn?: TurnConfig;
};

export type TurnConfig = {
	/** turn:/turns: URLs (RFC 7065) handed to clients, e.g. turn:turn.example.com:3478?transport=udp, turns:turn.example.com:443?transport=tcp. */
	urls: readonly string[];
	/** coturn's static-auth-secret (use-auth-secret). */
	secret: string;
	/** Seconds a minted credential stays valid; coturn refuses every request after it, so it bounds a relayed call. */
	ttlSeconds: number;
};

/** TURN_CREDENTIAL_TTL_S's default: a day (the TURN REST API draft's suggestion); coturn ends a relayed session whose credential expired. */
export const DEFAULT_TURN_CREDENTIAL_TTL_SECONDS = 86_400;

export type ClusterConfig = {
	/** redis:// or rediss:// URL of the Redis that coordinates the nodes. */
	redisUrl: string;
	/** This node's name in the registry and the room map; unique in the cluster. */
	nodeId: string;
	/** Base URL (http:// or https://, no trailing slash) clients use to reach this node's HTTP API and /ws. */
	publicUrl: string;
	region: string | undefined;
};

/** Caps that keep one client (or one address) from starving the others; see docs/limits.md. */
export type Limits = {
	transportsPerPeer: number;
	producersPerPeer: number;
	consumersPerPeer: number;
	connectionsPerIp: number;
	connections: number;
	rooms: number;
	roomsPerIpPerMinute: number;
	/** A socket that has not joined a room within this is closed. */
	joinTimeoutMs: number;
	/** Above this many unsent bytes a socket gets no more non-essential notifications. */
	wsMaxBufferedBytes: number;
	/** A socket that stays above wsMaxBufferedBytes this long is closed. */
	slowReaderTimeoutMs: number;
	dataProducersPerPeer: number;
	/** Largest data channel message the server accepts and sends (SCTP max message size). */
	dataMessageBytes: number;
	/** One peer's data channel rate; above either, its data producers are held until it slows down. */
	dataMessagesPerSecond: number;
	dataBytesPerSecond: number;
	/** Per peer: the most a send (publishing) transport receives, bits/s; mediasoup's estimator asks the sender to stay below it. */
	incomingBitratePerPeer: number;
	/** Per peer: the most a receive (subscribing) transport sends, bits/s; Infinity = no cap. */
	outgoingBitratePerPeer: number;
};

/**
 * Issue 21's caps on floods that per-socket limits let through: requests and
 * joins across all sockets of one address, rejoins of one identity, churn
 * announcements, key-frame requests. See README "Limits".
 */
export type FloodLimits = {
	/** Requests per second from one address across all its sockets (a bucket of twice this, as per socket). */
	requestsPerIpPerSecond: number;
	/** Joins per minute from one address across all its sockets (a bucket of this many, refilled over the minute). */
	joinsPerIpPerMinute: number;
	/** Joins per minute of one token identity in one room (each one replaces the last session). */
	joinsPerIdentityPerMinute: number;
	/** peerJoined/peerLeft to a member are sent at most once per window, coalesced (a join and leave within it cancel); 0 = at once. */
	peerAnnounceWindowMs: number;
	/** Subscribers' key-frame requests reach a producer at most once per interval (coalesced); 0 = every one. */
	keyFrameRequestMinIntervalMs: number;
	/** Bits per second the server sends one peer across all its consumers (split over its receive transports). */
	peerOutgoingBitrate: number;
};

type Env = Record<string, string | undefined>;

/** MAX_TOKEN_TTL's default: a working day plus margin; longer-lived tokens should be re-minted. */
export const DEFAULT_MAX_TOKEN_TTL_SECONDS = 86_400;

/** ROOM_SPREAD_CPU's default (fraction of a core); the bench's placement simulation runs with it too. */
export const DEFAULT_ROOM_SPREAD_CPU = 0.4;

/** ROOM_SPREAD_MIN_PEERS's default; the placement simulation runs with it too. */
export const DEFAULT_ROOM_SPREAD_MIN_PEERS = 4;

/**
 * MAX_INCOMING_BITRATE's default (bits/s): twice the most the shipped client sends (simulcast camera
 * 2.15 Mbit/s + screen share 2.5 Mbit/s + audio), see README "Limits".
 */
export const DEFAULT_MAX_INCOMING_BITRATE = 10_000_000;

/** A bad environment value: names the variable, the value and what is allowed. */
export class ConfigError extends Error {
	constructor(
		readonly variable: string,
		readonly value: string,
		readonly allowed: string,
	) {
		super(`${variable}=${JSON.stringify(value)} is invalid: allowed is ${allowed}`);
		this.name = 'ConfigError';
	}
}

function raw(env: Env, name: string): string | undefined {
	const value = env[name];
	return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
	const value = raw(env, name);
	if (value === undefined) return fallback;
	const n = Number(value);
	if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
		throw new ConfigError(name, value, `a whole number from ${min} to ${max}`);
	}
	return n;
}

function fraction(env: Env, name: string, fallback: number): number {
	const value = raw(env, name);
	if (value === undefined) return fallback;
	const n = Number(value);
	if (!/^\d*\.?\d+$/.test(value) || n > 1) throw new ConfigError(name, value, 'a number from 0 to 1');
	return n;
}

/** A whole number, or Infinity when unset (no cap). */
function optionalCap(env: Env, name: string, min: number, max: number): number {
	return raw(env, name) === undefined ? Infinity : integer(env, name, Infinity, min, max);
}

function ip(env: Env, name: string, fallback: string): string {
	const value = raw(env, name) ?? fallback;
	if (isIP(value) === 0) throw new ConfigError(name, value, 'an IPv4 or IPv6 address');
	return value;
}

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function hostOrIp(env: Env, name: string): string | undefined {
	const value = raw(env, name);
	// Stryker disable next-line ConditionalExpression: equivalent by accident; HOSTNAME.test(undefined) tests the string "undefined", a valid host name, so undefined still comes back.
	if (value === undefined) return undefined;
	if (isIP(value) === 0 && !HOSTNAME.test(value)) {
		throw new ConfigError(name, value, 'an IPv4/IPv6 address or a DNS host name');
	}
	return value;
}

// Short secrets are guessable offline from a captured token; refuse them.
function secret(env: Env, name: string): string | undefined {
	const value = env[name];
	if (value === undefined || value === '') return undefined;
	if (value.length < 16) throw new ConfigError(name, '<hidden>', 'a secret of at least 16 characters');
	return value;
}

function workerCount(env: Env): number {
	const value = raw(env, 'MEDIASOUP_WORKER_COUNT');
	if (value === 'auto') return availableParallelism();
	return integer(env, 'MEDIASOUP_WORKER_COUNT', 4, 1, 256);
}

function rtcPortMode(env: Env): RtcPortMode {
	const value = raw(env, 'RTC_PORT_MODE') ?? 'range';
	if (!(RTC_PORT_MODES as readonly string[]).includes(value)) {
		throw new ConfigError('RTC_PORT_MODE', value, `one of ${RTC_PORT_MODES.join(', ')}`);
	}
	return value as RtcPortMode;
}

function logLevel(env: Env): LogLevel {
	const value = raw(env, 'LOG_LEVEL') ?? 'info';
	if (!(LOG_LEVELS as readonly string[]).includes(value)) {
		throw new ConfigError('LOG_LEVEL', value, `one of ${LOG_LEVELS.join(', ')}`);
	}
	return value as LogLevel;
}

// An origin as browsers send it: scheme://host[:port], nothing after.
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

function origins(env: Env, name: string): string[] | undefined {
	const value = raw(env, name);
	if (value === undefined) return undefined;
	const list = value.split(',').map((o) => o.trim()).filter(Boolean);
	const bad = list.find((o) => !ORIGIN.test(o));
	if (list.length === 0 || bad !== undefined) {
		throw new ConfigError(name, value, 'a comma-separated list of origins like https://app.example.com or http://localhost:8080');
	}
	return list.map((o) => o.toLowerCase());
}

// Node ids and regions appear in Redis keys and metric labels: short, plain characters.
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function nodeName(env: Env, name: string): string | undefined {
	const value = raw(env, name);
	if (value !== undefined && !NODE_NAME.test(value)) {
		throw new ConfigError(name, value, '1-64 characters of A-Z, a-z, 0-9, ".", "_" and "-", starting with a letter or digit');
	}
	return value;
}

/** A parsed URL of one of `schemes`, or undefined when `text` is no such URL. */
function parseUrl(text: string, schemes: readonly string[]): URL | undefined {
	try {
		const url = new URL(text);
		return schemes.includes(url.protocol) && url.hostname !== '' ? url : undefined;
	} catch {
		return undefined;
	}
}

function redisUrl(env: Env): string | undefined {
	const value = raw(env, 'REDIS_URL');
	if (value === undefined) return undefined;
	const url = parseUrl(value, ['redis:', 'rediss:']);
	if (!url) {
		// The URL may carry a password: echo it only when it visibly has none.
		const shown = /@/.test(value) ? '<hidden>' : value;
		throw new ConfigError('REDIS_URL', shown, 'a URL like redis://host:6379 or rediss://user:password@host:6380/0');
	}
	return value;
}

function publicUrl(env: Env): string {
	const value = raw(env, 'PUBLIC_URL');
	const allowed = 'the http:// or https:// base URL clients reach this node at (required with REDIS_URL), e.g. https://node1.example.com';
	if (value === undefined) throw new ConfigError('PUBLIC_URL', '', allowed);
	const url = parseUrl(value, ['http:', 'https:']);
	if (!url || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
		throw new ConfigError('PUBLIC_URL', value, allowed);
	}
	return url.href.replace(/\/+$/, '');
}

// Host names may hold dots and characters NODE_ID refuses; the default keeps it valid.
function defaultNodeId(port: number): string {
	const host = hostname().replace(/[^A-Za-z0-9.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 56) || 'node';
	return `${host}-${port}`;
}

function cluster(env: Env, port: number): ClusterConfig | undefined {
	const url = redisUrl(env);
	if (url === undefined) return undefined;
	return {
		redisUrl: url,
		nodeId: nodeName(env, 'NODE_ID') ?? defaultNodeId(port),
		publicUrl: publicUrl(env),
		region: nodeName(env, 'NODE_REGION'),
	};
}

// RFC 7065: turn:host[:port][?transport=udp|tcp]; turns: is TLS over TCP only (browsers have no DTLS to TURN).
const TURN_URL = /^(turn):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\?transport=(udp|tcp))?$|^(turns):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\?transport=tcp)?$/;

function turnUrls(env: Env): string[] | undefined {
	const value = raw(env, 'TURN_URLS');
	if (value === undefined) return undefined;
	const list = value.split(',').map((u) => u.trim()).filter(Boolean);
	const bad = list.find((u) => {
		const match = TURN_URL.exec(u);
		const port = match?.[3] ?? match?.[8];
		return !match || (port !== undefined && (Number(port.slice(1)) < 1 || Number(port.slice(1)) > 65535));
	});
	if (list.length === 0 || bad !== undefined) {
		throw new ConfigError(
			'TURN_URLS',
			value,
			'a comma-separated list of TURN URLs like turn:turn.example.com:3478?transport=udp, turn:turn.example.com:3478?transport=tcp, turns:turn.example.com:443?transport=tcp',
		);
	}
	return list;
}

function turn(env: Env): TurnConfig | undefined {
	const urls = turnUrls(env);
	const turnSecret = secret(env, 'TURN_SECRET');
	const ttlSeconds = integer(env, 'TURN_CREDENTIAL_TTL_S', DEFAULT_TURN_CREDENTIAL_TTL_SECONDS, 60, 7 * 86_400);
	if (urls === undefined) {
		if (turnSecret !== undefined) throw new ConfigError('TURN_URLS', '', 'the TURN servers TURN_SECRET is for (TURN_SECRET is set without TURN_URLS)');
		return undefined;
	}
	if (turnSecret === undefined) throw new ConfigError('TURN_SECRET', '', "coturn's static-auth-secret, at least 16 characters (required with TURN_URLS)");
	return { urls, secret: turnSecret, ttlSeconds };
}

function limits(env: Env): Limits {
	return {
		transportsPerPeer: integer(env, 'MAX_TRANSPORTS_PER_PEER', 4, 1, 1000),
		producersPerPeer: integer(env, 'MAX_PRODUCERS_PER_PEER', 8, 1, 1000),
		consumersPerPeer: integer(env, 'MAX_CONSUMERS_PER_PEER', 200, 1, 100_000),
		connectionsPerIp: integer(env, 'MAX_CONNECTIONS_PER_IP', 100, 1, 1_000_000),
		connections: integer(env, 'MAX_CONNECTIONS', 5000, 1, 1_000_000),
		rooms: integer(env, 'MAX_ROOMS', 1000, 1, 1_000_000),
		roomsPerIpPerMinute: integer(env, 'MAX_ROOMS_PER_IP_PER_MINUTE', 30, 1, 1_000_000),
		joinTimeoutMs: integer(env, 'JOIN_TIMEOUT_MS', 30000, 100, 86_400_000),
		wsMaxBufferedBytes: integer(env, 'WS_MAX_BUFFERED_BYTES', 1024 * 1024, 16 * 1024, 1024 * 1024 * 1024),
		slowReaderTimeoutMs: integer(env, 'SLOW_READER_TIMEOUT_MS', 5000, 100, 600_000),
		dataProducersPerPeer: integer(env, 'MAX_DATA_PRODUCERS_PER_PEER', 4, 1, 1000),
		// mediasoup's own default and ceiling is 256 KiB.
		dataMessageBytes: integer(env, 'DATA_MAX_MESSAGE_BYTES', 16 * 1024, 1024, 256 * 1024),
		dataMessagesPerSecond: integer(env, 'MAX_DATA_MESSAGES_PER_SECOND', 50, 1, 1_000_000),
		dataBytesPerSecond: integer(env, 'MAX_DATA_BYTES_PER_SECOND', 256 * 1024, 1024, 1024 * 1024 * 1024),
		// Below 100 kbit/s not even audio plus a thumbnail fits; 1 Gbit/s is the worker's own ceiling.
		incomingBitratePerPeer: integer(env, 'MAX_INCOMING_BITRATE', DEFAULT_MAX_INCOMING_BITRATE, 100_000, 1_000_000_000),
		outgoingBitratePerPeer: optionalCap(env, 'MAX_OUTGOING_BITRATE', 100_000, 1_000_000_000),
	};
}

function floodLimits(env: Env): FloodLimits {
	return {
		// 10x a busy client's steady rate per socket (50/s): a NAT of 10 such clients is not slowed.
		requestsPerIpPerSecond: integer(env, 'MAX_REQUESTS_PER_IP_PER_SECOND', 500, 1, 1_000_000),
		// Two a second on average; a classroom behind one NAT joining at once fits in the bucket.
		joinsPerIpPerMinute: integer(env, 'MAX_JOINS_PER_IP_PER_MINUTE', 120, 1, 1_000_000),
		// A person reloading the page a few times a minute; churn through one token stops there.
		joinsPerIdentityPerMinute: integer(env, 'MAX_JOINS_PER_IDENTITY_PER_MINUTE', 10, 1, 1_000_000),
		// Below what a person notices; enough to swallow a join/leave loop.
		peerAnnounceWindowMs: integer(env, 'PEER_ANNOUNCE_WINDOW_MS', 250, 0, 10_000),
		// One key frame a second at most per producer: what a subscriber recovering from loss needs.
		keyFrameRequestMinIntervalMs: integer(env, 'KEYFRAME_REQUEST_MIN_INTERVAL_MS', 1000, 0, 60_000),
		// A full room (49 others) of 2 Mbit/s videos: 100 Mbit/s; one socket pulled 245-284 Mbit/s before.
		peerOutgoingBitrate: integer(env, 'MAX_PEER_OUTGOING_BITRATE', 100_000_000, 100_000, 10_000_000_000),
	};
}

/** Reads and validates every setting; throws ConfigError on the first bad one. */
export function loadConfig(env: Env): Config {
	const count = workerCount(env);
	const rtcBasePort = integer(env, 'RTC_BASE_PORT', 10000, 1024, 65535);
	const rtcPortsPerWorker = integer(env, 'RTC_PORTS_PER_WORKER', 1000, 2, 64511);
	const portMode = rtcPortMode(env);
	if (portMode === 'single' && rtcBasePort + count - 1 > 65535) {
		throw new ConfigError(
			'RTC_BASE_PORT',
			String(rtcBasePort),
			`a port that keeps ${count} workers' single ports (RTC_PORT_MODE=single: RTC_BASE_PORT + workerId) below 65536 (they would end at ${rtcBasePort + count - 1})`,
		);
	}
	const lastPort = rtcBasePort + count * rtcPortsPerWorker - 1;
	if (portMode === 'range' && lastPort > 65535) {
		throw new ConfigError(
			'RTC_PORTS_PER_WORKER',
			String(rtcPortsPerWorker),
			`a size that keeps ${count} workers' ranges from ${rtcBasePort} below 65536 (they would end at ${lastPort})`,
		);
	}
	const port = integer(env, 'PORT', 3000, 0, 65535);
	const clusterConfig = cluster(env, port);
	const turnConfig = turn(env);
	return {
		workerCount: count,
		rtcBasePort,
		rtcPortsPerWorker,
		rtcPortMode: portMode,
		webrtcListenIp: ip(env, 'WEBRTC_LISTEN_IP', '127.0.0.1'),
		announcedIp: hostOrIp(env, 'ANNOUNCED_IP'),
		httpHost: ip(env, 'HTTP_HOST', '0.0.0.0'),
		port,
		logLevel: logLevel(env),
		cpuSampleIntervalMs: integer(env, 'CPU_SAMPLE_INTERVAL_MS', 1000, 100, 60000),
		cpuSimilarThreshold: fraction(env, 'CPU_SIMILAR_THRESHOLD', 0.1),
		roomSpreadCpu: fraction(env, 'ROOM_SPREAD_CPU', DEFAULT_ROOM_SPREAD_CPU),
		roomSpreadMinPeers: integer(env, 'ROOM_SPREAD_MIN_PEERS', DEFAULT_ROOM_SPREAD_MIN_PEERS, 1, 10000),
		roomMaxPeersPerRouter: optionalCap(env, 'ROOM_MAX_PEERS_PER_ROUTER', 1, 10000),
		roomIdleTimeoutMs: integer(env, 'ROOM_IDLE_TIMEOUT_MS', 30000, 0, 86_400_000),
		maxPeersPerRoom: integer(env, 'MAX_PEERS_PER_ROOM', 50, 1, 10000),
		wsMaxMessageBytes: integer(env, 'WS_MAX_MESSAGE_BYTES', 65536, 1024, 16 * 1024 * 1024),
		joinSecret: secret(env, 'JOIN_SECRET'),
		adminToken: secret(env, 'ADMIN_TOKEN'),
		drainTimeoutMs: integer(env, 'DRAIN_TIMEOUT_MS', 30000, 0, 86_400_000),
		workerTimeoutMs: integer(env, 'WORKER_TIMEOUT_MS', 5000, 100, 600_000),
		limits: limits(env),
		flood: floodLimits(env),
		// Bounded below setTimeout's range (24.8 days) so one timer ends any session.
		maxTokenTtlSeconds: integer(env, 'MAX_TOKEN_TTL', DEFAULT_MAX_TOKEN_TTL_SECONDS, 60, 2_000_000),
		allowedOrigins: origins(env, 'ALLOWED_ORIGINS'),
		// Absent, not undefined, without REDIS_URL: a single node's Config is exactly what it was.
		...(clusterConfig ? { cluster: clusterConfig } : {}),
		...(turnConfig ? { turn: turnConfig } : {}),
	};
}
