import { EventEmitter } from 'node:events';

import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';

import type { Config } from '../config.ts';
import { TureenError } from '../errors.ts';
import type { RoomDistribution, WorkerStats } from '../protocol/stats.ts';
import { ManagedWorker } from './workers/managedWorker.ts';
import { placePeer, type RoomRouterSnapshot } from './workers/peerPlacement.ts';
import { chooseWorker, type WorkerSnapshot } from './workers/placement.ts';
import { portRangeFor } from './workers/portPlan.ts';
import { DEFAULT_RESPAWN_POLICY, decideRespawn, recentDeaths, type RespawnPolicy } from './workers/respawnPolicy.ts';

/** What the rooms put on one worker: rooms with a router there, their peers there, and the pipes between routers. */
export type WorkerLoad = { roomIds: string[]; peers: number; pipeTransports: number; pipedProducers: number };
const NO_LOAD: WorkerLoad = { roomIds: [], peers: 0, pipeTransports: 0, pipedProducers: 0 };

export type WorkerPoolEvents = {
	workerDied: [workerId: number, reason: string];
	workerRespawned: [workerId: number];
	workerGaveUp: [workerId: number];
};

export type WorkerPoolOptions = Pick<
	Config,
	| 'workerCount'
	| 'rtcBasePort'
	| 'rtcPortsPerWorker'
	| 'rtcPortMode'
	| 'webrtcListenIp'
	| 'announcedIp'
	| 'cpuSampleIntervalMs'
	| 'cpuSimilarThreshold'
	| 'workerTimeoutMs'
	| 'roomSpreadCpu'
	| 'roomSpreadMinPeers'
	| 'roomMaxPeersPerRouter'
> & {
	logger: Logger;
	respawnPolicy?: RespawnPolicy;
	/**
	 * What the rooms put on each worker now, in one pass over them (the room
	 * registry's loadByWorker): the pool reads it for placement and stats and
	 * keeps no room state of its own. Without it every worker counts as empty.
	 */
	roomLoad?: () => ReadonlyMap<number, WorkerLoad>;
};

const NO_ROOMS = (): ReadonlyMap<number, WorkerLoad> => new Map();

