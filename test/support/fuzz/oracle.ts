// What the protocol says the server must answer to each frame, and the state a lane keeps.
import { isUtf8 } from 'node:buffer';

import { type Method, type SignallingErrorCode, isMethod, requestEnvelopeSchema, requestErrorCode, requestSchemas } from '../../../src/protocol/messages.ts';
import type { WsTestClient } from '../wsClient.ts';
import { HARD_FRAME_LIMIT, MAX_FAILURE_DETAILS, WS_MAX_MESSAGE_BYTES } from './settings.ts';

export type Frame = { payload: string | Buffer; binary: boolean; label: string };

export type Expectation =
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
export const NEVER_FOR_VALID: ReadonlySet<string> = new Set(['INVALID_JSON', 'UNKNOWN_METHOD', 'MESSAGE_TOO_LARGE', 'INTERNAL']);

/**
 * The code a schema-valid request that names another peer's object must get:
 * written out by hand from the ownership rule (a peer acts only on its own
 * transports, producers and consumers), not derived from the server's code.
 * Consuming another peer's producer is the one legitimate use of their ids.
 */
export function foreignIdCode(method: Method, data: Record<string, unknown>, victims: Victims, joined: boolean): SignallingErrorCode | undefined {
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
export function expectationFor(frame: Frame, victims: Victims, joined: boolean): Expectation {
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

export type Victims = {
	roomId: string;
	peerIds: string[];
	transports: string[];
	producers: string[];
	consumers: string[];
};

export type SetupStep = 'join' | 'send' | 'recv' | 'produce' | 'consume';
export const SETUP: readonly SetupStep[] = ['join', 'send', 'recv', 'produce', 'consume'];

export type LaneState = {
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

export type Stats = {
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

export function fail(stats: Stats, message: string): void {
	stats.failureCount++;
	if (stats.failures.length < MAX_FAILURE_DETAILS) stats.failures.push(message);
}

export function bump(counter: Record<string, number>, key: string): void {
	counter[key] = (counter[key] ?? 0) + 1;
}

export function describeFrame(frame: Frame): string {
	const text = typeof frame.payload === 'string' ? frame.payload : frame.payload.toString('hex');
	return `[${frame.label}${frame.binary ? ', binary' : ''}, ${Buffer.byteLength(frame.payload)} B] ${text.slice(0, 160)}`;
}

export function opusRtpParameters(ssrc: number): Record<string, unknown> {
	return {
		codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 }, rtcpFeedback: [] }],
		encodings: [{ ssrc }],
		headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 }],
		rtcp: { cname: `fuzz-${ssrc}`, reducedSize: true },
	};
}

export function vp8RtpParameters(ssrc: number): Record<string, unknown> {
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
