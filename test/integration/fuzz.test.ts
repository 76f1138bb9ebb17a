// Seeded fuzzing of a real server (two real mediasoup workers): over 10,000
// WebSocket frames (random JSON of every shape, mutations of valid requests
// for every method, other peers' ids, out-of-order calls, binary, invalid
// UTF-8, empty and oversized frames) on 20 lanes of sockets, then ~500 mutated
// HTTP requests. Every reply must be well-formed; every frame gets exactly one
// reply or a permitted close; nothing answers 500 or INTERNAL; the process
// sees no unhandled rejection or exception; the server still works after.
// Valid requests naming another peer's objects must get NOT_FOUND (or NOT_JOINED),
// every ok reply is checked against the protocol by hand, the victims are
// checked untouched at the end, and a pinned list of hand-written frames must
// get exactly the replies written next to them.
// The seed is fixed: a failure reproduces with the same messages.
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';

import {
	METHODS,
	isMethod,
	requestErrorCode,
	requestEnvelopeSchema,
	requestSchemas,
	type Method,
	type ResponseMessage,
	type SignallingErrorCode,
} from '../../src/protocol/messages.ts';
import type { Tureen } from '../../src/server.ts';
import { seededRandom } from '../support/random.ts';
import { startTestServer } from '../support/server.ts';
import { connect, type WsTestClient } from '../support/wsClient.ts';

const SEED = 0x7e5eed;
const LANES = 20;
const FRAMES_PER_LANE = 520;
const HTTP_CASES = 500;
const WS_MAX_MESSAGE_BYTES = 65536;
const HARD_FRAME_LIMIT = 4 * WS_MAX_MESSAGE_BYTES;
const HTTP_BODY_LIMIT = 64 * 1024;
const REPLY_TIMEOUT_MS = 10_000;
// Below the server's budgets (100 requests, 5 joins per socket, refilled over
// time): a lane opens a fresh socket before it would be rate limited, so the
// messages reach parsing and validation instead of bouncing off the limiter.
const REQUESTS_PER_SOCKET = 95;
const JOINS_PER_SOCKET = 5;
/** Close codes a fuzzed socket may legitimately end with. */
const PERMITTED_CLOSES: Record<number, string> = {
	1007: 'invalid UTF-8 in a text frame (ws)',
	1009: `frame above ${HARD_FRAME_LIMIT} bytes (ws maxPayload)`,
	4401: 'UNAUTHORIZED/FORBIDDEN join',
};
const MAX_FAILURE_DETAILS = 40;
/** Floors well below what the seed produces, so a generator that stops reaching the handlers fails. */
const MIN_FOREIGN_REFUSED = 100;
const MIN_OK_PER_METHOD = 10;

// ---------------------------------------------------------------- PRNG


class Rng {
	readonly #next: () => number;

	constructor(seed: number) {
		this.#next = seededRandom(seed);
	}

	float(): number {
		return this.#next();
	}

