import type { FastifyInstance } from 'fastify';
import type { types as ms } from 'mediasoup';
import type { Registry } from 'prom-client';

import { registerClusterMetrics, type ClusterMetricsSource } from './cluster.ts';
import { registerDashboardRoutes } from './dashboardAssets.ts';
import { MediaCounter } from './mediaCounts.ts';
import { createTureenRegistry, type MetricsSource } from './registry.ts';
import type { SignallingOutcome } from './signalling.ts';
import { registerTurnMetrics, type TurnMetricsSource } from './turn.ts';

export type { MetricsSource } from './registry.ts';
export type { SignallingOutcome } from './signalling.ts';
export { SIGNALLING_METHODS } from './signalling.ts';

/** What the rest of the server reports into the metrics. */
export interface Metrics {
	recordSignallingRequest(method: string, outcome: SignallingOutcome): void;
}

/** The Metrics registerObservability returns; the registry is there for tests and tools. */
export interface TureenMetrics extends Metrics {
	readonly registry: Registry;
}

/** What /metrics and /dashboard need: the values they show, and where mediasoup objects appear. */
export type ObservabilityDeps = MetricsSource & {
	/** Routers already on a worker slot (counted when the metrics attach late). */
	routersOn(workerId: number): ms.Router[];
	/** Calls back with the slot's id each time a worker is respawned into it. */
	onWorkerRespawned(listener: (workerId: number) => void): void;
	logger: { error(fields: object, message: string): void };
	/** On a cluster node: its view of the cluster. Unset on a single server. */
	cluster?: ClusterMetricsSource;
	/** With TURN_URLS: the TURN servers' last check. */
	turn?: TurnMetricsSource;
};

/** Registers /metrics and /dashboard; returns the recorder the signalling layer calls. */
export function registerObservability(app: FastifyInstance, deps: ObservabilityDeps): TureenMetrics {
	const media = new MediaCounter();
	const attach = (workerId: number) => {
		const worker = deps.pool.workers[workerId]?.worker;
		if (worker) media.attach(workerId, worker, deps.routersOn(workerId));
	};
	for (const slot of deps.pool.workers) attach(slot.workerId);
	deps.onWorkerRespawned(attach);

	const { registry, recordSignallingRequest } = createTureenRegistry(deps, media);
	if (deps.cluster) registerClusterMetrics(registry, deps.cluster);
	if (deps.turn) registerTurnMetrics(registry, deps.turn);

	app.get(
		'/metrics',
		{
			schema: {
				description:
					'Prometheus text exposition: per-worker gauges (label worker_id), totals, signalling request counts, process metrics.',
			},
		},
		async (_request, reply) => {
			const body = await registry.metrics();
			return reply.type(registry.contentType).header('cache-control', 'no-store').send(body);
		},
	);

	registerDashboardRoutes(app, deps.logger);

	return { registry, recordSignallingRequest };
}
