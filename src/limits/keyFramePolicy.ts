/**
 * Subscribers' key-frame requests, coalesced per producer stream before they
 * reach the publisher (issue 21, finding 8): the first request after a quiet
 * interval goes at once; any asked within `intervalMs` of the last one sent
 * become one request at the interval's end. So a stream is asked at most
 * once per interval, and every subscriber that asked gets a key frame within
 * one interval. Pure: the gate (keyFrameGate.ts) keeps the state and timers.
 */
export type KeyFrameState = { lastSentAt: number; pending: boolean };

export type KeyFrameDecision =
	/** Ask the publisher now. */
	| { action: 'send' }
	/** Ask at `at` (set a timer); the request is folded into that one. */
	| { action: 'defer'; at: number }
	/** A deferred request is already due: folded into it, nothing to do. */
	| { action: 'fold' };

/** A subscriber asks at `now`; `state` undefined = the stream was not asked within the interval. */
export function onKeyFrameRequest(
	state: KeyFrameState | undefined,
	now: number,
	intervalMs: number,
): { decision: KeyFrameDecision; state: KeyFrameState } {
	if (!state || now - state.lastSentAt >= intervalMs) return { decision: { action: 'send' }, state: { lastSentAt: now, pending: false } };
	if (state.pending) return { decision: { action: 'fold' }, state };
	return { decision: { action: 'defer', at: state.lastSentAt + intervalMs }, state: { ...state, pending: true } };
}

/** The deferred time came: send when something was folded, and the stream counts as asked now. */
export function onKeyFrameTimer(state: KeyFrameState, now: number): { send: boolean; state: KeyFrameState } {
	return state.pending ? { send: true, state: { lastSentAt: now, pending: false } } : { send: false, state };
}
