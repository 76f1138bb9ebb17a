import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

import type { Tureen } from '../server.ts';
import { registerDashboardRoutes } from './dashboardAssets.ts';
import { MediaCounter } from './mediaCounts.ts';
import { createTureenRegistry } from './registry.ts';
import type { SignallingOutcome } from './signalling.ts';

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

/** Registers /metrics and /dashboard; returns the recorder the signalling layer calls. */
export function registerObservability(app: FastifyInstance, tureen: Tureen): TureenMetrics {
	const { pool, rooms } = tureen;
	const media = new MediaCounter();
	const attach = (workerId: number) => {
		const worker = pool.getWorker(workerId)?.worker;
		if (!worker) return;
		const routers = rooms.roomsOn(workerId).map((room) => room.router);
		media.attach(workerId, worker, routers);
	};
	for (const managed of pool.workers) attach(managed.workerId);
	pool.on('workerRespawned', attach);

	const { registry, recordSignallingRequest } = createTureenRegistry(tureen, media);

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

	registerDashboardRoutes(app, tureen.logger);

	return { registry, recordSignallingRequest };
}
