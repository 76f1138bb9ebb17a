// The composition root: builds each module with the narrow dependencies it
// declares, and owns the server's lifecycle (drain, shutdown). No other
// module imports this file except src/index.ts.
import { createRequire } from 'node:module';

import type { FastifyInstance } from 'fastify';
import * as mediasoup from 'mediasoup';
import type { Logger } from 'pino';

import { adminGuard, openModeGuard } from './auth/adminToken.ts';
import { verifyJoinToken, type VerifiedJoin } from './auth/joinToken.ts';
import { ClusterCoordinator, type ClusterDeps, type NodeLoad } from './cluster/coordinator.ts';
import type { ClusterConfig, Config } from './config.ts';
import { createHttpApp, registerOpenApiRoutes } from './http/app.ts';
import { registerClientRoutes } from './http/clientRoutes.ts';
import { registerClusterRoutes } from './http/clusterRoutes.ts';
import { registerAdminRoutes, registerProbeRoutes, type BuildInfo } from './http/routes.ts';
import { ConnectionCounter } from './limits/connectionCounter.ts';
import { ClientMistakeLog } from './limits/logThrottle.ts';
import { floodBudgets } from './limits/floodBudgets.ts';
import { KeyFrameGate } from './services/participants/keyFrameGate.ts';
import { registerObservability, type TureenMetrics } from './metrics/index.ts';
import { initMediasoup, type WorkerPool } from './services/mediasoup.ts';
import { RoomRegistry } from './services/room.ts';
import { mintIceServer } from './services/turn/credentials.ts';
import { TurnHealth } from './services/turn/turnHealth.ts';
import { probeTurn } from './services/turn/turnProbe.ts';
import type { Room } from './services/rooms/room.ts';
import type { Participant } from './services/participants/participant.ts';
import { firewallRules, portPlan } from './services/workers/portPlan.ts';
import { CLOSE_CODES, registerSignalling, type SignallingHub } from './signalling/index.ts';

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

/** Paths the ADMIN_TOKEN guard covers (the probes, the demo and the signalling stay open). */
const ADMIN_PATHS = [/^\/stats/, /^\/workers/, /^\/rooms/, /^\/metrics/, /^\/cluster/];

/** Whether the whole server is draining; shared by the server and the modules that ask. */
type Lifecycle = { draining: boolean; closed: boolean };

type Parts = {
	config: Config;
	logger: Logger;
	pool: WorkerPool;
	rooms: RoomRegistry<Participant>;
	app: FastifyInstance;
	metrics: TureenMetrics;
	signalling: SignallingHub;
	connectionCounter: ConnectionCounter;
	lifecycle: Lifecycle;
	drainTimers: Map<number, NodeJS.Timeout>;
	cluster: ClusterCoordinator | undefined;
};

/** One running server: the worker pool, the rooms, signalling and the HTTP app. */
export class Tureen {
	readonly config: Config;
	readonly logger: Logger;
	readonly pool: WorkerPool;
	readonly rooms: RoomRegistry<Participant>;
	readonly app: FastifyInstance;
	readonly metrics: TureenMetrics;
	/** The open signalling connections. */
	readonly signalling: SignallingHub;
	/** Open sockets per address and in total, against MAX_CONNECTIONS(_PER_IP). */
	readonly connectionCounter: ConnectionCounter;
	/** This node's part in the cluster; undefined on a single server (no REDIS_URL). */
	readonly cluster: ClusterCoordinator | undefined;
	readonly #lifecycle: Lifecycle;
	readonly #drainTimers: Map<number, NodeJS.Timeout>;

	private constructor(parts: Parts) {
		this.config = parts.config;
		this.logger = parts.logger;
		this.pool = parts.pool;
		this.rooms = parts.rooms;
		this.app = parts.app;
		this.metrics = parts.metrics;
		this.signalling = parts.signalling;
		this.connectionCounter = parts.connectionCounter;
		this.#lifecycle = parts.lifecycle;
		this.#drainTimers = parts.drainTimers;
		this.cluster = parts.cluster;
	}

