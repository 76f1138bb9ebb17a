// Every failure a client can cause or observe has a stable code; HTTP status
// and WebSocket error replies are both derived from it.
export const ERROR_HTTP_STATUS = {
	BAD_REQUEST: 400,
	INVALID_ROOM_ID: 400,
	UNAUTHORIZED: 401,
	FORBIDDEN: 403,
	ROOM_NOT_FOUND: 404,
	NOT_FOUND: 404,
	CONFLICT: 409,
	ROOM_FULL: 409,
	RATE_LIMITED: 429,
	NO_WORKER_AVAILABLE: 503,
	SHUTTING_DOWN: 503,
	INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_HTTP_STATUS;

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