/**
 * The mediasoup worker pool: one slot per worker with a fixed id and port
 * range, load-aware placement, and respawn of dead workers into their slot.
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
	readonly #options: WorkerPoolOptions;
	readonly #workers: ManagedWorker[];
	readonly #deaths = new Map<number, number[]>();
	readonly #respawnTimers = new Set<NodeJS.Timeout>();
	readonly #roomLoad: () => ReadonlyMap<number, WorkerLoad>;
	#closed = false;

	private constructor(options: WorkerPoolOptions, workers: ManagedWorker[]) {
		super();
		this.#options = options;
		this.#workers = workers;
		this.#roomLoad = options.roomLoad ?? NO_ROOMS;
		for (const worker of workers) {
			worker.on('died', (reason) => this.#handleWorkerDied(worker, reason));
			worker.on('sampleFailed', (error) =>
				options.logger.warn({ workerId: worker.workerId, pid: worker.pid, err: error }, 'worker CPU/memory sampling failed; its figures are stale'),
			);
		}
	}

	static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
		const workers = await Promise.all(
			Array.from({ length: options.workerCount }, (_, workerId) =>
				ManagedWorker.create({
					workerId,
					portRange: portRangeFor(workerId, options),
					portMode: options.rtcPortMode,
					listen: { ip: options.webrtcListenIp, announcedAddress: options.announcedIp },
					cpuSampleIntervalMs: options.cpuSampleIntervalMs,
					unresponsiveTimeoutMs: options.workerTimeoutMs,
					logLevel: 'warn',
				}),
			),
		).catch((error: unknown) => {
			throw new Error(`could not start the mediasoup workers: ${(error as Error).message}`);
		});
		return new WorkerPool(options, workers);
	}

	get workers(): readonly ManagedWorker[] {
		return this.#workers;
	}

	getWorker(workerId: number): ManagedWorker | undefined {
		return this.#workers[workerId];
	}

	/** The live mediasoup Worker in a slot, for tests that dump or kill it; throws when the slot is empty. */
	mediasoupWorkerForTesting(workerId: number): ms.Worker {
		const worker = this.#workers[workerId]?.worker;
		if (!worker) throw new Error(`worker slot ${workerId} holds no live worker`);
		return worker;
	}

	get allAlive(): boolean {
		return this.#workers.every((w) => w.alive);
	}

	snapshots(): WorkerSnapshot[] {
		const load = this.#roomLoad();
		return this.#workers.map((w) => ({
			workerId: w.workerId,
			alive: w.alive,
			draining: w.draining,
			roomCount: (load.get(w.workerId) ?? NO_LOAD).roomIds.length,
			cpu: w.cpuUsageAverage,
			lastUsedAt: w.lastUsedAt,
			portUse: w.portUse,
		}));
	}

	/**
	 * The worker a new room should go to (see placement.ts); choosing changes
	 * nothing: whoever puts a room there calls markWorkerUsed so the next
	 * choice spreads. Throws NO_WORKER_AVAILABLE when none may take it.
	 */
	getLeastLoadedWorker(): ManagedWorker {
		const chosen = chooseWorker(this.snapshots(), { cpuSimilarThreshold: this.#options.cpuSimilarThreshold });
		const worker = chosen === undefined ? undefined : this.#workers[chosen];
		if (!worker) throw new TureenError('NO_WORKER_AVAILABLE', 'no live, non-draining mediasoup worker');
		return worker;
	}

	/** A room (or a room's new router) was put on the worker now: placement's tie-break sends the next one elsewhere. */
	markWorkerUsed(workerId: number): void {
		this.#workers[workerId]?.markUsed(Date.now());
	}

	/**
	 * Where a new peer of a room with these routers goes (see
	 * peerPlacement.ts); a worker chosen for a new router is marked used now.
	 * Throws NO_WORKER_AVAILABLE when none may take the peer.
	 */
	placePeerInRoom(routers: readonly RoomRouterSnapshot[]): { kind: 'existing' | 'new'; workerId: number; worker: ms.Worker | undefined } {
		const { cpuSimilarThreshold, roomSpreadCpu, roomSpreadMinPeers, roomMaxPeersPerRouter } = this.#options;
		const placed = placePeer(this.snapshots(), routers, { cpuSimilarThreshold, roomSpreadCpu, roomSpreadMinPeers, maxPeersPerRouter: roomMaxPeersPerRouter });
		const worker = placed && this.#workers[placed.workerId];
		if (!placed || !worker) throw new TureenError('NO_WORKER_AVAILABLE', 'no live, non-draining mediasoup worker can take this peer');
		if (placed.kind === 'new') worker.markUsed(Date.now());
		return { kind: placed.kind, workerId: worker.workerId, worker: worker.worker };
	}

	getWorkerStats(): WorkerStats[] {
		const load = this.#roomLoad();
		return this.#workers.map((w) => ({
			workerId: w.workerId,
			pid: w.pid ?? null,
			closed: !w.alive,
			draining: w.draining,
			roomCount: (load.get(w.workerId) ?? NO_LOAD).roomIds.length,
			peerCount: (load.get(w.workerId) ?? NO_LOAD).peers,
			pipeTransports: (load.get(w.workerId) ?? NO_LOAD).pipeTransports,
			pipedProducers: (load.get(w.workerId) ?? NO_LOAD).pipedProducers,
			cpuUsage: round(w.cpuUsage),
			cpuUsageAvg: round(w.cpuUsageAverage),
			portRange: w.portRange,
			ports: { mode: w.portMode, inUse: w.portsInUse, capacity: w.portCapacity, exhausted: w.portsExhausted },
			memory: { ru_maxrss: w.maxRssKb },
			lastUsedAt: w.lastUsedAt ? new Date(w.lastUsedAt).toISOString() : null,
			restarts: w.restarts,
			uptimeMs: w.uptimeMs,
		}));
	}

	/** Room ids per workerId (as string keys, for JSON); a room spanning workers is listed under each. */
	getRoomDistribution(): RoomDistribution {
		const load = this.#roomLoad();
		return Object.fromEntries(this.#workers.map((w) => [String(w.workerId), (load.get(w.workerId) ?? NO_LOAD).roomIds]));
	}

	setDraining(workerId: number, draining: boolean): ManagedWorker {
		const worker = this.#workers[workerId];
		if (!worker) throw new TureenError('NOT_FOUND', `no worker ${workerId}`);
		worker.setDraining(draining);
		return worker;
	}

	#handleWorkerDied(worker: ManagedWorker, reason: string): void {
		if (this.#closed) return;
		const now = Date.now();
		const policy = this.#options.respawnPolicy ?? DEFAULT_RESPAWN_POLICY;
		// Only the deaths the policy still counts are kept, so the list stays short.
		const deaths = recentDeaths([...(this.#deaths.get(worker.workerId) ?? []), now], now, policy);
		this.#deaths.set(worker.workerId, deaths);
		this.#options.logger.error({ workerId: worker.workerId, reason }, 'mediasoup worker died');
		this.emit('workerDied', worker.workerId, reason);

		const decision = decideRespawn(deaths, now, policy);
		if (!decision.respawn) {
			this.#options.logger.error({ workerId: worker.workerId }, 'worker died too often; it stays down');
			this.emit('workerGaveUp', worker.workerId);
			return;
		}
		const timer = setTimeout(() => {
			this.#respawnTimers.delete(timer);
			void this.#respawn(worker);
		}, decision.delayMs);
		this.#respawnTimers.add(timer);
	}

	async #respawn(worker: ManagedWorker): Promise<void> {
		if (this.#closed) return;
		try {
			await worker.start();
		} catch (error) {
			this.#options.logger.error({ workerId: worker.workerId, err: error }, 'worker respawn failed');
			this.#handleWorkerDied(worker, `respawn failed: ${(error as Error).message}`);
			return;
		}
		if (this.#closed) {
			worker.close();
			return;
		}
		worker.countRestart();
		this.#options.logger.info({ workerId: worker.workerId, pid: worker.pid }, 'mediasoup worker respawned');
		this.emit('workerRespawned', worker.workerId);
	}

	close(): void {
		this.#closed = true;
		for (const timer of this.#respawnTimers) clearTimeout(timer);
		for (const worker of this.#workers) worker.close();
	}
}

function round(n: number): number {
	return Math.round(n * 1000) / 1000;
}

/** Starts `config.workerCount` mediasoup workers, each with its own RTC port range. */
export function initMediasoup(options: WorkerPoolOptions): Promise<WorkerPool> {
	return WorkerPool.create(options);
}
