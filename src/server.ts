import { createRequire } from 'node:module';

import type { FastifyInstance } from 'fastify';
import * as mediasoup from 'mediasoup';
import type { Logger } from 'pino';

import type { Config } from './config.ts';
import { createHttpApp, registerOpenApiRoutes } from './http/app.ts';
import { registerAdminRoutes, registerProbeRoutes } from './http/routes.ts';
import { registerObservability, type Metrics } from './metrics/index.ts';
import { initMediasoup, type WorkerPool } from './services/mediasoup.ts';
import { firewallRules, portPlan } from './services/portPlan.ts';
import { RoomRegistry, type RoomMember } from './services/room.ts';

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

/** One running server: the worker pool, the rooms and the HTTP app. */
export class Tureen {
	readonly config: Config;
	readonly logger: Logger;
	readonly pool: WorkerPool;
	readonly rooms: RoomRegistry<RoomMember>;
	readonly app: FastifyInstance;
	readonly version = pkg.version;
	readonly mediasoupVersion = mediasoup.version;
	metrics: Metrics = { recordSignallingRequest: () => undefined };
	#draining = false;

	private constructor(config: Config, logger: Logger, pool: WorkerPool, app: FastifyInstance) {
		this.config = config;
		this.logger = logger;
		this.pool = pool;
		this.app = app;
		this.rooms = new RoomRegistry({ pool, logger, roomIdleTimeoutMs: config.roomIdleTimeoutMs });
	}

	static async create(config: Config, logger: Logger): Promise<Tureen> {
		const pool = await initMediasoup({ ...config, logger });
		const app = await createHttpApp(logger);
		const tureen = new Tureen(config, logger, pool, app);
		tureen.#handleWorkerEvents();
		registerProbeRoutes(app, tureen);
		registerAdminRoutes(app, tureen);
		tureen.metrics = registerObservability(app, tureen);
		registerOpenApiRoutes(app);
		return tureen;
	}

	get draining(): boolean {
		return this.#draining;
	}

	setWorkerDraining(workerId: number, draining: boolean): void {
		this.pool.setDraining(workerId, draining);
		this.logger.info({ workerId, draining }, 'worker drain state changed');
	}

	#handleWorkerEvents(): void {
		this.pool.on('workerDied', (workerId) => void this.rooms.rehomeRoomsOf(workerId));
	}

	logPortPlan(): void {
		const ranges = portPlan(this.config);
		for (const [workerId, range] of ranges.entries()) {
			this.logger.info({ workerId, pid: this.pool.getWorker(workerId)?.pid, portRange: range }, 'worker RTC ports');
		}
		this.logger.info({ rules: firewallRules(this.config, this.config.port) }, 'firewall: open these (UDP and TCP)');
	}

	async listen(): Promise<string> {
		const address = await this.app.listen({ host: this.config.httpHost, port: this.config.port });
		this.logPortPlan();
		return address;
	}

	/** The port actually bound (useful with PORT=0). */
	get port(): number {
		const address = this.app.server.address();
		return typeof address === 'object' && address ? address.port : this.config.port;
	}

	async close(): Promise<void> {
		this.rooms.closeAll('shutdown');
		await this.app.close();
		this.pool.close();
	}
}