	static async create(config: Config, logger: Logger): Promise<Tureen> {
		const lifecycle: Lifecycle = { draining: false, closed: false };
		const isDraining = () => lifecycle.draining;
		const drainTimers = new Map<number, NodeJS.Timeout>();
		const pool = await initMediasoup({ ...config, logger, roomLoad: () => rooms.loadByWorker() });
		// The coordinator reads the rooms only from its heartbeat, after they exist.
		const cluster: ClusterCoordinator | undefined = config.cluster
			? createCoordinator(config.cluster, config, logger, {
					load: () => nodeLoad(pool.workers, rooms.rooms),
					hostedRoomIds: () => rooms.rooms.map((room) => room.roomId),
				})
			: undefined;
		const rooms: RoomRegistry<Participant> = new RoomRegistry<Participant>({
			pool,
			logger,
			roomIdleTimeoutMs: config.roomIdleTimeoutMs,
			maxRooms: config.limits.rooms,
			roomsPerIpPerMinute: config.limits.roomsPerIpPerMinute,
			...(cluster ? { admit: (roomId: string, creator?: string) => cluster.admit(roomId, creator) } : {}),
		});
		pool.on('workerDied', (workerId) => void rooms.moveRoomsOff(workerId, 'worker-died'));
		if (cluster) rooms.on('roomClosed', (room) => void cluster.release(room.roomId));
		const setWorkerDraining = (workerId: number, draining: boolean) =>
			drainWorker({ pool, rooms, logger, drainTimeoutMs: config.drainTimeoutMs, timers: drainTimers }, workerId, draining);

		const app = await createHttpApp(logger);
		guardAdminRoutes(app, config, logger);
		const build: BuildInfo = { version: pkg.version, mediasoupVersion: mediasoup.version };
		const turnHealth = config.turn ? new TurnHealth(config.turn, probeTurn) : undefined;
		registerProbeRoutes(app, {
			workers: () => pool.workers,
			isDraining,
			...(cluster ? { clusterReachable: () => cluster.redisUp && cluster.registered } : {}),
			...(turnHealth ? { turn: () => ({ summary: turnHealth.summary, servers: turnHealth.servers }) } : {}),
		});
		if (turnHealth) {
			// At start, in the background: a slow TURN server does not hold the media server back.
			void turnHealth.check().then((servers) => {
				for (const s of servers) {
					if (s.state === 'down') logger.warn({ url: s.url, error: s.error }, 'TURN server does not answer an allocate with minted credentials');
					else logger.info({ url: s.url, ...(s.state === 'up' ? { rttMs: s.rttMs } : {}) }, 'TURN server answers');
				}
			});
		}
		registerAdminRoutes(app, {
			pool,
			rooms,
			build,
			isDraining,
			setWorkerDraining,
			adminTokenSet: Boolean(config.adminToken),
			...(cluster ? { placeRoom: (roomId: string, creator?: string) => cluster.place(roomId, creator), nodeId: cluster.nodeId } : {}),
		});
		if (cluster) registerClusterRoutes(app, { view: () => cluster.view(), owner: (roomId) => cluster.owner(roomId) });
		const metrics = registerObservability(app, {
			pool,
			rooms,
			isDraining,
			build,
			routersOn: (workerId) => rooms.routersOn(workerId),
			onWorkerRespawned: (listener) => pool.on('workerRespawned', listener),
			logger,
			...(cluster ? { cluster } : {}),
			...(turnHealth ? { turn: turnHealth } : {}),
		});
		const connectionCounter = new ConnectionCounter(config.limits);
		const budgets = floodBudgets(config.flood);
		const { turn } = config;
		const signalling = await registerSignalling(app, {
			handlers: {
				rooms,
				transportHost: (workerId) => pool.getWorker(workerId),
				authorizeJoin: (roomId, token) => authorizeJoin(config, roomId, token),
				settings: config,
				keyFrames: new KeyFrameGate(config.flood.keyFrameRequestMinIntervalMs),
				identityJoins: budgets.identityJoins,
				...(cluster ? { node: () => ({ nodeId: cluster.nodeId, alternates: cluster.alternateUrls() }) } : {}),
				...(turn ? { iceServersFor: (peerId: string) => [mintIceServer(turn, peerId, Date.now())] } : {}),
			},
			wsMaxMessageBytes: config.wsMaxMessageBytes,
			limits: config.limits,
			metrics,
			logger,
			clientLog: new ClientMistakeLog(logger),
			flood: config.flood,
			budgets,
			allowedOrigins: config.allowedOrigins,
			isDraining,
			connections: connectionCounter,
		});
		// Another node took a room hosted here (while Redis was out of reach): its peers reconnect and are sent there.
		cluster?.on('roomLost', (roomId) => {
			signalling.closeRoom(roomId, CLOSE_CODES.relocated, 'room relocated');
			rooms.getRoom(roomId)?.close('relocated');
		});
		await registerClientRoutes(app);
		registerOpenApiRoutes(app);
		return new Tureen({ config, logger, pool, rooms, app, metrics, signalling, connectionCounter, lifecycle, drainTimers, cluster });
	}

	get draining(): boolean {
		return this.#lifecycle.draining;
	}

