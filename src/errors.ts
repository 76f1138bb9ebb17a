// Every failure a client can cause or observe has a stable code (listed in
// the shared protocol); HTTP statuses and WebSocket error replies derive from it.
import type { ErrorBody, LimitName, SignallingErrorCode } from './protocol/messages.ts';

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
	NO_WORKER_AVAILABLE: 503,
	NO_PORTS_AVAILABLE: 503,
	LIMIT_REACHED: 429,
	SHUTTING_DOWN: 503,
	INTERNAL: 500,
};

export type ErrorCode = SignallingErrorCode;

export class TureenError extends Error {
	readonly code: ErrorCode;
	readonly details: ErrorBody['details'];

	constructor(code: ErrorCode, message: string, details?: ErrorBody['details']) {
		super(message);
		this.name = 'TureenError';
		this.code = code;
		this.details = details;
	}

	get httpStatus(): number {
		return ERROR_HTTP_STATUS[this.code];
	}

	toJSON(): ErrorBody {
		return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
	}
}

/** LIMIT_REACHED naming the cap and its value, so a client can tell which one it hit. */
export function limitReached(limit: LimitName, max: number, what: string): TureenError {
	return new TureenError('LIMIT_REACHED', `${what}: the limit is ${max}`, { limit, max });
}

export function isTureenError(error: unknown): error is TureenError {
	return error instanceof TureenError;
}
