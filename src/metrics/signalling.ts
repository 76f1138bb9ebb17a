/**
 * Signalling methods that get their own `method` label value. Anything else
 * (typos, probes, a newer client) is counted as "unknown" so a client cannot
 * create label values, and with them time series, at will.
 */
export const SIGNALLING_METHODS = [
	'join',
	'getRouterRtpCapabilities',
	'createWebRtcTransport',
	'connectWebRtcTransport',
	'produce',
	'closeProducer',
	'pauseProducer',
	'resumeProducer',
	'consume',
	'resumeConsumer',
	'restartIce',
	'leave',
] as const;

export type SignallingMethod = (typeof SIGNALLING_METHODS)[number];

export type SignallingOutcome = 'ok' | 'error';

export const SIGNALLING_OUTCOMES: readonly SignallingOutcome[] = ['ok', 'error'];

const known = new Set<string>(SIGNALLING_METHODS);

export function methodLabel(method: string): SignallingMethod | 'unknown' {
	return known.has(method) ? (method as SignallingMethod) : 'unknown';
}

// Callers outside TypeScript's reach could pass anything; keep the label bounded anyway.
export function outcomeLabel(outcome: string): SignallingOutcome {
	return outcome === 'ok' ? 'ok' : 'error';
}
