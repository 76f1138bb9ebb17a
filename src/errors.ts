// Every failure a client can cause or observe has a stable code (listed in
// the shared protocol); HTTP statuses and WebSocket error replies derive from it.
import type { SignallingErrorCode } from './protocol/messages.ts';

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
	SHUTTING_DOWN: 503,
	INTERNAL: 500,
};

export type ErrorCode = SignallingErrorCode;

export class TureenError extends Error {
	readonly code: ErrorCode;

	constructor(code: ErrorCode, message: string) {
		super(message);
		this.name = 'TureenError';
		this.code = code;
	}

	get httpStatus(): number {
		return ERROR_HTTP_STATUS[this.code];
	}

	toJSON(): { code: ErrorCode; message: string } {
		return { code: this.code, message: this.message };
	}
}

export function isTureenError(error: unknown): error is TureenError {
	return error instanceof TureenError;
}
