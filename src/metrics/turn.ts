import { Gauge, type Registry } from 'prom-client';

import type { TurnServerStatus } from '../services/turn/turnStatus.ts';

/** What the TURN metrics read: the last check of each configured TURN URL. */
export type TurnMetricsSource = { readonly servers: readonly TurnServerStatus[] };

/** tureen_turn_server_up{url}: labelled by the configured TURN URLs (a fixed, short list). */
export function registerTurnMetrics(registry: Registry, source: TurnMetricsSource): void {
	new Gauge({
		name: 'tureen_turn_server_up',
		help: '1 when the TURN server answered an allocate with minted credentials at the last check, 0 when it did not, -1 while checking.',
		labelNames: ['url'],
		registers: [registry],
		collect() {
			for (const s of source.servers) this.set({ url: s.url }, s.state === 'up' ? 1 : s.state === 'down' ? 0 : -1);
		},
	});
	new Gauge({
		name: 'tureen_turn_allocate_seconds',
		help: 'Time the last successful check took to allocate (both round trips), per TURN URL.',
		labelNames: ['url'],
		registers: [registry],
		collect() {
			for (const s of source.servers) if (s.state === 'up') this.set({ url: s.url }, s.rttMs / 1000);
		},
	});
}
