import { EventEmitter } from 'node:events';

import type { ClusterConfig } from '../config.ts';
import { limitReached, TureenError, wrongNode } from '../errors.ts';
import { signallingUrl, type ClusterNode, type ClusterView, type NodeRecord } from '../protocol/cluster.ts';
import { nodeIdVerdict, type HolderObservation } from './nodeIdPolicy.ts';
import { chooseNode, type NodeSnapshot } from './nodeSelection.ts';
import { reclaimPlan } from './reclaimPolicy.ts';
import {
	RedisStore,
	RedisUnavailableError,
	type ClaimGuard,
	type ClaimResult,
	type HeartbeatResult,
	type RegisteredNode,
	type StoreLogger,
} from './redisStore.ts';

/** Every node rewrites its registry entry this often. */
export const HEARTBEAT_MS = 2000;
/** A node (and the rooms it hosts) whose heartbeats stop is gone from the registry after this. */
export const NODE_TTL_MS = 3 * HEARTBEAT_MS;
const ROOM_TTL_MS = NODE_TTL_MS;
/** How long start() waits for Redis before going on without it (it keeps reconnecting). */
const START_WAIT_MS = 3000;
/** While its NODE_ID is held by another process, start() looks again this often (until the holder lapses or is seen alive). */
const NODE_ID_RETRY_MS = 200;
/** MAX_ROOMS_PER_IP_PER_MINUTE's window. */
const ROOM_QUOTA_WINDOW_MS = 60_000;
/** A placement whose target filled up meanwhile is retried on a fresh registry read this many times in all. */
const PLACE_ATTEMPTS = 4;

/** start() found this node's NODE_ID held by another live process: two nodes with one id would split rooms. */
export class NodeIdInUseError extends Error {
	constructor(readonly nodeId: string) {
		super(`NODE_ID "${nodeId}" is already in use by another live node (its heartbeat in Redis is being renewed); give each node its own NODE_ID`);
		this.name = 'NodeIdInUseError';
	}
}

/** This node's figures for its heartbeat. */
export type NodeLoad = Pick<NodeRecord, 'workers' | 'workersAlive' | 'rooms' | 'peers' | 'consumers' | 'cpu'>;

/** What the coordinator needs from the rest of the server. */
export type ClusterDeps = {
	cluster: ClusterConfig;
	/** CPU_SIMILAR_THRESHOLD, MAX_ROOMS, ROOM_IDLE_TIMEOUT_MS, MAX_ROOMS_PER_IP_PER_MINUTE. */
	settings: { cpuSimilarThreshold: number; maxRooms: number; roomIdleTimeoutMs: number; roomsPerIpPerMinute: number };
	version: string;
	logger: StoreLogger;
	load(): NodeLoad;
	/** The rooms this node hosts now. */
	hostedRoomIds(): string[];
};

/** Where a room lives: here, or on another node (with the WebSocket URL its clients connect to). */
export type Placement = { nodeId: string; signallingUrl: string; here: boolean; created: boolean };

export type ClusterEvents = {
	/** Another live node owns a room this node hosts (claimed while Redis was out of reach): its peers must go there. */
	roomLost: [roomId: string, owner: Placement | undefined];
};

function snapshot({ record, ownedRooms, lastPlacedSeq }: RegisteredNode): NodeSnapshot {
	return {
		nodeId: record.nodeId,
		alive: true,
		draining: record.draining,
		...(record.region ? { region: record.region } : {}),
		workersAlive: record.workersAlive,
		// The room map counts placements at once; the record only every heartbeat.
		roomCount: Math.max(ownedRooms, record.rooms),
		maxRooms: record.maxRooms,
		cpu: record.cpu,
		lastPlacedSeq,
	};
}

/**
 * This node's part in the cluster: it publishes its load, places new rooms
 * on the node the policy (nodeSelection.ts) picks, claims them atomically in
 * the room map, renews the rooms it hosts and releases them when they close.
 * Without Redis it keeps serving what it hosts and refuses what it cannot
 * place (CLUSTER_UNAVAILABLE).
 */
export class ClusterCoordinator extends EventEmitter<ClusterEvents> {
	readonly #deps: ClusterDeps;
	readonly #store: RedisStore;
	readonly #startedAt = Date.now();
	#timer: NodeJS.Timeout | undefined;
	#beating: Promise<HeartbeatResult | undefined> | undefined;
	#draining = false;
	#stopped = false;
	/** The registry as of the last heartbeat: for suggestions and metrics, never for ownership. */
	#lastNodes: RegisteredNode[] = [];
	/** The Redis generation of the last heartbeat; undefined before the first one. Claims are fenced by it. */
	#generation: string | undefined;
	/** The live nodes of that generation, as the last heartbeat read them: whom to wait for should Redis lose its data. */
	#knownNodeIds: string[] = [];
	/** Another process holds this NODE_ID: this one is not registered and places nothing. */
	#idTaken = false;
	/** start() is finding out whether the NODE_ID is free (it says so itself, by throwing). */
	#registering = false;

