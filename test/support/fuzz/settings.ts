// The fuzz run's fixed numbers: the seed, how much traffic, and the bounds the server must keep.
export const SEED = 0x7e5eed;
export const LANES = 20;
export const FRAMES_PER_LANE = 520;
export const HTTP_CASES = 500;
export const WS_MAX_MESSAGE_BYTES = 65536;
export const HARD_FRAME_LIMIT = 4 * WS_MAX_MESSAGE_BYTES;
export const HTTP_BODY_LIMIT = 64 * 1024;
export const REPLY_TIMEOUT_MS = 10_000;
// Below the server's budgets (100 requests, 5 joins per socket, refilled over
// time): a lane opens a fresh socket before it would be rate limited, so the
// messages reach parsing and validation instead of bouncing off the limiter.
export const REQUESTS_PER_SOCKET = 95;
export const JOINS_PER_SOCKET = 5;
/** Close codes a fuzzed socket may legitimately end with. */
export const PERMITTED_CLOSES: Record<number, string> = {
	1007: 'invalid UTF-8 in a text frame (ws)',
	1009: `frame above ${HARD_FRAME_LIMIT} bytes (ws maxPayload)`,
	4401: 'UNAUTHORIZED/FORBIDDEN join',
};
export const MAX_FAILURE_DETAILS = 40;
/** Floors well below what the seed produces, so a generator that stops reaching the handlers fails. */
export const MIN_FOREIGN_REFUSED = 100;
export const MIN_OK_PER_METHOD = 10;
