import { createRequire } from 'node:module';

import type { FastifyInstance } from 'fastify';
import * as mediasoup from 'mediasoup';
import type { Logger } from 'pino';

import { adminGuard, openModeGuard } from './auth/adminToken.ts';
import { verifyJoinToken, type VerifiedJoin } from './auth/joinToken.ts';
import type { Config } from './config.ts';
import { createHttpApp, registerOpenApiRoutes } from './http/app.ts';
import { registerClientRoutes } from './http/clientRoutes.ts';
import { registerAdminRoutes, registerProbeRoutes } from './http/routes.ts';
import { ConnectionCounter } from './limits/connectionCounter.ts';
import { ClientMistakeLog } from './limits/logThrottle.ts';
import { registerObservability, type Metrics } from './metrics/index.ts';
import { initMediasoup, type WorkerPool } from './services/mediasoup.ts';
import { firewallRules, portPlan } from './services/portPlan.ts';
import { RoomRegistry } from './services/room.ts';
import type { SignallingConnection } from './signalling/connection.ts';
import { registerSignalling } from './signalling/index.ts';
import type { Peer } from './signalling/peer.ts';

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

/** Paths the ADMIN_TOKEN guard covers (the probes, the demo and the signalling stay open). */
const ADMIN_PATHS = [/^\/stats/, /^\/workers/, /^\/rooms/, /^\/metrics/];

/** One running server: the worker pool, the rooms, signalling and the HTTP app. */
export class Tureen {
	readonly config: Config;
	readonly logger: Logger;
	readonly pool: WorkerPool;
	readonly rooms: RoomRegistry<Peer>;
	readonly app: FastifyInstance;
	readonly connections = new Set<SignallingConnection>();
	/** Open sockets per address and in total, against MAX_CONNECTIONS(_PER_IP). */
	readonly connectionCounter: ConnectionCounter;
	/** Warnings caused by clients: no stack, once per kind per minute. */
	readonly clientLog: ClientMistakeLog;
	readonly version = pkg.version;
	readonly mediasoupVersion = mediasoup.version;
	metrics: Metrics = { recordSignallingRequest: () => undefined };
	readonly #drainTimers = new Map<number, NodeJS.Timeout>();
	#draining = false;
	#closed = false;

	private constructor(config: Config, logger: Logger, pool: WorkerPool, app: FastifyInstance) {
		this.config = config;
		this.logger = logger;
		this.pool = pool;
		this.app = app;
		this.rooms = new RoomRegistry({
			pool,
			logger,
			roomIdleTimeoutMs: config.roomIdleTimeoutMs,
			maxRooms: config.limits.rooms,
			roomsPerIpPerMinute: config.limits.roomsPerIpPerMinute,
		});
		this.connectionCounter = new ConnectionCounter(config.limits);
		this.clientLog = new ClientMistakeLog(logger);
	}

	static async create(config: Config, logger: Logger): Promise<Tureen> {
		const pool = await initMediasoup({ ...config, logger });
		const app = await createHttpApp(logger);
		const tureen = new Tureen(config, logger, pool, app);
		tureen.#handleWorkerEvents();
		tureen.#guardAdminRoutes();
		registerProbeRoutes(app, tureen);
		registerAdminRoutes(app, tureen);
		tureen.metrics = registerObservability(app, tureen);
		await registerSignalling(app, tureen);
		await registerClientRoutes(app);
		registerOpenApiRoutes(app);
		return tureen;
	}

	get draining(): boolean {
		return this.#draining;
	}

	/** Resolves the join's identity from its token when JOIN_SECRET is set; undefined when open. */
	async authorizeJoin(roomId: string, token: string | undefined): Promise<VerifiedJoin | undefined> {
		if (!this.config.joinSecret) return undefined;
		return verifyJoinToken(this.config.joinSecret, token, roomId, this.config.maxTokenTtlSeconds);
	}

	#guardAdminRoutes(): void {
		const { adminToken, joinSecret } = this.config;
		if (!adminToken || !joinSecret) {
			this.logger.warn(
				{ adminToken: Boolean(adminToken), joinSecret: Boolean(joinSecret) },
				'ADMIN_TOKEN and/or JOIN_SECRET unset: stats and joins are open to anyone (fine for local development only)',
			);
		}
		const guard = adminToken ? adminGuard(adminToken) : openModeGuard;
		this.app.addHook('onRequest', async (request, reply) => {
			// The matched route pattern, not the raw URL: "/%73tats" must not slip past.
			const route = request.routeOptions.url ?? '';
			if (ADMIN_PATHS.some((p) => p.test(route))) await guard(request, reply);
		});
	}

	#handleWorkerEvents(): void {
		this.pool.on('workerDied', (workerId) => void this.rooms.moveRoomsOff(workerId, 'worker-died'));
	}

	/**
	 * Drain one worker: placement skips it; its rooms stay until they empty,
	 * or move to other workers after DRAIN_TIMEOUT_MS.
	 */
	setWorkerDraining(workerId: number, draining: boolean): void {
		this.pool.setDraining(workerId, draining);
		clearTimeout(this.#drainTimers.get(workerId));
		this.#drainTimers.delete(workerId);
		if (draining) {
			const timer = setTimeout(() => {
				this.#drainTimers.delete(workerId);
				if (this.pool.getWorker(workerId)?.draining) void this.rooms.moveRoomsOff(workerId, 'worker-drained');
			}, this.config.drainTimeoutMs);
			timer.unref();
			this.#drainTimers.set(workerId, timer);
		}
		this.logger.info({ workerId, draining }, 'worker drain state changed');
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

	/**
	 * Graceful shutdown: not ready, no new rooms, peers told; resolves once
	 * every room is empty or the drain deadline passes, then closes everything.
	 */
	async drain(): Promise<void> {
		if (this.#draining) return;
		this.#draining = true;
		this.rooms.stopAcceptingRooms();
		const deadline = Date.now() + this.config.drainTimeoutMs;
		for (const connection of this.connections) {
			connection.peer.notify('serverDraining', { deadlineMs: deadline });
		}
		this.logger.info({ peers: this.rooms.totalPeers, deadline: new Date(deadline).toISOString() }, 'draining');
		while (this.rooms.totalPeers > 0 && Date.now() < deadline) {
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		await this.close();
	}

	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		for (const timer of this.#drainTimers.values()) clearTimeout(timer);
		for (const connection of this.connections) connection.close(1001, 'server shutting down');
		this.rooms.closeAll('shutdown');
		await this.app.close();
		this.pool.close();
	}
}