	constructor(deps: ClusterDeps) {
		super();
		this.#deps = deps;
		this.#store = new RedisStore(deps.cluster.redisUrl, deps.logger);
		// Redis may have restarted empty: register and re-claim at once.
		this.#store.on('up', () => void this.heartbeat());
	}

	get nodeId(): string {
		return this.#deps.cluster.nodeId;
	}

	get redisUp(): boolean {
		return this.#store.up;
	}

	/** Heartbeated into the Redis of now, under a NODE_ID no other process holds. */
	get registered(): boolean {
		return this.#generation !== undefined && !this.#idTaken;
	}

	/**
	 * Connects (waiting a little), registers, and heartbeats every HEARTBEAT_MS
	 * from now on. Throws NodeIdInUseError when another live process holds
	 * this NODE_ID (policy in nodeIdPolicy.ts; waits up to NODE_TTL_MS for a
	 * holder that may be this node's own killed predecessor).
	 */
	async start(): Promise<void> {
		const connected = await this.#store.connect(START_WAIT_MS);
		if (connected) await this.#register();
		this.#timer = setInterval(() => void this.heartbeat(), HEARTBEAT_MS);
		this.#timer.unref();
	}

	async #register(): Promise<void> {
		const observations: HolderObservation[] = [];
		this.#registering = true;
		try {
			for (;;) {
				const result = await this.#heartbeat();
				if (result?.status !== 'taken') return;
				observations.push({ atMs: Date.now(), ttlMs: result.holderTtlMs });
				if (nodeIdVerdict(observations, NODE_TTL_MS) === 'refuse') {
					this.#stopped = true;
					await this.#store.close();
					throw new NodeIdInUseError(this.nodeId);
				}
				await new Promise((resolve) => setTimeout(resolve, NODE_ID_RETRY_MS));
			}
		} finally {
			this.#registering = false;
		}
	}

	#record(): NodeRecord {
		const { cluster, settings, version } = this.#deps;
		return {
			nodeId: cluster.nodeId,
			httpUrl: cluster.publicUrl,
			...(cluster.region ? { region: cluster.region } : {}),
			draining: this.#draining,
			...this.#deps.load(),
			maxRooms: settings.maxRooms,
			version,
			startedAt: this.#startedAt,
		};
	}

	/** One heartbeat (never two at once): publish, renew hosted rooms, learn the registry. */
	async heartbeat(): Promise<void> {
		await this.#heartbeat();
	}

	#heartbeat(): Promise<HeartbeatResult | undefined> {
		this.#beating ??= this.#beat().finally(() => (this.#beating = undefined));
		return this.#beating;
	}

	async #beat(): Promise<HeartbeatResult | undefined> {
		// Tried even while Redis is known to be down: the store fails at once, and an answer brings it back up.
		if (this.#stopped) return undefined;
		try {
			// A draining node renews nothing: its rooms' keys lapse, so their peers are placed elsewhere.
			const hosted = this.#draining ? [] : this.#deps.hostedRoomIds();
			// Should Redis have lost its data since the last heartbeat, this opens a re-claim window (reclaimPolicy.ts).
			const plan = reclaimPlan({ selfId: this.nodeId, generation: this.#generation, knownNodeIds: this.#knownNodeIds });
			const fence = { ...(this.#generation === undefined ? {} : { lastGeneration: this.#generation }), ...(plan ? { reclaim: plan } : {}) };
			const result = await this.#store.heartbeat(this.#record(), hosted, NODE_TTL_MS, ROOM_TTL_MS, fence);
			if (result.status === 'taken') {
				// Past start() (it began without Redis, or Redis lost the id meanwhile): said once, loudly.
				if (!this.#idTaken && !this.#registering) {
					this.#deps.logger.error({ nodeId: this.nodeId }, `cluster: NODE_ID "${this.nodeId}" is held by another process; this node is unregistered and places no rooms`);
				}
				this.#idTaken = true;
				return result;
			}
			this.#idTaken = false;
			if (result.generation !== this.#generation && this.#generation !== undefined) {
				this.#deps.logger.warn({ waitingFor: plan?.expect ?? [] }, 'cluster: Redis lost its data; rooms are re-claimed by their hosts before any new claim');
			}
			this.#generation = result.generation;
			this.#lastNodes = await this.#store.readNodes();
			this.#knownNodeIds = this.#lastNodes.map((n) => n.record.nodeId);
			for (const roomId of result.lost) {
				const owner = await this.#ownerPlacement(roomId).catch(() => undefined);
				this.#deps.logger.warn({ roomId, owner: owner?.nodeId }, 'cluster: another node owns a room hosted here; sending its peers there');
				this.emit('roomLost', roomId, owner);
			}
			return result;
		} catch (error) {
			if (!(error instanceof RedisUnavailableError)) this.#deps.logger.error({ err: error }, 'cluster: heartbeat failed');
			return undefined;
		}
	}

	#placement(record: Pick<NodeRecord, 'nodeId' | 'httpUrl'>, created: boolean): Placement {
		return { nodeId: record.nodeId, signallingUrl: signallingUrl(record.httpUrl), here: record.nodeId === this.nodeId, created };
	}

	async #ownerPlacement(roomId: string): Promise<Placement | undefined> {
		const owner = await this.#store.roomOwner(roomId);
		return owner?.record ? this.#placement(owner.record, false) : undefined;
	}

	/**
	 * Where a room lives, placing it when it lives nowhere: its live owner if
	 * it has one, else the node the policy picks, claimed atomically (when
	 * two nodes place the same room at once, one claim wins and the other
	 * answer names the winner). Throws CLUSTER_UNAVAILABLE without Redis (or
	 * while a re-claim window is open), NO_WORKER_AVAILABLE when no node may
	 * take a room, LIMIT_REACHED when `creator` (a client address) placed its
	 * MAX_ROOMS_PER_IP_PER_MINUTE rooms in the cluster within the minute.
	 */
	async place(roomId: string, creator?: string): Promise<Placement> {
		try {
			return await this.#place(roomId, creator);
		} catch (error) {
			if (error instanceof RedisUnavailableError) {
				throw new TureenError('CLUSTER_UNAVAILABLE', 'the cluster cannot place rooms right now (Redis unreachable); rooms already on this node carry on');
			}
			throw error;
		}
	}

	async #place(roomId: string, creator: string | undefined): Promise<Placement> {
		if (this.#idTaken) throw new TureenError('CLUSTER_UNAVAILABLE', `NODE_ID "${this.nodeId}" is held by another process: this node places no rooms`);
		const owner = await this.#store.roomOwner(roomId);
		if (owner?.record) {
			// Ours with no local room yet: another node placed it here. Renew it before the client arrives.
			if (owner.nodeId === this.nodeId) await this.#claim(roomId, this.nodeId, ROOM_TTL_MS, {});
			return this.#placement(owner.record, false);
		}
		const { cpuSimilarThreshold, roomIdleTimeoutMs, roomsPerIpPerMinute } = this.#deps.settings;
		const region = this.#deps.cluster.region;
		const quota = creator === undefined ? {} : { creator: { address: creator, max: roomsPerIpPerMinute, windowMs: ROOM_QUOTA_WINDOW_MS } };
		for (let attempt = 0; attempt < PLACE_ATTEMPTS; attempt++) {
			const nodes = await this.#store.readNodes();
			this.#lastNodes = nodes;
			const chosen = chooseNode(nodes.map(snapshot), { cpuSimilarThreshold, ...(region ? { preferRegion: region } : {}) });
			const target = nodes.find((n) => n.record.nodeId === chosen)?.record;
			if (!target) break;
			// A room placed elsewhere waits for its first client as long as an empty room would.
			const ttl = target.nodeId === this.nodeId ? ROOM_TTL_MS : Math.max(ROOM_TTL_MS, roomIdleTimeoutMs);
			// MAX_ROOMS and the address's quota are checked in the claim itself, atomically for the whole cluster.
			const claim = await this.#claim(roomId, target.nodeId, ttl, { maxRooms: target.maxRooms, ...quota });
			if (claim.claimed) {
				// Not fresh: another node placed it on the same target a moment before; only one answer says created.
				if (claim.fresh) this.#deps.logger.info({ roomId, nodeId: target.nodeId }, 'cluster: room placed');
				return this.#placement(target, claim.fresh);
			}
			if ('refused' in claim) {
				// Filled up since the registry was read: read it again.
				if (claim.refused === 'full') continue;
				if (claim.refused === 'quota') throw limitReached('roomsPerIpPerMinute', roomsPerIpPerMinute, 'this address created too many rooms in the last minute');
				throw new TureenError('CLUSTER_UNAVAILABLE', 'the cluster is re-claiming its rooms after Redis lost its data; retry in a few seconds');
			}
			// Another node placed it first (or the target just left): whoever owns it now.
			const winner = await this.#ownerPlacement(roomId);
			if (!winner) throw new TureenError('CLUSTER_UNAVAILABLE', 'the room could not be placed; retry');
			return winner;
		}
		throw new TureenError('NO_WORKER_AVAILABLE', 'no node of the cluster can take a new room');
	}

	/** A claim fenced by this node's Redis generation; when Redis lost its data since, heartbeat first (re-claim window) and try again once. */
	async #claim(roomId: string, nodeId: string, ttlMs: number, guard: Omit<ClaimGuard, 'generation'>): Promise<ClaimResult> {
		for (let attempt = 0; ; attempt++) {
			// Before the first heartbeat no generation matches: the claim waits for it.
			const claim = await this.#store.claim(roomId, nodeId, ttlMs, NODE_TTL_MS, { ...guard, generation: this.#generation ?? '-' });
			if (!('refused' in claim) || claim.refused !== 'stale') return claim;
			if (attempt > 0) throw new TureenError('CLUSTER_UNAVAILABLE', 'Redis changed under this node; retry');
			await this.#heartbeat();
		}
	}

	/**
	 * For the room registry, before it creates a room here: passes when the
	 * room belongs here, throws WRONG_NODE naming the owner otherwise.
	 * `creator` (a client address) is charged MAX_ROOMS_PER_IP_PER_MINUTE
	 * cluster-wide when the room is placed (wherever it is placed).
	 */
	async admit(roomId: string, creator?: string): Promise<void> {
		const placement = await this.place(roomId, creator);
		if (!placement.here) throw wrongNode(placement.nodeId, placement.signallingUrl);
	}

	/** The room closed here: the room map forgets it (if Redis is out of reach, its key lapses instead). */
	async release(roomId: string): Promise<void> {
		await this.#store.release(this.nodeId, [roomId]).catch((error: unknown) => {
			if (!(error instanceof RedisUnavailableError)) this.#deps.logger.error({ err: error, roomId }, 'cluster: release failed');
		});
	}

	/** The room's owner, or undefined when no live node owns it. */
	async owner(roomId: string): Promise<Placement | undefined> {
		try {
			return await this.#ownerPlacement(roomId);
		} catch (error) {
			if (error instanceof RedisUnavailableError) throw new TureenError('CLUSTER_UNAVAILABLE', 'Redis unreachable');
			throw error;
		}
	}

	/**
	 * SIGTERM: published as draining at once (no new rooms here), and the
	 * hosted rooms given up so that their peers, moving away, meet on one new node.
	 */
	async beginDrain(): Promise<void> {
		this.#draining = true;
		// A heartbeat already under way carries the old record: publish a fresh one after it.
		await this.#beating;
		await this.heartbeat();
		await this.#store.release(this.nodeId, this.#deps.hostedRoomIds()).catch(() => undefined);
	}

	/** Signalling URL of the node that would take a new room now, other than this one. */
	suggestedUrl(): string | undefined {
		const others = this.#lastNodes.filter((n) => n.record.nodeId !== this.nodeId);
		const chosen = chooseNode(others.map(snapshot), { cpuSimilarThreshold: this.#deps.settings.cpuSimilarThreshold });
		const record = others.find((n) => n.record.nodeId === chosen)?.record;
		return record ? signallingUrl(record.httpUrl) : undefined;
	}

	/** Signalling URLs of the other live, non-draining nodes, as of the last heartbeat. */
	alternateUrls(): string[] {
		return this.#lastNodes.filter((n) => n.record.nodeId !== this.nodeId && !n.record.draining).map((n) => signallingUrl(n.record.httpUrl));
	}

	/** The registry now (or, without Redis, as last seen). */
	async view(): Promise<ClusterView> {
		const fresh = await this.#store.readNodes().catch((error: unknown) => {
			if (error instanceof RedisUnavailableError) return undefined;
			throw error;
		});
		if (fresh) this.#lastNodes = fresh;
		return { nodeId: this.nodeId, redis: this.#store.up ? 'up' : 'down', nodes: this.#describe(fresh ?? this.#lastNodes) };
	}

	/** The registry as of the last heartbeat, for metrics (no Redis round trip). */
	lastView(): ClusterView {
		return { nodeId: this.nodeId, redis: this.#store.up ? 'up' : 'down', nodes: this.#describe(this.#lastNodes) };
	}

	#describe(nodes: readonly RegisteredNode[]): ClusterNode[] {
		return nodes
			.map(({ record, ownedRooms }) => ({ ...record, alive: true as const, self: record.nodeId === this.nodeId, ownedRooms, signallingUrl: signallingUrl(record.httpUrl) }))
			.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
	}

	/** Clean shutdown: rooms released, the node leaves the registry at once, the connection closes. */
	async stop(): Promise<void> {
		if (this.#stopped) return;
		this.#stopped = true;
		clearInterval(this.#timer);
		await this.#beating;
		if (this.#store.up && !this.#idTaken) {
			await this.#store.release(this.nodeId, this.#deps.hostedRoomIds()).catch(() => undefined);
			await this.#store.unregister(this.nodeId).catch(() => undefined);
		}
		await this.#store.close();
	}
}