	/** 0 <= n < max */
	int(max: number): number {
		return Math.floor(this.#next() * max);
	}

	range(min: number, max: number): number {
		return min + this.int(max - min + 1);
	}

	chance(p: number): boolean {
		return this.#next() < p;
	}

	pick<T>(items: readonly T[]): T {
		return items[this.int(items.length)]!;
	}

	/** Picks by weight: [[weight, value], ...]. */
	weighted<T>(entries: readonly (readonly [number, T])[]): T {
		const total = entries.reduce((n, [w]) => n + w, 0);
		let roll = this.float() * total;
		for (const [w, value] of entries) {
			roll -= w;
			if (roll < 0) return value;
		}
		return entries[entries.length - 1]![1];
	}
}

// ---------------------------------------------------------------- random values

const KEY_POOL = [
	'id', 'method', 'data', 'roomId', 'displayName', 'rtpCapabilities', 'token', 'direction', 'transportId',
	'dtlsParameters', 'kind', 'rtpParameters', 'appData', 'producerId', 'consumerId', 'ok', 'error', 'notification',
	'__proto__', 'constructor', 'prototype', 'toString', '', ' ', 'x'.repeat(300), '\u0000', 'ключ', '🔥',
];
const WEIRD_STRINGS = [
	'', ' ', '\t\n', '\u0000', 'null', 'undefined', 'NaN', '-1', '0', '1e999', 'true', '{}', '[]', '"', '\\', '%00', '../..',
	'<script>alert(1)</script>', "'; DROP TABLE rooms; --", '\u202e\u0301', '\ud800', '\udfff', '🎥🎤', 'a'.repeat(64), 'a'.repeat(65),
	'${process.exit()}', '__proto__', 'constructor', 'send', 'recv', 'audio', 'video', 'data',
];
const WEIRD_NUMBERS = [
	0, -0, 1, -1, 0.5, -0.5, 1.5, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e308,
	-1e308, 5e-324, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 65536, 4294967296,
];

function randomString(rng: Rng, maxLength = 40): string {
	switch (rng.int(5)) {
		case 0:
			return rng.pick(WEIRD_STRINGS);
		case 1: {
			let s = '';
			const n = rng.int(maxLength + 1);
			for (let i = 0; i < n; i++) s += String.fromCharCode(32 + rng.int(95));
			return s;
		}
		case 2: {
			let s = '';
			const n = rng.int(Math.min(maxLength, 20) + 1);
			for (let i = 0; i < n; i++) s += String.fromCodePoint(rng.pick([rng.int(0x20), 0x80 + rng.int(0x780), 0x4e00 + rng.int(0x5000), 0x1f300 + rng.int(0x300), 0xd800 + rng.int(0x800)]));
			return s;
		}
		case 3:
			return rng.pick(['x', 'ab', '0123456789abcdef']).repeat(rng.range(1, 200));
		default:
			return `${rng.pick(['room', 'fuzz', 'peer', 't', 'p'])}-${rng.int(100)}`;
	}
}

/** A random id shaped like mediasoup's (a UUID), from the seeded PRNG. */
function uuidLike(rng: Rng): string {
	const hex = (n: number) => Array.from({ length: n }, () => rng.int(16).toString(16)).join('');
	return `${hex(8)}-${hex(4)}-4${hex(3)}-${rng.pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
}

function randomNumber(rng: Rng): number {
	switch (rng.int(3)) {
		case 0:
			return rng.pick(WEIRD_NUMBERS);
		case 1:
			return rng.int(1000);
		default:
			return (rng.float() - 0.5) * 10 ** rng.int(20);
	}
}

function randomValue(rng: Rng, depth = 0): unknown {
	const leafOnly = depth >= 4;
	const kind = rng.weighted<string>([
		[2, 'null'],
		[2, 'bool'],
		[4, 'number'],
		[5, 'string'],
		[leafOnly ? 0 : 3, 'array'],
		[leafOnly ? 0 : 4, 'object'],
	]);
	switch (kind) {
		case 'null':
			return null;
		case 'bool':
			return rng.chance(0.5);
		case 'number':
			return randomNumber(rng);
		case 'string':
			return randomString(rng);
		case 'array':
			return Array.from({ length: rng.int(6) }, () => randomValue(rng, depth + 1));
		default: {
			const object: Record<string, unknown> = {};
			const n = rng.int(6);
			for (let i = 0; i < n; i++) {
				const key = rng.chance(0.7) ? rng.pick(KEY_POOL) : randomString(rng, 12);
				// Own data properties, as JSON.parse makes them (even for "__proto__").
				Object.defineProperty(object, key, { value: randomValue(rng, depth + 1), enumerable: true, writable: true, configurable: true });
			}
			return object;
		}
	}
}

/** A value of another JSON type than `value`. */
function retype(rng: Rng, value: unknown): unknown {
	const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
	const candidates: unknown[] = [null, true, 0, -1, 1.5, '', 'str', [], [value], {}, { value }].filter((c) => {
		const t = c === null ? 'null' : Array.isArray(c) ? 'array' : typeof c;
		return t !== type;
	});
	return rng.pick(candidates);
}

function deepNesting(rng: Rng, levels: number): string {
	if (rng.chance(0.5)) return `${'['.repeat(levels)}${rng.pick(['1', '"x"', 'null', ''])}${']'.repeat(levels)}`;
	return `${'{"a":'.repeat(levels)}${rng.pick(['1', '{}', '"x"'])}${'}'.repeat(levels)}`;
}

// ---------------------------------------------------------------- the oracle

type Frame = { payload: string | Buffer; binary: boolean; label: string };

type Expectation =
	| { kind: 'close'; codes: number[] }
	| {
			kind: 'reply';
			id: number | null;
			/** Exactly one of these error codes; undefined: ok or any error not excluded below. */
			codes?: SignallingErrorCode[];
			method?: Method;
			data?: unknown;
			/** The request names another peer's transport, producer or consumer. */
			foreign?: boolean;
			takesRequest: boolean;
			takesJoin: boolean;
	  };

/** Errors a request that passed its method's schema never gets. */
const NEVER_FOR_VALID: ReadonlySet<string> = new Set(['INVALID_JSON', 'UNKNOWN_METHOD', 'MESSAGE_TOO_LARGE', 'INTERNAL']);

/**
 * The code a schema-valid request that names another peer's object must get:
 * written out by hand from the ownership rule (a peer acts only on its own
 * transports, producers and consumers), not derived from the server's code.
 * Consuming another peer's producer is the one legitimate use of their ids.
 */
function foreignIdCode(method: Method, data: Record<string, unknown>, victims: Victims, joined: boolean): SignallingErrorCode | undefined {
	const theirs = (ids: string[], key: string) => typeof data[key] === 'string' && ids.includes(data[key]);
	switch (method) {
		case 'connectWebRtcTransport':
		case 'restartIce':
			return theirs(victims.transports, 'transportId') ? 'NOT_FOUND' : undefined;
		case 'produce':
		case 'consume':
			// Both check membership before the transport.
			return theirs(victims.transports, 'transportId') ? (joined ? 'NOT_FOUND' : 'NOT_JOINED') : undefined;
		case 'closeProducer':
		case 'pauseProducer':
		case 'resumeProducer':
			return theirs(victims.producers, 'producerId') ? 'NOT_FOUND' : undefined;
		case 'resumeConsumer':
		case 'pauseConsumer':
		case 'setConsumerPreferredLayers':
		case 'setConsumerPriority':
		case 'requestKeyFrame':
			return theirs(victims.consumers, 'consumerId') ? 'NOT_FOUND' : undefined;
		default:
			return undefined;
	}
}

/** What the protocol says the server must do with `frame` (schemas from the shared protocol). */
function expectationFor(frame: Frame, victims: Victims, joined: boolean): Expectation {
	const bytes = typeof frame.payload === 'string' ? Buffer.from(frame.payload) : frame.payload;
	// Every frame the server reads counts against its rate limit, whatever is wrong with it.
	const none = { takesRequest: true, takesJoin: false };
	if (bytes.length > HARD_FRAME_LIMIT) return { kind: 'close', codes: [1009] };
	if (frame.binary) return { kind: 'reply', id: null, codes: ['BAD_REQUEST'], ...none };
	if (!isUtf8(bytes)) return { kind: 'close', codes: [1007] };
	if (bytes.length > WS_MAX_MESSAGE_BYTES) return { kind: 'reply', id: null, codes: ['MESSAGE_TOO_LARGE'], ...none };
	let json: unknown;
	try {
		json = JSON.parse(bytes.toString());
	} catch {
		return { kind: 'reply', id: null, codes: ['INVALID_JSON'], ...none };
	}
	const envelope = requestEnvelopeSchema.safeParse(json);
	if (!envelope.success) return { kind: 'reply', id: null, codes: ['BAD_REQUEST'], ...none };
	const { id, method } = envelope.data;
	if (!isMethod(method)) return { kind: 'reply', id, codes: ['UNKNOWN_METHOD'], ...none };
	const taken = { takesRequest: true, takesJoin: method === 'join' };
	const data = envelope.data.data ?? {};
	const parsed = requestSchemas[method].safeParse(data);
	if (!parsed.success) return { kind: 'reply', id, codes: [requestErrorCode(data, parsed.error), 'RATE_LIMITED'], method, ...taken };
	const foreign = foreignIdCode(method, parsed.data as Record<string, unknown>, victims, joined);
	if (foreign) return { kind: 'reply', id, codes: [foreign], method, data: parsed.data, foreign: true, ...taken };
	return { kind: 'reply', id, method, data: parsed.data, ...taken };
}

// ---------------------------------------------------------------- lanes

type Victims = {
	roomId: string;
	peerIds: string[];
	transports: string[];
	producers: string[];
	consumers: string[];
};

type SetupStep = 'join' | 'send' | 'recv' | 'produce' | 'consume';
const SETUP: readonly SetupStep[] = ['join', 'send', 'recv', 'produce', 'consume'];

type LaneState = {
	client: WsTestClient | undefined;
	/** Valid requests still to send on this socket before the fuzzing, so the fuzz meets real state. */
	setup: SetupStep[];
	requestsOnSocket: number;
	joinsOnSocket: number;
	joined: boolean;
	send: string[];
	recv: string[];
	producers: string[];
	consumers: string[];
	dataProducers: string[];
};

type Stats = {
	wsFrames: number;
	/** Frames that got their reply or their expected close. */
	answered: number;
	/** NOT_FOUND / NOT_JOINED replies to requests naming another peer's object. */
	foreignRefused: number;
	sockets: number;
	closes: Record<string, number>;
	replies: Record<string, number>;
	/** Replies to requests that passed their schema, per method and outcome. */
	byMethod: Record<string, Record<string, number>>;
	notifications: number;
	http: number;
	httpStatuses: Record<string, number>;
	/**
	 * Error replies Fastify makes itself, outside the app's error handler, in
	 * its own shape: kind -> count and one example. Reported by a todo test.
	 */
	httpFrameworkShape: Record<string, { count: number; example: string }>;
	failures: string[];
	failureCount: number;
};

function fail(stats: Stats, message: string): void {
	stats.failureCount++;
	if (stats.failures.length < MAX_FAILURE_DETAILS) stats.failures.push(message);
}

function bump(counter: Record<string, number>, key: string): void {
	counter[key] = (counter[key] ?? 0) + 1;
}

function describeFrame(frame: Frame): string {
	const text = typeof frame.payload === 'string' ? frame.payload : frame.payload.toString('hex');
	return `[${frame.label}${frame.binary ? ', binary' : ''}, ${Buffer.byteLength(frame.payload)} B] ${text.slice(0, 160)}`;
}

function opusRtpParameters(ssrc: number): Record<string, unknown> {
	return {
		codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 }, rtcpFeedback: [] }],
		encodings: [{ ssrc }],
		headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 }],
		rtcp: { cname: `fuzz-${ssrc}`, reducedSize: true },
	};
}

function vp8RtpParameters(ssrc: number): Record<string, unknown> {
	return {
		codecs: [
			{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack' }] },
			{ mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 }, rtcpFeedback: [] },
		],
		encodings: [{ ssrc, rtx: { ssrc: ssrc + 1 } }],
		headerExtensions: [],
		rtcp: { cname: `fuzz-${ssrc}`, reducedSize: true },
	};
}

class Generator {
	readonly #rng: Rng;
	readonly #lane: number;
	readonly #victims: Victims;
	readonly #rtpCapabilities: Record<string, unknown>;
	#nextId = 1;

	constructor(rng: Rng, lane: number, victims: Victims, rtpCapabilities: Record<string, unknown>) {
		this.#rng = rng;
		this.#lane = lane;
		this.#victims = victims;
		this.#rtpCapabilities = rtpCapabilities;
	}

	get #roomId(): string {
		const rng = this.#rng;
		return rng.weighted<string>([
			[3, `fuzz-lane-${this.#lane}`],
			[5, this.#victims.roomId],
			[2, `fuzz-shared-${rng.int(4)}`],
		]);
	}

	/** Most new sockets first join and set up media properly; the rest are fuzzed from scratch. */
	planSetup(state: LaneState): void {
		state.setup = this.#rng.chance(0.8) ? [...SETUP] : [];
	}