	/**
	 * Drain one worker: placement skips it; its rooms stay until they empty,
	 * or move to other workers after DRAIN_TIMEOUT_MS.
	 */
	setWorkerDraining(workerId: number, draining: boolean): void {
		drainWorker(
			{ pool: this.pool, rooms: this.rooms, logger: this.logger, drainTimeoutMs: this.config.drainTimeoutMs, timers: this.#drainTimers },
			workerId,
			draining,
		);
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
		// Registered only once it can take clients: other nodes start sending them here.
		// A NODE_ID another live node holds (NodeIdInUseError): nothing stays open.
		await this.cluster?.start().catch(async (error: unknown) => {
			await this.close();
			throw error;
		});
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
		if (this.#lifecycle.draining) return;
		this.#lifecycle.draining = true;
		this.rooms.stopAcceptingRooms();
		// In a cluster: draining in the registry first, so no node places a room here meanwhile.
		await this.cluster?.beginDrain();
		const deadline = Date.now() + this.config.drainTimeoutMs;
		const signallingUrl = this.cluster?.suggestedUrl();
		// `url` is the deprecated name of signallingUrl, sent for one more release.
		this.signalling.notifyAll({ notification: 'serverDraining', data: { deadlineMs: deadline, ...(signallingUrl ? { signallingUrl, url: signallingUrl } : {}) } });
		this.logger.info({ peers: this.rooms.totalPeers, deadline: new Date(deadline).toISOString() }, 'draining');
		while (this.rooms.totalPeers > 0 && Date.now() < deadline) {
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
		await this.close();
	}

	async close(): Promise<void> {
		if (this.#lifecycle.closed) return;
		this.#lifecycle.closed = true;
		for (const timer of this.#drainTimers.values()) clearTimeout(timer);
		this.signalling.closeAll(CLOSE_CODES.shutdown, 'server shutting down');
		this.rooms.closeAll('shutdown');
		await this.cluster?.stop();
		await this.app.close();
		this.pool.close();
	}
}

function createCoordinator(cluster: ClusterConfig, config: Config, logger: Logger, node: Pick<ClusterDeps, 'load' | 'hostedRoomIds'>): ClusterCoordinator {
	return new ClusterCoordinator({
		cluster,
		settings: {
			cpuSimilarThreshold: config.cpuSimilarThreshold,
			maxRooms: config.limits.rooms,
			roomIdleTimeoutMs: config.roomIdleTimeoutMs,
			roomsPerIpPerMinute: config.limits.roomsPerIpPerMinute,
		},
		version: pkg.version,
		logger,
		...node,
	});
}

/** This node's figures for its heartbeat: workers, rooms, peers, consumers and the mean CPU of its live workers. */
function nodeLoad(workers: readonly { alive: boolean; cpuUsageAverage: number }[], rooms: readonly Room<Participant>[]): NodeLoad {
	const live = workers.filter((w) => w.alive);
	let peers = 0;
	let consumers = 0;
	for (const room of rooms) {
		for (const peer of room.members.values()) {
			peers += 1;
			consumers += peer.consumers.size;
		}
	}
	return {
		workers: workers.length,
		workersAlive: live.length,
		rooms: rooms.length,
		peers,
		consumers,
		cpu: live.length > 0 ? live.reduce((sum, w) => sum + w.cpuUsageAverage, 0) / live.length : 0,
	};
}

/** Resolves the join's identity from its token when JOIN_SECRET is set; undefined when open. */
function authorizeJoin(config: Config, roomId: string, token: string | undefined): Promise<VerifiedJoin | undefined> {
	if (!config.joinSecret) return Promise.resolve(undefined);
	return verifyJoinToken(config.joinSecret, token, roomId, config.maxTokenTtlSeconds);
}

function guardAdminRoutes(app: FastifyInstance, config: Config, logger: Logger): void {
	const { adminToken, joinSecret } = config;
	if (!adminToken || !joinSecret) {
		logger.warn(
			{ adminToken: Boolean(adminToken), joinSecret: Boolean(joinSecret) },
			'ADMIN_TOKEN and/or JOIN_SECRET unset: stats and joins are open to anyone (fine for local development only)',
		);
	}
	const guard = adminToken ? adminGuard(adminToken) : openModeGuard;
	app.addHook('onRequest', async (request, reply) => {
		// The matched route pattern, not the raw URL: "/%73tats" must not slip past.
		const route = request.routeOptions.url ?? '';
		if (ADMIN_PATHS.some((p) => p.test(route))) await guard(request, reply);
	});
}

type DrainDeps = {
	pool: WorkerPool;
	rooms: RoomRegistry<Participant>;
	logger: Logger;
	drainTimeoutMs: number;
	timers: Map<number, NodeJS.Timeout>;
};

/** Placement skips a draining worker; its rooms stay until they empty, or move after drainTimeoutMs. */
function drainWorker({ pool, rooms, logger, drainTimeoutMs, timers }: DrainDeps, workerId: number, draining: boolean): void {
	pool.setDraining(workerId, draining);
	clearTimeout(timers.get(workerId));
	timers.delete(workerId);
	if (draining) {
		const timer = setTimeout(() => {
			timers.delete(workerId);
			if (pool.getWorker(workerId)?.draining) void rooms.moveRoomsOff(workerId, 'worker-drained');
		}, drainTimeoutMs);
		timer.unref();
		timers.set(workerId, timer);
	}
	logger.info({ workerId, draining }, 'worker drain state changed');
}
