// Every failure a client can cause or observe has a stable code (listed in
// the shared protocol); HTTP statuses and WebSocket error replies derive from it.
import { errors as mediasoupErrors } from 'mediasoup';

import type { ErrorBody, ErrorDetails, LimitName, SignallingErrorCode } from './protocol/messages.ts';

export const ERROR_HTTP_STATUS: Record<SignallingErrorCode, number> = {
	BAD_REQUEST: 400,
	INVALID_JSON: 400,
	UNKNOWN_METHOD: 400,
	INVALID_ROOM_ID: 400,
	NOT_JOINED: 409,
	ALREADY_JOINED: 409,
	UNAUTHORIZED: 401,
	FORBIDDEN: 403,
	NOT_FOUND: 404,
	ROOM_NOT_FOUND: 404,
	ROOM_FULL: 409,
	MEDIA_ERROR: 400,
	RATE_LIMITED: 429,
	MESSAGE_TOO_LARGE: 413,
	PAYLOAD_TOO_LARGE: 413,
	NO_WORKER_AVAILABLE: 503,
	NO_PORTS_AVAILABLE: 503,
	LIMIT_REACHED: 429,
	SHUTTING_DOWN: 503,
	// Misdirected Request: the room is served by another node (signalling only; HTTP answers with the placement).
	WRONG_NODE: 421,
	CLUSTER_UNAVAILABLE: 503,
	INTERNAL: 500,
};

export type ErrorCode = SignallingErrorCode;

export class TureenError extends Error {
	readonly code: ErrorCode;
	readonly details: ErrorDetails | undefined;

	constructor(code: ErrorCode, message: string, details?: ErrorDetails) {
		super(message);
		this.name = 'TureenError';
		this.code = code;
		this.details = details;
	}

	get httpStatus(): number {
		return ERROR_HTTP_STATUS[this.code];
	}

	toJSON(): ErrorBody {
		return errorReply(this.code, this.message, this.details).error;
	}
}

/** The error part of every HTTP error body and every WebSocket error response: `{ error: { code, message, details? } }`. */
export type ErrorReply = { error: ErrorBody };

/** The one place an error body is built; HTTP sends it as is, WebSocket adds `id` and `ok: false`. */
export function errorReply(code: ErrorCode, message: string, details?: ErrorDetails): ErrorReply {
	return { error: errorBody(code, message, details) };
}

// The codes that carry details get them, the others none; a code without its details is our bug.
function errorBody(code: ErrorCode, message: string, details: ErrorDetails | undefined): ErrorBody {
	if (code === 'LIMIT_REACHED' || code === 'WRONG_NODE') {
		if (code === 'LIMIT_REACHED' && details && 'limit' in details) return { code, message, details };
		if (code === 'WRONG_NODE' && details && 'signallingUrl' in details) return { code, message, details };
		return { code: 'INTERNAL', message: 'internal error' };
	}
	return { code, message };
}

/** LIMIT_REACHED naming the cap and its value, so a client can tell which one it hit. */
export function limitReached(limit: LimitName, max: number, what: string): TureenError {
	return new TureenError('LIMIT_REACHED', `${what}: the limit is ${max}`, { limit, max });
}

/** WRONG_NODE naming the node that owns the room and its signalling URL, for the client to follow (`url`: the same, deprecated). */
export function wrongNode(nodeId: string, signallingUrl: string): TureenError {
	return new TureenError('WRONG_NODE', `the room is served by node ${nodeId}: connect to ${signallingUrl}`, { nodeId, signallingUrl, url: signallingUrl });
}

export function isTureenError(error: unknown): error is TureenError {
	return error instanceof TureenError;
}

/**
 * Any thrown value as a typed error: ours as they are, mediasoup's by its
 * exported classes, anything else INTERNAL (a fault of ours; log it).
 */
export function asTureenError(error: unknown): TureenError {
	if (isTureenError(error)) return error;
	if (error instanceof mediasoupErrors.WorkerClosedError) {
		// The room's worker died mid-request; the room is moving and the client will be told.
		return new TureenError('NO_WORKER_AVAILABLE', 'the room is moving to another worker; retry after roomMoved');
	}
	if (error instanceof TypeError || error instanceof mediasoupErrors.UnsupportedError || error instanceof mediasoupErrors.NotFoundError) {
		// mediasoup's own validation of RTP/DTLS parameters and object state.
		return new TureenError('MEDIA_ERROR', error.message);
	}
	return new TureenError('INTERNAL', 'internal error');
}