	/** The next setup request, valid and aimed at the victims' room (whose producers it consumes). */
	#setupRequest(step: SetupStep, state: LaneState): { id: number; method: Method; data: Record<string, unknown> } {
		const id = this.#nextId++;
		switch (step) {
			case 'join':
				return { id, method: 'join', data: { roomId: this.#victims.roomId, displayName: `lane ${this.#lane}`, rtpCapabilities: this.#rtpCapabilities } };
			case 'send':
			case 'recv':
				return { id, method: 'createWebRtcTransport', data: { direction: step } };
			case 'produce':
				return {
					id,
					method: 'produce',
					data: { transportId: state.send[0] ?? 'none', kind: 'audio', rtpParameters: opusRtpParameters(20_000 + this.#lane * 100_000 + this.#rng.int(10_000)) },
				};
			case 'consume':
				return { id, method: 'consume', data: { producerId: this.#rng.pick(this.#victims.producers), transportId: state.recv[0] ?? 'none' } };
		}
	}

	#someId(own: string[], victims: string[]): string {
		const rng = this.#rng;
		return rng.weighted<() => string>([
			[own.length > 0 ? 6 : 0, () => rng.pick(own)],
			[victims.length > 0 ? 4 : 0, () => rng.pick(victims)],
			[1, () => randomString(rng, 64) || 'x'],
			[1, () => uuidLike(rng)],
		])();
	}

	/** A request that passes its schema, aimed at this lane's state, other peers' ids now and then. */
	validRequest(method: Method, state: LaneState): { id: number; method: Method; data: Record<string, unknown> } {
		const rng = this.#rng;
		const v = this.#victims;
		const transports = [...state.send, ...state.recv];
		let data: Record<string, unknown>;
		switch (method) {
			case 'getRouterRtpCapabilities':
				data = { roomId: this.#roomId };
				break;
			case 'join':
				data = {
					roomId: this.#roomId,
					displayName: rng.chance(0.8) ? `lane ${this.#lane}` : randomString(rng, 64).trim() || 'n',
					rtpCapabilities: rng.chance(0.9) ? this.#rtpCapabilities : (randomValue(rng, 3) as object) ?? {},
					...(rng.chance(0.2) ? { token: randomString(rng, 100) } : {}),
				};
				if (typeof data.rtpCapabilities !== 'object' || data.rtpCapabilities === null || Array.isArray(data.rtpCapabilities)) {
					data.rtpCapabilities = { codecs: data.rtpCapabilities };
				}
				break;
			case 'createWebRtcTransport':
				data = { direction: rng.pick(['send', 'recv']) };
				break;
			case 'connectWebRtcTransport':
				data = {
					transportId: this.#someId(transports, v.transports),
					dtlsParameters: {
						role: rng.pick(['client', 'server', 'auto']),
						fingerprints: [{ algorithm: rng.pick(['sha-256', 'sha-1', 'md5', 'sha-999']), value: Array.from({ length: 32 }, () => rng.int(256).toString(16).padStart(2, '0').toUpperCase()).join(':') }],
					},
				};
				break;
			case 'restartIce':
				data = { transportId: this.#someId(transports, v.transports) };
				break;
			case 'produce': {
				const kind = rng.pick(['audio', 'video'] as const);
				// Mostly fresh SSRCs; now and then one this transport may already use, or one mediasoup refuses.
				const ssrc = rng.chance(0.8) ? 10_000 + this.#lane * 100_000 + rng.int(90_000) : rng.pick([0, 1, 1111, 4294967295, 2 ** 40, -1, 1.5]);
				const parameters = kind === 'audio' ? opusRtpParameters(ssrc) : vp8RtpParameters(ssrc);
				data = {
					transportId: this.#someId(rng.chance(0.8) ? state.send : transports, v.transports),
					kind: rng.chance(0.9) ? kind : kind === 'audio' ? 'video' : 'audio',
					rtpParameters: parameters,
					...(rng.chance(0.3) ? { appData: { label: randomString(rng), n: rng.int(10), flag: rng.chance(0.5) } } : {}),
				};
				break;
			}
			case 'closeProducer':
			case 'pauseProducer':
			case 'resumeProducer':
				data = { producerId: this.#someId(state.producers, v.producers) };
				break;
			case 'consume':
				data = {
					producerId: this.#someId(rng.chance(0.2) ? state.producers : [], v.producers),
					transportId: this.#someId(rng.chance(0.8) ? state.recv : transports, v.transports),
				};
				break;
			case 'resumeConsumer':
			case 'pauseConsumer':
			case 'requestKeyFrame':
				data = { consumerId: this.#someId(state.consumers, v.consumers) };
				break;
			case 'produceData':
				data = {
					transportId: this.#someId(rng.chance(0.8) ? state.send : transports, v.transports),
					sctpStreamParameters: { streamId: rng.chance(0.9) ? rng.int(1024) : rng.pick([-1, 65535, 70000, 1.5]), ordered: rng.chance(0.8) },
					...(rng.chance(0.5) ? { label: randomString(rng, 64) } : {}),
				};
				break;
			case 'closeDataProducer':
				data = { dataProducerId: this.#someId(state.dataProducers, []) };
				break;
			case 'consumeData':
				data = { dataProducerId: this.#someId(state.dataProducers, []), transportId: this.#someId(rng.chance(0.8) ? state.recv : transports, v.transports) };
				break;
			case 'setConsumerPreferredLayers':
				data = {
					consumerId: this.#someId(state.consumers, v.consumers),
					spatialLayer: rng.int(3),
					...(rng.chance(0.5) ? { temporalLayer: rng.int(3) } : {}),
				};
				break;
			case 'setConsumerPriority':
				data = { consumerId: this.#someId(state.consumers, v.consumers), priority: 1 + rng.int(255) };
				break;
			case 'getRoomState':
			case 'leave':
				data = {};
				break;
		}
		return { id: this.#nextId++, method, data };
	}

	/** The next frame of this lane. */
	next(state: LaneState): Frame {
		const rng = this.#rng;
		const step = state.setup.shift();
		if (step) return { payload: JSON.stringify(this.#setupRequest(step, state)), binary: false, label: `setup ${step}` };
		const kind = rng.weighted<string>([
			[16, 'valid'],
			[38, 'mutated'],
			[12, 'envelope'],
			[12, 'random-json'],
			[6, 'binary'],
			[3, 'empty'],
			[1.5, 'invalid-utf8'],
			[3, 'large'],
			[0.2, 'over-hard-cap'],
			[2, 'deep'],
			[5, 'text-oddities'],
		]);
		switch (kind) {
			case 'valid':
				return { payload: JSON.stringify(this.validRequest(this.#progressMethod(state), state)), binary: false, label: kind };
			case 'mutated':
				return this.#mutated(state);
			case 'envelope':
				return { payload: JSON.stringify(this.#envelope()), binary: false, label: kind };
			case 'random-json':
				return { payload: JSON.stringify(randomValue(rng)) ?? 'null', binary: false, label: kind };
			case 'binary': {
				const payload = rng.chance(0.5)
					? Buffer.from(JSON.stringify(this.validRequest(rng.pick(METHODS), state)))
					: Buffer.from(Array.from({ length: rng.int(300) }, () => rng.int(256)));
				return { payload, binary: true, label: kind };
			}
			case 'empty':
				return rng.chance(0.5) ? { payload: '', binary: false, label: kind } : { payload: Buffer.alloc(0), binary: true, label: kind };
			case 'invalid-utf8': {
				const bad = rng.pick([[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80]]);
				const valid = Buffer.from(JSON.stringify({ id: this.#nextId++, method: 'join', data: { displayName: 'x' } }));
				const at = rng.int(valid.length);
				return { payload: Buffer.concat([valid.subarray(0, at), Buffer.from(bad), valid.subarray(at)]), binary: false, label: kind };
			}
			case 'large': {
				// Between the soft limit and ~200 KB: MESSAGE_TOO_LARGE, socket kept.
				const size = rng.range(WS_MAX_MESSAGE_BYTES + 1, 200 * 1024);
				const request = this.validRequest(rng.pick(METHODS), state);
				const head = JSON.stringify({ ...request, data: { ...request.data, pad: '' } }).slice(0, -3);
				return { payload: `${head}${'p'.repeat(Math.max(0, size - head.length - 3))}"}}`, binary: false, label: kind };
			}
			case 'over-hard-cap':
				return { payload: `{"id":1,"method":"leave","data":{"pad":"${'q'.repeat(HARD_FRAME_LIMIT)}"}}`, binary: false, label: kind };
			case 'deep': {
				const levels = rng.range(500, 1500);
				const nested = deepNesting(rng, levels);
				if (rng.chance(0.4)) return { payload: nested, binary: false, label: kind };
				const method = rng.pick(METHODS);
				const field = rng.pick(['data', 'rtpCapabilities', 'rtpParameters', 'dtlsParameters', 'appData', 'roomId']);
				const data = field === 'data' ? nested : `{"${field}":${nested}}`;
				return { payload: `{"id":${this.#nextId++},"method":"${method}","data":${data}}`, binary: false, label: kind };
			}
			default:
				return { payload: this.#textOddity(state), binary: false, label: kind };
		}
	}

	/** Mostly moves the lane forward (join, transports, produce, consume), sometimes out of order. */
	#progressMethod(state: LaneState): Method {
		const rng = this.#rng;
		if (rng.chance(0.25)) return rng.pick(METHODS);
		if (!state.joined) return rng.chance(0.7) ? 'join' : 'getRouterRtpCapabilities';
		if (state.send.length === 0 || state.recv.length === 0) return 'createWebRtcTransport';
		return rng.weighted<Method>([
			[3, 'produce'],
			[3, 'consume'],
			[1, 'pauseProducer'],
			[1, 'resumeProducer'],
			[1, 'closeProducer'],
			[2, 'resumeConsumer'],
			[1, 'restartIce'],
			[1, 'produceData'],
			[1, 'consumeData'],
			[1, 'closeDataProducer'],
			[1, 'connectWebRtcTransport'],
			[1, 'createWebRtcTransport'],
			[1, 'leave'],
		]);
	}

	#envelope(): unknown {
		const rng = this.#rng;
		const envelope: Record<string, unknown> = {};
		if (rng.chance(0.85)) envelope.id = rng.chance(0.5) ? rng.pick(WEIRD_NUMBERS) : rng.chance(0.5) ? this.#nextId++ : randomValue(rng, 3);
		if (rng.chance(0.85)) {
			envelope.method = rng.weighted<() => unknown>([
				[4, () => rng.pick(METHODS)],
				[2, () => randomString(rng, 70)],
				[1, () => rng.pick(METHODS).toUpperCase()],
				[1, () => randomValue(rng, 3)],
				[1, () => rng.pick(['hasOwnProperty', 'constructor', '__proto__', 'valueOf', 'toString'])],
			])();
		}
		if (rng.chance(0.8)) envelope.data = randomValue(rng, 1);
		if (rng.chance(0.15)) envelope[rng.pick(KEY_POOL)] = randomValue(rng, 3);
		return rng.chance(0.1) ? [envelope] : envelope;
	}

	#mutated(state: LaneState): Frame {
		const rng = this.#rng;
		// A deep copy: mutations must not reach shared objects such as the router's rtpCapabilities.
		const request: Record<string, unknown> = structuredClone(this.validRequest(rng.pick(METHODS), state));
		const mutations = rng.range(1, 3);
		const applied: string[] = [];
		for (let i = 0; i < mutations; i++) applied.push(this.#mutate(request));
		return { payload: JSON.stringify(request), binary: false, label: `mutated: ${applied.join(', ')}` };
	}

	/** One mutation of a request in place; returns its name. */
	#mutate(request: Record<string, unknown>): string {
		const rng = this.#rng;
		const v = this.#victims;
		const data = request.data;
		const dataObject = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
		const paths = dataObject ? collectPaths(dataObject, 200) : [];
		const kind = rng.weighted<string>([
			[paths.length > 0 ? 4 : 0, 'drop-field'],
			[paths.length > 0 ? 3 : 0, 'rename-field'],
			[paths.length > 0 ? 6 : 0, 'retype-field'],
			[paths.length > 0 ? 3 : 0, 'random-field'],
			[dataObject ? 3 : 0, 'extra-field'],
			[dataObject ? 4 : 0, 'foreign-id'],
			[2, 'retype-data'],
			[1, 'drop-data'],
			[3, 'bad-id'],
			[2, 'swap-method'],
			[1, 'extra-envelope-field'],
			[1, 'drop-id-or-method'],
		]);
		switch (kind) {
			case 'drop-field': {
				const { parent, key } = rng.pick(paths);
				delete parent[key as never];
				break;
			}
			case 'rename-field': {
				const { parent, key } = rng.pick(paths);
				if (Array.isArray(parent)) break;
				const value = parent[key as never];
				delete parent[key as never];
				const renamed = rng.pick([`${key}_`, String(key).toUpperCase(), `${key}`.slice(1), ` ${key}`, `${key}Id`]);
				(parent as Record<string, unknown>)[renamed] = value;
				break;
			}
			case 'retype-field': {
				const { parent, key } = rng.pick(paths);
				(parent as Record<string, unknown>)[key as never] = retype(rng, parent[key as never]);
				break;
			}
			case 'random-field': {
				const { parent, key } = rng.pick(paths);
				(parent as Record<string, unknown>)[key as never] = rng.chance(0.5) ? randomValue(rng, 2) : rng.pick(WEIRD_NUMBERS);
				break;
			}
			case 'extra-field':
				dataObject![rng.chance(0.5) ? rng.pick(KEY_POOL) : randomString(rng, 10)] = randomValue(rng, 3);
				break;
			case 'foreign-id': {
				const field = rng.pick(['transportId', 'producerId', 'consumerId', 'roomId', 'peerId']);
				dataObject![field] = rng.weighted<() => unknown>([
					[3, () => rng.pick([...v.transports, ...v.producers, ...v.consumers, ...v.peerIds])],
					[1, () => v.roomId],
					[1, () => 'x'.repeat(rng.pick([0, 1, 63, 64, 65, 1000]))],
				])();
				break;
			}
			case 'retype-data':
				request.data = rng.pick<unknown>([null, [], [data], 'data', 0, true, randomValue(rng, 2)]);
				break;
			case 'drop-data':
				delete request.data;
				break;
			case 'bad-id':
				request.id = rng.pick<unknown>([-1, -0.5, 1.5, 2 ** 53, 2 ** 53 + 2, 1e21, '1', null, true, [], {}, 0, Number.MAX_SAFE_INTEGER]);
				break;
			case 'swap-method':
				request.method = rng.chance(0.7) ? rng.pick(METHODS) : rng.pick(['', 'Join', 'join ', 'leave\u0000', 'x'.repeat(65)]);
				break;
			case 'extra-envelope-field':
				request[rng.pick(['ok', 'error', 'notification', 'token', 'ID', 'params'])] = randomValue(rng, 2);
				break;
			default:
				delete request[rng.chance(0.5) ? 'id' : 'method'];
				break;
		}
		return kind;
	}

	#textOddity(state: LaneState): string {
		const rng = this.#rng;
		const valid = JSON.stringify(this.validRequest(rng.pick(METHODS), state));
		return rng.pick([
			() => `\ufeff${valid}`,
			() => ` \n\t${valid}\n `,
			() => `${valid}${valid}`,
			() => valid.slice(0, rng.int(valid.length)),
			() => valid.replace('"id":', '"id":1e999,"x":'),
			() => valid.replace(/"id":\d+/, `"id":${this.#nextId++},"id":${this.#nextId++}`),
			() => `{"id":${this.#nextId++},"method":"leave","data":{},"method":"join"}`,
			() => `{"id":${this.#nextId++},"method":"leave","data":{"\\ud800":"\\udfff"}}`,
			() => `{"id":${this.#nextId++},"method":"leave","data":{"__proto__":{"polluted":true}}}`,
			() => `{"id":${this.#nextId++},"method":"join","data":{"roomId":"r","displayName":"\\u0000","rtpCapabilities":{"__proto__":{"codecs":1}}}}`,
			() => `{"id":${this.#nextId++}.0,"method":"leave","data":{}}`,
			() => `{"id":-0,"method":"leave","data":{}}`,
			() => `{"id":${this.#nextId++},"method":"leave","data":{}} trailing`,
			() => 'NaN',
			() => 'Infinity',
			() => "{'id':1,'method':'leave'}",
			() => '[]'.repeat(1000),
			() => `"${'s'.repeat(rng.int(60_000))}"`,
		])();
	}
}

/** Every (parent, key) inside `root` (not root itself), breadth first, at most `limit`. */
function collectPaths(root: Record<string, unknown>, limit: number): { parent: Record<string, unknown> | unknown[]; key: string | number }[] {
	const paths: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
	const queue: (Record<string, unknown> | unknown[])[] = [root];
	for (let head = 0; head < queue.length && paths.length < limit; head++) {
		const parent = queue[head]!;
		const keys: (string | number)[] = Array.isArray(parent) ? parent.map((_, i) => i) : Object.keys(parent);
		for (const key of keys) {
			if (paths.length >= limit) break;
			paths.push({ parent, key });
			const child = (parent as Record<string | number, unknown>)[key];
			if (typeof child === 'object' && child !== null) queue.push(child as Record<string, unknown>);
		}
	}
	return paths;
}

function resetState(state: LaneState): void {
	state.client = undefined;
	state.setup = [];
	state.requestsOnSocket = 0;
	state.joinsOnSocket = 0;
	state.joined = false;
	state.send = [];
	state.recv = [];
	state.producers = [];
	state.consumers = [];
	state.dataProducers = [];
}

/** Learns the lane's own ids from successful replies and notifications. */
function learn(state: LaneState, method: Method | undefined, data: unknown, response: ResponseMessage, stats: Stats): void {
	for (const message of state.client?.takeBuffered() ?? []) {
		if (!('notification' in message)) {
			fail(stats, `a reply nobody asked for: ${JSON.stringify(message).slice(0, 200)}`);
			continue;
		}
		if (message.notification === 'roomClosed' || message.notification === 'roomMoved') {
			state.send = [];
			state.recv = [];
			state.producers = [];
			state.consumers = [];
			state.dataProducers = [];
			if (message.notification === 'roomClosed') state.joined = false;
		}
	}
	if (!response.ok || !method) return;
	const result = response.data as Record<string, unknown>;
	switch (method) {
		case 'join':
			state.joined = true;
			break;
		case 'createWebRtcTransport':
			((data as { direction: string }).direction === 'send' ? state.send : state.recv).push(String(result.transportId));
			break;
		case 'produce':
			state.producers.push(String(result.producerId));
			break;
		case 'consume':
			state.consumers.push(String(result.consumerId));
			break;
		case 'closeProducer':
			state.producers = state.producers.filter((id) => id !== (data as { producerId: string }).producerId);
			break;
		case 'produceData':
			state.dataProducers.push(String(result.dataProducerId));
			break;
		case 'closeDataProducer':
			state.dataProducers = state.dataProducers.filter((id) => id !== (data as { dataProducerId: string }).dataProducerId);
			break;
		case 'leave':
			state.joined = false;
			state.send = [];
			state.recv = [];
			state.producers = [];
			state.consumers = [];
			state.dataProducers = [];
			break;
		default:
			break;
	}
}

async function closeLaneSocket(state: LaneState, stats: Stats): Promise<void> {
	const client = state.client;
	if (!client) return;
	await client.close();
	checkClientAfterUse(client, stats);
	resetState(state);
}

function checkClientAfterUse(client: WsTestClient, stats: Stats): void {
	for (const { text, problem } of client.invalidFrames) fail(stats, `malformed server frame (${problem}): ${text}`);
	stats.notifications += client.notifications.length;
	for (const message of client.takeBuffered()) {
		if ('ok' in message) fail(stats, `a reply nobody asked for: ${JSON.stringify(message).slice(0, 200)}`);
	}
}

const RTC_BASE_PORT = 56000;
const RTC_PORTS = 2 * 1000;
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isId = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 64;

/**
 * Why an ok reply is wrong for its request, by hand from the protocol
 * (src/protocol/messages.ts ResponseData) and the lane's own state; undefined when right.
 */
function successProblem(method: Method, data: Record<string, unknown>, result: unknown, state: LaneState, victims: Victims): string | undefined {
	if (!isObject(result)) return 'has no data object';
	const victimIds = new Set([...victims.peerIds, ...victims.transports, ...victims.producers, ...victims.consumers]);
	switch (method) {
		case 'getRouterRtpCapabilities':
			if (!isObject(result.rtpCapabilities) || !Array.isArray(result.rtpCapabilities.codecs) || result.rtpCapabilities.codecs.length === 0) return 'lacks codecs';
			return result.workerId === 0 || result.workerId === 1 ? undefined : 'names no worker of the two';
		case 'join': {
			if (!isId(result.peerId) || victimIds.has(result.peerId)) return 'lacks a fresh peerId';
			if (result.roomId !== data.roomId) return 'names another room';
			if (result.workerId !== 0 && result.workerId !== 1) return 'names no worker of the two';
			if (!Array.isArray(result.peers) || !Array.isArray(result.producers)) return 'lacks peers or producers';
			const peerIds = result.peers.map((p) => (isObject(p) ? p.peerId : undefined));
			if (data.roomId === victims.roomId && !victims.peerIds.every((id) => peerIds.includes(id))) return 'does not list the victims';
			return peerIds.includes(result.peerId) ? 'lists the joiner among the others' : undefined;
		}
		case 'createWebRtcTransport': {
			if (!isId(result.transportId) || victimIds.has(result.transportId)) return 'lacks a fresh transportId';
			const candidates = result.iceCandidates;
			if (!Array.isArray(candidates) || candidates.length === 0) return 'has no ICE candidates';
			const ports = candidates.map((c) => (isObject(c) ? Number(c.port) : NaN));
			if (!ports.every((port) => port >= RTC_BASE_PORT && port < RTC_BASE_PORT + RTC_PORTS)) return `has ports outside the RTC range: ${ports.join(',')}`;
			if (!isObject(result.iceParameters) || typeof result.iceParameters.usernameFragment !== 'string') return 'lacks ICE parameters';
			return isObject(result.dtlsParameters) && Array.isArray(result.dtlsParameters.fingerprints) ? undefined : 'lacks DTLS fingerprints';
		}
		case 'restartIce':
			if (!state.send.includes(String(data.transportId)) && !state.recv.includes(String(data.transportId))) return 'for a transport the lane does not own';
			return isObject(result.iceParameters) && typeof result.iceParameters.usernameFragment === 'string' ? undefined : 'lacks ICE parameters';
		case 'produce':
			if (!state.send.includes(String(data.transportId))) return 'on a transport that is not the lane\'s send transport';
			return isId(result.producerId) && !victimIds.has(result.producerId) ? undefined : 'lacks a fresh producerId';
		case 'consume': {
			if (!state.recv.includes(String(data.transportId))) return 'on a transport that is not the lane\'s receive transport';
			if (!isId(result.consumerId) || victimIds.has(result.consumerId)) return 'lacks a fresh consumerId';
			if (result.producerId !== data.producerId) return 'for another producer';
			const victim = victims.producers.indexOf(String(data.producerId));
			if (victim >= 0 && result.peerId !== victims.peerIds[victim]) return 'names the wrong producing peer';
			if (result.kind !== 'audio' && result.kind !== 'video') return 'has no kind';
			return isObject(result.rtpParameters) && typeof result.paused === 'boolean' ? undefined : 'lacks rtpParameters or paused';
		}
		case 'produceData':
			if (!state.send.includes(String(data.transportId))) return 'on a transport that is not the lane\'s send transport';
			return isId(result.dataProducerId) && !victimIds.has(result.dataProducerId) ? undefined : 'lacks a fresh dataProducerId';
		case 'consumeData':
			if (!state.recv.includes(String(data.transportId))) return 'on a transport that is not the lane\'s receive transport';
			if (!isId(result.dataConsumerId) || victimIds.has(result.dataConsumerId)) return 'lacks a fresh dataConsumerId';
			if (result.dataProducerId !== data.dataProducerId) return 'for another data producer';
			return isObject(result.sctpStreamParameters) && typeof result.label === 'string' ? undefined : 'lacks sctpStreamParameters or label';
		case 'closeDataProducer':
			if (!state.dataProducers.includes(String(data.dataProducerId))) return `closed ${String(data.dataProducerId)}, which the lane does not own`;
			return Object.keys(result).length === 0 ? undefined : 'is not {}';
		case 'connectWebRtcTransport':
		case 'closeProducer':
		case 'pauseProducer':
		case 'resumeProducer':
		case 'resumeConsumer': {
			const id = String(data.transportId ?? data.producerId ?? data.consumerId);
			const own = [...state.send, ...state.recv, ...state.producers, ...state.consumers];
			if (!own.includes(id)) return `acted on ${id}, which the lane does not own`;
			return Object.keys(result).length === 0 ? undefined : 'is not {}';
		}
		case 'leave':
			return Object.keys(result).length === 0 ? undefined : 'is not {}';
	}
}

async function runLane(lane: number, wsUrl: string, victims: Victims, rtpCapabilities: Record<string, unknown>, stats: Stats): Promise<void> {
	const rng = new Rng((SEED ^ Math.imul(lane + 1, 0x9e3779b1)) >>> 0);
	const generator = new Generator(rng, lane, victims, rtpCapabilities);
	const state: LaneState = { client: undefined, setup: [], requestsOnSocket: 0, joinsOnSocket: 0, joined: false, send: [], recv: [], producers: [], consumers: [], dataProducers: [] };

	for (let i = 0; i < FRAMES_PER_LANE; i++) {
		const frame = generator.next(state);
		let expectation = expectationFor(frame, victims, state.joined);
		if (
			state.client &&
			expectation.kind === 'reply' &&
			((expectation.takesRequest && state.requestsOnSocket >= REQUESTS_PER_SOCKET) || (expectation.takesJoin && state.joinsOnSocket >= JOINS_PER_SOCKET))
		) {
			await closeLaneSocket(state, stats);
		}
		if (!state.client) {
			state.client = await connect(wsUrl);
			stats.sockets++;
			generator.planSetup(state);
			// The frame now goes to a fresh socket that has joined nothing.
			expectation = expectationFor(frame, victims, state.joined);
		}
		const client = state.client;
		if (expectation.kind === 'reply') {
			if (expectation.takesRequest) state.requestsOnSocket++;
			if (expectation.takesJoin) state.joinsOnSocket++;
		}
		stats.wsFrames++;
		client.sendRaw(frame.payload, { binary: frame.binary });

		if (expectation.kind === 'close') {
			try {
				const { code } = await client.waitForClose(REPLY_TIMEOUT_MS);
				bump(stats.closes, String(code));
				if (!expectation.codes.includes(code)) fail(stats, `closed with ${code}, expected ${expectation.codes.join('/')}: ${describeFrame(frame)}`);
				else stats.answered++;
			} catch (error) {
				fail(stats, `${(error as Error).message}: ${describeFrame(frame)}`);
			}
			checkClientAfterUse(client, stats);
			await client.close();
			resetState(state);
			continue;
		}

		let response: ResponseMessage;
		try {
			response = await client.nextResponse(REPLY_TIMEOUT_MS);
		} catch (error) {
			const closeInfo = client.closeInfo;
			if (closeInfo) {
				bump(stats.closes, String(closeInfo.code));
				if (!(closeInfo.code in PERMITTED_CLOSES)) fail(stats, `unexpected close ${closeInfo.code} ${closeInfo.reason}: ${describeFrame(frame)}`);
				else fail(stats, `closed (${closeInfo.code}) instead of replying: ${describeFrame(frame)}`);
			} else {
				fail(stats, `${(error as Error).message}: ${describeFrame(frame)}`);
			}
			checkClientAfterUse(client, stats);
			await client.close();
			resetState(state);
			continue;
		}

		stats.answered++;
		bump(stats.replies, response.ok ? 'ok' : response.error.code);
		if (expectation.method && !expectation.codes) bump((stats.byMethod[expectation.method] ??= {}), response.ok ? 'ok' : response.error.code);
		if (response.id !== expectation.id) {
			fail(stats, `reply id ${response.id}, expected ${expectation.id}: ${describeFrame(frame)} -> ${JSON.stringify(response).slice(0, 200)}`);
		}
		if (expectation.codes) {
			if (response.ok || !expectation.codes.includes(response.error.code)) {
				fail(stats, `expected ${expectation.codes.join('/')}: ${describeFrame(frame)} -> ${JSON.stringify(response).slice(0, 300)}`);
			} else if (expectation.foreign) {
				stats.foreignRefused++;
			}
		} else if (!response.ok && NEVER_FOR_VALID.has(response.error.code)) {
			fail(stats, `${response.error.code} for a valid ${expectation.method}: ${describeFrame(frame)} -> ${JSON.stringify(response).slice(0, 300)}`);
		} else if (response.ok && expectation.method) {
			const problem = successProblem(expectation.method, expectation.data as Record<string, unknown>, response.data, state, victims);
			if (problem) fail(stats, `ok ${expectation.method} reply ${problem}: ${describeFrame(frame)} -> ${JSON.stringify(response).slice(0, 300)}`);
		}
		learn(state, expectation.method, expectation.data, response, stats);

		if (!response.ok && (response.error.code === 'UNAUTHORIZED' || response.error.code === 'FORBIDDEN')) {
			const { code } = await client.waitForClose(REPLY_TIMEOUT_MS).catch(() => ({ code: -1 }));
			bump(stats.closes, String(code));
			if (code !== 4401) fail(stats, `no 4401 close after ${response.error.code}`);
			checkClientAfterUse(client, stats);
			resetState(state);
		}
	}
	await closeLaneSocket(state, stats);
}


/** Two well-behaved peers (audio producers, send and recv transports, one consumer) whose ids others try to use. */
async function setUpVictims(wsUrl: string, roomId: string, clients: WsTestClient[]): Promise<{ victims: Victims; rtpCapabilities: Record<string, unknown>; v: WsTestClient[] }> {
	const v = [await connect(wsUrl), await connect(wsUrl)];
	clients.push(...v);
	const caps = (await v[0]!.requestOk('getRouterRtpCapabilities', { roomId })) as { rtpCapabilities: Record<string, unknown> };
	const rtpCapabilities = caps.rtpCapabilities;
	const victims: Victims = { roomId, peerIds: [], transports: [], producers: [], consumers: [] };
	for (const [i, client] of v.entries()) {
		const joined = (await client.requestOk('join', { roomId, displayName: `victim ${i}`, rtpCapabilities })) as { peerId: string };
		victims.peerIds.push(joined.peerId);
		for (const direction of ['send', 'recv'] as const) {
			victims.transports.push(((await client.requestOk('createWebRtcTransport', { direction })) as { transportId: string }).transportId);
		}
		const produced = (await client.requestOk('produce', { transportId: victims.transports[i * 2]!, kind: 'audio', rtpParameters: opusRtpParameters(7000 + i) })) as {
			producerId: string;
		};
		victims.producers.push(produced.producerId);
	}
	const consumed = (await v[1]!.requestOk('consume', { producerId: victims.producers[0]!, transportId: victims.transports[3]! })) as { consumerId: string };
	victims.consumers.push(consumed.consumerId);
	return { victims, rtpCapabilities, v };
}

/**
 * Problems with the victims after others tried their ids: every transport,
 * producer and consumer still exists server-side, unpaused, owned by its peer.
 */
function victimProblems(tureen: Tureen, victims: Victims): string[] {
	const problems: string[] = [];
	const room = tureen.rooms.getRoom(victims.roomId);
	if (!room) return [`room ${victims.roomId} is gone`];
	const [p0, p1] = victims.peerIds.map((id) => room.members.get(id));
	if (!p0 || !p1) return ['a victim is no longer in its room'];
	const expect = (what: string, ok: boolean) => ok || problems.push(what);
	expect('victim 0 lost a transport', [...p0.transports.keys()].sort().join() === victims.transports.slice(0, 2).sort().join());
	expect('victim 1 lost a transport', [...p1.transports.keys()].sort().join() === victims.transports.slice(2, 4).sort().join());
	for (const [i, peer] of [p0, p1].entries()) {
		const producer = peer.producers.get(victims.producers[i]!);
		expect(`victim ${i} lost its producer`, producer !== undefined && !producer.closed);
		expect(`victim ${i}'s producer was paused`, producer?.paused === false);
		expect(`victim ${i} got objects of others`, peer.producers.size === 1);
		for (const transport of peer.transports.values()) expect(`a transport of victim ${i} was connected by someone`, transport.dtlsState === 'new');
	}
	const consumer = p1.consumers.get(victims.consumers[0]!);
	expect('victim 1 lost its consumer', consumer !== undefined && !consumer.closed);
	expect("victim 1's consumer was resumed by someone", consumer?.paused === true);
	return problems;
}

// ---------------------------------------------------------------- HTTP

type HttpCase = { method: string; path: string; headers: Record<string, string>; body?: Buffer };
type HttpResult = { status: number; headers: Record<string, string | string[] | undefined>; body: string } | { error: string };

function rawHttp(baseUrl: string, c: HttpCase): Promise<HttpResult> {
	const url = new URL(baseUrl);
	return new Promise((resolve) => {
		let settled = false;
		const done = (result: HttpResult) => {
			if (settled) return;
			settled = true;
			resolve(result);
		};
		let req: ReturnType<typeof httpRequest>;
		try {
			req = httpRequest(
				{
					host: url.hostname,
					port: url.port,
					method: c.method,
					path: c.path,
					// A connection of its own: a request the parser refuses must not take others down with it.
					agent: false,
					headers: { connection: 'close', ...c.headers, ...(c.body ? { 'content-length': String(c.body.length) } : {}) },
					timeout: REPLY_TIMEOUT_MS,
				},
				(res) => {
					const chunks: Buffer[] = [];
					res.on('data', (chunk: Buffer) => chunks.push(chunk));
					res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
					res.on('error', (error) => done({ error: error.message }));
				},
			);
		} catch (error) {
			// A case Node's client refuses to send is a bug in the generator, not the server.
			throw new Error(`test generated an unsendable HTTP request ${c.method} ${c.path.slice(0, 80)}: ${(error as Error).message}`, { cause: error });
		}
		req.on('timeout', () => {
			req.destroy(new Error('timed out'));
		});
		// The server may answer (e.g. 413) and close before it has read the whole body.
		req.on('error', (error) => done({ error: (error as NodeJS.ErrnoException).code ?? error.message }));
		if (c.body) req.write(c.body);
		req.end();
	});
}

function httpCases(rng: Rng): HttpCase[] {
	const roomIds = ['fuzz-http', 'fuzz-victims', 'a', 'A_b-9', 'bad%20room', 'tab%09', '', '%00', '..', '..%2f..%2fetc%2fpasswd', 'x'.repeat(64), 'x'.repeat(65), '%F0%9F%94%A5', '%ZZ', '%', 'null', '__proto__', 'constructor'];
	const workerIds = ['0', '1', '2', '-1', '1.5', 'abc', '9999999999999999999999', '0x1', '1e3', '', '%20', '00'];
	const bodies: (() => Buffer | undefined)[] = [
		() => undefined,
		() => Buffer.from(JSON.stringify({ roomId: rng.pick(roomIds) })),
		() => Buffer.from(JSON.stringify({ roomId: rng.pick([5, true, null, ['abc'], { a: 1 }, 1.5]) })),
		() => Buffer.from(JSON.stringify({ roomId: 'fuzz-http', extra: 1 })),
		() => Buffer.from(JSON.stringify(randomValue(rng))),
		() => Buffer.from('{"roomId":'),
		() => Buffer.from('not json at all'),
		() => Buffer.from(''),
		() => Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
		() => Buffer.from(`{"roomId":"${'r'.repeat(HTTP_BODY_LIMIT + rng.int(100_000))}"}`),
		() => Buffer.from(`${'['.repeat(5000)}${']'.repeat(5000)}`),
		() => Buffer.from('{"__proto__":{"roomId":"polluted"}}'),
		() => Buffer.from('{"roomId":"fuzz-http","roomId":"fuzz-http-2"}'),
	];
	const contentTypes = [
		undefined, 'application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain',
		'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/JSON',
		'application/json, text/plain', '', ';;;', 'application/vnd.api+json',
	];
	const paths: (() => string)[] = [
		() => '/rooms',
		() => `/rooms/${rng.pick(roomIds)}`,
		() => `/rooms/${rng.pick(roomIds)}/${randomString(rng, 10).replace(/[^A-Za-z0-9]/g, '')}`,
		() => `/workers/${rng.pick(workerIds)}/${rng.pick(['drain', 'undrain', 'stats', ''])}`,
		() => rng.pick(['/workers', '/stats', '/health', '/ready', '/metrics', '/openapi.json', '/docs', '/dashboard', '/', '/ws']),
		() => rng.pick(['/nope', '/rooms/', '//rooms', '/ROOMS', '/rooms?roomId=a', '/stats?x=%ZZ', '/%', '/%2e%2e/', '/rooms/a/../../stats']),
		() => `/${'a/'.repeat(rng.range(1, 2000))}`,
		() => `/rooms/${'x'.repeat(rng.range(100, 6000))}`,
		() => `/${[...Buffer.from(randomString(rng, 30))].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')}`,
	];
	const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'POST', 'GET', 'DELETE'];
	const cases: HttpCase[] = [];
	for (let i = 0; i < HTTP_CASES; i++) {
		const method = rng.pick(methods);
		const path = rng.pick(paths)();
		// Drains are undone at the end; deleting the victims' room is fine (its peers get roomClosed).
		const body = method === 'GET' || method === 'HEAD' ? (rng.chance(0.1) ? Buffer.from('{"x":1}') : undefined) : rng.pick(bodies)();
		const contentType = rng.pick(contentTypes);
		const headers: Record<string, string> = {};
		if (contentType !== undefined && (body || rng.chance(0.3))) headers['content-type'] = contentType;
		if (rng.chance(0.1)) headers.authorization = rng.pick(['Bearer x', 'Basic Zm9v', 'Bearer', '']);
		if (rng.chance(0.05)) headers['transfer-encoding'] = 'identity';
		cases.push({ method, path, headers, ...(body ? { body } : {}) });
	}
	return cases;
}

/** Node's HTTP parser refuses `Transfer-Encoding: identity` before any route runs. */
function malformedForParser(c: HttpCase): boolean {
	return c.headers['transfer-encoding'] !== undefined;
}

function checkHttpReply(c: HttpCase, result: HttpResult, stats: Stats): void {
	const what =
		`${c.method} ${c.path.slice(0, 120)} (${c.headers['content-type'] ?? 'no content-type'}, ${c.body?.length ?? 0} B body` +
		`${c.headers['transfer-encoding'] ? `, transfer-encoding: ${c.headers['transfer-encoding']}` : ''})`;
	if ('error' in result) {
		bump(stats.httpStatuses, `error:${result.error}`);
		// Only a body the server refused mid-upload, or a request the HTTP
		// parser refused, may cut the connection without a reply.
		const oversized = (c.body?.length ?? 0) > HTTP_BODY_LIMIT;
		const cut = ['ECONNRESET', 'EPIPE', 'HPE_CLOSED_CONNECTION'].includes(result.error);
		if (!(cut && (oversized || malformedForParser(c)))) fail(stats, `HTTP ${what}: ${result.error}`);
		return;
	}
	bump(stats.httpStatuses, String(result.status));
	if (result.status >= 500 && result.status !== 503) {
		fail(stats, `HTTP ${what} -> ${result.status}: ${result.body.slice(0, 300)}`);
	}
	if (result.status < 400 || c.method === 'HEAD') return;
	const contentType = String(result.headers['content-type'] ?? '');
	let body: { error?: { code?: unknown; message?: unknown } } | undefined;
	try {
		body = JSON.parse(result.body) as typeof body;
	} catch {
		body = undefined;
	}
	const error = body?.error;
	const frameworkKind = frameworkShapeKind(result.body);
	if (frameworkKind) {
		const entry = (stats.httpFrameworkShape[frameworkKind] ??= { count: 0, example: `${what} -> ${result.status} ${result.body.slice(0, 160)}` });
		entry.count++;
		return;
	}
	if (
		!/^application\/json/.test(contentType) ||
		!error ||
		typeof error !== 'object' ||
		typeof error.code !== 'string' ||
		typeof error.message !== 'string' ||
		Object.keys(body ?? {}).length !== 1
	) {
		fail(stats, `HTTP ${what} -> ${result.status} not { error: { code, message } } (${contentType}): ${result.body.slice(0, 300)}`);
	}
}

/**
 * Fastify's own error bodies, `{ error: 'Bad Request', code?, message, statusCode }`,
 * which src/http/app.ts does not reshape: route-lookup errors
 * (frameworkErrors: FST_ERR_BAD_URL, FST_ERR_MAX_PARAM_LENGTH, ...) and
 * the HTTP parser's refusals (clientErrorHandler: 'Client Error').
 */
function frameworkShapeKind(text: string): string | undefined {
	let body: unknown;
	try {
		body = JSON.parse(text);
	} catch {
		return undefined;
	}
	if (typeof body !== 'object' || body === null) return undefined;
	const { error, code, message, statusCode } = body as Record<string, unknown>;
	if (typeof error !== 'string' || typeof statusCode !== 'number') return undefined;
	if (typeof code === 'string' && code.startsWith('FST_ERR_')) return `frameworkErrors ${code}`;
	if (message === 'Client Error') return 'clientErrorHandler (HTTP parser)';
	return undefined;
}

// ---------------------------------------------------------------- the test

describe('fuzz: WebSocket signalling and HTTP API (seeded)', () => {
	let tureen: Tureen;
	let baseUrl: string;
	let wsUrl: string;
	const processErrors: string[] = [];
	const onUnhandledRejection = (reason: unknown) => processErrors.push(`unhandledRejection: ${String((reason as Error)?.stack ?? reason)}`);
	const onUncaughtException = (error: Error) => processErrors.push(`uncaughtException: ${error.stack ?? error.message}`);
	const leakWarnings: string[] = [];
	const onWarning = (warning: Error) => {
		if (warning.name === 'MaxListenersExceededWarning') leakWarnings.push(warning.message);
	};
	const victimClients: WsTestClient[] = [];
	let fuzzStats: Stats | undefined;

	before(async () => {
		process.on('unhandledRejection', onUnhandledRejection);
		process.on('uncaughtException', onUncaughtException);
		process.on('warning', onWarning);
		({ tureen, baseUrl } = await startTestServer({
			MEDIASOUP_WORKER_COUNT: '2',
			RTC_BASE_PORT: '56000',
			ROOM_IDLE_TIMEOUT_MS: '5000',
			DRAIN_TIMEOUT_MS: '600000',
			// Up to 22 peers share the victims' room: it spreads over workers only if
			// its worker averages a whole core, so a busy machine cannot change the run.
			ROOM_SPREAD_CPU: '1',
			// The fuzz's own messages must not drown the output.
			LOG_LEVEL: 'fatal',
		}));
		wsUrl = `${baseUrl.replace(/^http/, 'ws')}/ws`;
	});

	after(async () => {
		await Promise.all(victimClients.map((c) => c.close()));
		await tureen?.close();
		process.off('unhandledRejection', onUnhandledRejection);
		process.off('uncaughtException', onUncaughtException);
		process.off('warning', onWarning);
	});

	it('pinned cases: hand-written frames get exactly the replies the protocol promises; others\' ids are NOT_FOUND', async () => {
		const { victims, rtpCapabilities, v } = await setUpVictims(wsUrl, 'fuzz-pinned', victimClients);
		const [t0send, t0recv, t1send, t1recv] = victims.transports as [string, string, string, string];
		const [p0, p1] = victims.producers as [string, string];
		const c1 = victims.consumers[0]!;
		const dtls = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }] };
		const me = await connect(wsUrl);
		victimClients.push(me);
		const frame = (id: number, method: string, data: unknown) => JSON.stringify({ id, method, data });
		type Pinned = [payload: string | Buffer, expected: { id: number | null; code: SignallingErrorCode } | { id: number; data: unknown }];
		const check = async (cases: Pinned[]) => {
			for (const [payload, expected] of cases) {
				me.sendRaw(payload, { binary: Buffer.isBuffer(payload) });
				const reply = await me.nextResponse();
				const got = reply.ok ? { id: reply.id, data: reply.data } : { id: reply.id, code: reply.error.code };
				assert.deepEqual(got, expected, `reply to ${String(payload).slice(0, 120)}`);
			}
		};

		// Before joining.
		await check([
			['this is not JSON', { id: null, code: 'INVALID_JSON' }],
			[frame(1, 'fly', {}), { id: 1, code: 'UNKNOWN_METHOD' }],
			['{"id":2,"method":"join"}', { id: 2, code: 'BAD_REQUEST' }],
			[frame(-1, 'leave', {}), { id: null, code: 'BAD_REQUEST' }],
			['{"id":3,"method":"leave","data":{},"extra":1}', { id: null, code: 'BAD_REQUEST' }],
			[Buffer.from(frame(4, 'leave', {})), { id: null, code: 'BAD_REQUEST' }],
			[frame(5, 'createWebRtcTransport', { direction: 'send' }), { id: 5, code: 'NOT_JOINED' }],
			[frame(6, 'leave', {}), { id: 6, data: {} }],
			[frame(7, 'join', { roomId: 'a b', displayName: 'x', rtpCapabilities: {} }), { id: 7, code: 'INVALID_ROOM_ID' }],
			[frame(8, 'createWebRtcTransport', { direction: 'sideways' }), { id: 8, code: 'BAD_REQUEST' }],
			[frame(9, 'restartIce', { transportId: t0send }), { id: 9, code: 'NOT_FOUND' }],
			[frame(10, 'produce', { transportId: t0send, kind: 'audio', rtpParameters: opusRtpParameters(9100) }), { id: 10, code: 'NOT_JOINED' }],
			[frame(11, 'resumeConsumer', { consumerId: c1 }), { id: 11, code: 'NOT_FOUND' }],
			[frame(12, 'pauseProducer', { producerId: p0 }), { id: 12, code: 'NOT_FOUND' }],
		]);

		// Joined to the victims' room, with transports of its own.
		const joined = (await me.requestOk('join', { roomId: victims.roomId, displayName: 'intruder', rtpCapabilities })) as { peerId: string; peers: unknown[]; producers: { producerId: string }[] };
		assert.deepEqual(joined.peers, [
			{ peerId: victims.peerIds[0], displayName: 'victim 0' },
			{ peerId: victims.peerIds[1], displayName: 'victim 1' },
		]);
		assert.deepEqual(joined.producers.map((p) => p.producerId), [p0, p1]);
		const mySend = ((await me.requestOk('createWebRtcTransport', { direction: 'send' })) as { transportId: string }).transportId;
		const myRecv = ((await me.requestOk('createWebRtcTransport', { direction: 'recv' })) as { transportId: string }).transportId;
		await check([
			[frame(20, 'connectWebRtcTransport', { transportId: t0send, dtlsParameters: dtls }), { id: 20, code: 'NOT_FOUND' }],
			[frame(21, 'restartIce', { transportId: t1recv }), { id: 21, code: 'NOT_FOUND' }],
			[frame(22, 'produce', { transportId: t1send, kind: 'audio', rtpParameters: opusRtpParameters(9200) }), { id: 22, code: 'NOT_FOUND' }],
			[frame(23, 'consume', { producerId: p1, transportId: t0recv }), { id: 23, code: 'NOT_FOUND' }],
			[frame(24, 'closeProducer', { producerId: p0 }), { id: 24, code: 'NOT_FOUND' }],
			[frame(25, 'pauseProducer', { producerId: p1 }), { id: 25, code: 'NOT_FOUND' }],
			[frame(26, 'resumeProducer', { producerId: p0 }), { id: 26, code: 'NOT_FOUND' }],
			[frame(27, 'resumeConsumer', { consumerId: c1 }), { id: 27, code: 'NOT_FOUND' }],
			[frame(28, 'join', { roomId: victims.roomId, displayName: 'again', rtpCapabilities }), { id: 28, code: 'ALREADY_JOINED' }],
			[frame(29, 'produce', { transportId: myRecv, kind: 'audio', rtpParameters: opusRtpParameters(9300) }), { id: 29, code: 'BAD_REQUEST' }],
			[frame(30, 'consume', { producerId: p0, transportId: mySend }), { id: 30, code: 'BAD_REQUEST' }],
			[frame(31, 'consume', { producerId: 'no-such-producer', transportId: myRecv }), { id: 31, code: 'NOT_FOUND' }],
		]);
		const consumed = (await me.requestOk('consume', { producerId: p0, transportId: myRecv })) as Record<string, unknown>;
		assert.deepEqual(
			{ producerId: consumed.producerId, peerId: consumed.peerId, kind: consumed.kind, paused: consumed.paused },
			{ producerId: p0, peerId: victims.peerIds[0], kind: 'audio', paused: false },
		);
		const { producerId: mine } = (await me.requestOk('produce', { transportId: mySend, kind: 'audio', rtpParameters: opusRtpParameters(9400) })) as { producerId: string };
		const announced = await v[0]!.waitForNotification('newProducer', undefined, (m) => m.data.producerId === mine);
		assert.deepEqual(announced.data, { producerId: mine, peerId: joined.peerId, kind: 'audio', source: 'microphone', paused: false });
		await check([
			[frame(40, 'consume', { producerId: mine, transportId: myRecv }), { id: 40, code: 'BAD_REQUEST' }],
			[frame(41, 'closeProducer', { producerId: mine }), { id: 41, data: {} }],
			[frame(42, 'closeProducer', { producerId: mine }), { id: 42, code: 'NOT_FOUND' }],
		]);
		assert.deepEqual(victimProblems(tureen, victims), []);
	});

	it(`${LANES} lanes x ${FRAMES_PER_LANE} WebSocket frames and ${HTTP_CASES} HTTP requests leave the server well and every reply well-formed`, async () => {
		const startedAt = Date.now();
		const stats: Stats = (fuzzStats = { wsFrames: 0, answered: 0, foreignRefused: 0, sockets: 0, closes: {}, replies: {}, byMethod: {}, notifications: 0, http: 0, httpStatuses: {}, httpFrameworkShape: {}, failures: [], failureCount: 0 });

		const { victims, rtpCapabilities } = await setUpVictims(wsUrl, 'fuzz-victims', victimClients);

		await Promise.all(Array.from({ length: LANES }, (_, lane) => runLane(lane, wsUrl, victims, rtpCapabilities, stats)));
		const wsDoneAt = Date.now();
		// Before the HTTP phase, which may delete the victims' room.
		for (const problem of victimProblems(tureen, victims)) fail(stats, `after the WebSocket fuzz: ${problem}`);

		const rng = new Rng(SEED ^ 0x4854_5450);
		const cases = httpCases(rng);
		for (let i = 0; i < cases.length; i += 10) {
			const batch = cases.slice(i, i + 10);
			const results = await Promise.all(batch.map((c) => rawHttp(baseUrl, c)));
			batch.forEach((c, j) => checkHttpReply(c, results[j]!, stats));
			stats.http += batch.length;
		}
		for (const { workerId } of tureen.pool.getWorkerStats()) tureen.setWorkerDraining(workerId, false);

		for (const v of victimClients) {
			for (const { text, problem } of v.invalidFrames) fail(stats, `malformed frame to a victim (${problem}): ${text}`);
		}

		const total = stats.wsFrames + stats.http;
		console.log(
			`fuzz: ${total} cases (${stats.wsFrames} WebSocket frames on ${stats.sockets} sockets in ${wsDoneAt - startedAt} ms, ` +
				`${stats.http} HTTP requests in ${Date.now() - wsDoneAt} ms), seed 0x${SEED.toString(16)}\n` +
				`  replies: ${JSON.stringify(stats.replies)}; others' ids refused: ${stats.foreignRefused}\n  valid requests by method: ${JSON.stringify(stats.byMethod)}\n  closes: ${JSON.stringify(stats.closes)}; notifications: ${stats.notifications}\n` +
				`  HTTP statuses: ${JSON.stringify(stats.httpStatuses)}\n` +
				`  HTTP errors in Fastify's own shape: ${JSON.stringify(Object.fromEntries(Object.entries(stats.httpFrameworkShape).map(([k, v]) => [k, v.count])))}`,
		);

		assert.equal(stats.answered, stats.wsFrames, 'every frame got its reply or its expected close');
		assert.ok(stats.answered >= 10_000, `at least 10,000 WebSocket frames answered (${stats.answered})`);
		assert.ok(stats.foreignRefused >= MIN_FOREIGN_REFUSED, `requests naming other peers' objects were tried and refused (${stats.foreignRefused})`);
		for (const method of ['join', 'createWebRtcTransport', 'produce', 'consume', 'closeProducer', 'resumeConsumer'] as const) {
			const ok = stats.byMethod[method]?.ok ?? 0;
			assert.ok(ok >= MIN_OK_PER_METHOD, `valid ${method} requests succeeded and had their replies checked (${ok})`);
		}
		assert.equal(stats.failureCount, 0, `${stats.failureCount} failures, first ones:\n${stats.failures.join('\n')}`);
		assert.deepEqual(processErrors, []);
		// Most frames reached parsing and validation rather than the limiter.
		assert.ok((stats.replies.RATE_LIMITED ?? 0) < stats.wsFrames / 100, `few RATE_LIMITED (${stats.replies.RATE_LIMITED ?? 0})`);
		assert.ok((stats.replies.ok ?? 0) > 500, 'plenty of requests got through to their handlers');
	});

	it(
		"HTTP errors Fastify makes itself (bad URL encoding, over-long params, requests the parser refuses) use the { error: { code, message } } shape",
		() => {
			assert.ok(fuzzStats, 'the fuzz ran');
			const examples = Object.entries(fuzzStats.httpFrameworkShape).map(([kind, { count, example }]) => `${kind} x${count}: ${example}`);
			assert.deepEqual(examples, []);
		},
	);

	it(
		'rooms of more than 10 peers raise no MaxListenersExceededWarning (the lanes and victims share one room)',
		() => {
			assert.deepEqual(leakWarnings, []);
		},
	);

	it('afterwards: /health is 200 and a normal join works', async () => {
		const health = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(10_000) });
		assert.equal(health.status, 200);
		assert.deepEqual(await health.json(), { status: 'ok' });
		const ready = await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(10_000) });
		assert.equal(ready.status, 200);
		await ready.body?.cancel();

		const a = await connect(wsUrl);
		const b = await connect(wsUrl);
		try {
			const { rtpCapabilities } = (await a.requestOk('getRouterRtpCapabilities', { roomId: 'after-fuzz' })) as { rtpCapabilities: Record<string, unknown> };
			const joinedA = (await a.requestOk('join', { roomId: 'after-fuzz', displayName: 'Alice', rtpCapabilities })) as { peerId: string; peers: unknown[] };
			assert.deepEqual(joinedA.peers, []);
			const joinedB = (await b.requestOk('join', { roomId: 'after-fuzz', displayName: 'Bob', rtpCapabilities })) as { peers: unknown[] };
			assert.deepEqual(joinedB.peers, [{ peerId: joinedA.peerId, displayName: 'Alice' }]);
			await a.waitForNotification('peerJoined');
			const transport = (await a.requestOk('createWebRtcTransport', { direction: 'send' })) as { transportId: string };
			assert.equal(typeof transport.transportId, 'string');
		} finally {
			await Promise.all([a.close(), b.close()]);
		}
		assert.deepEqual(processErrors, []);
	});
});
