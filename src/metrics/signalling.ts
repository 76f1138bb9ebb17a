import { METHODS, type Method } from '../protocol/messages.ts';

/**
 * Signalling methods that get their own `method` label value: the protocol's
 * own list. Anything else (typos, probes, a newer client, frames refused
 * before a method was read) is counted as "unknown" so a client cannot create
 * label values, and with them time series, at will.
 */
export const SIGNALLING_METHODS: readonly Method[] = METHODS;

export type SignallingMethodLabel = Method | 'unknown';

export type SignallingOutcome = 'ok' | 'error';

export const SIGNALLING_OUTCOMES: readonly SignallingOutcome[] = ['ok', 'error'];

const known = new Set<string>(SIGNALLING_METHODS);

export function methodLabel(method: string): SignallingMethodLabel {
	return known.has(method) ? (method as Method) : 'unknown';
}

// Callers outside TypeScript's reach could pass anything; keep the label bounded anyway.
export function outcomeLabel(outcome: string): SignallingOutcome {
	return outcome === 'ok' ? 'ok' : 'error';
}
