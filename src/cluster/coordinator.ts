import { EventEmitter } from 'node:events';

import type { ClusterConfig } from '../config.ts';
import { TureenError, wrongNode } from '../errors.ts';
import { signallingUrl, type ClusterNode, type ClusterView, type NodeRecord } from '../protocol/cluster.ts';
import { chooseNode, type NodeSnapshot } from './nodeSelection.ts';
import { RedisStore, RedisUnavailableError, type RegisteredNode, type StoreLogger } from './redisStore.ts';

/** Every node rewrites its registry entry this often. */
export const HEARTBEAT_MS = 2000;
/** A node (and the rooms it hosts) whose heartbeats stop is gone from the registry after this. */
export const NODE_TTL_MS = 3 * HEARTBEAT_MS;
const ROOM_TTL_MS = NODE_TTL_MS;
/** How long start() waits for Redis before going on without it (it keeps reconnecting). */
const START_WAIT_MS = 3000;

/** This node's figures for its heartbeat. */
export type NodeLoad = Pick<NodeRecord, 'workers' | 'workersAlive' | 'rooms' | 'peers' | 'consumers' | 'cpu'>;

/** What the coordinator needs from the rest of the server. */
export type ClusterDeps = {
	cluster: ClusterConfig;
	/** CPU_SIMILAR_THRESHOLD, MAX_ROOMS, ROOM_IDLE_TIMEOUT_MS. */
	settings: { cpuSimilarThreshold: number; maxRooms: number; roomIdleTimeoutMs: number };
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
	#beating: Promise<void> | undefined;
	#draining = false;
	#stopped = false;
	/** The registry as of the last heartbeat: for suggestions and metrics, never for ownership. */
	#lastNodes: RegisteredNode[] = [];

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

	/** Connects (waiting a little), registers, and heartbeats every HEARTBEAT_MS from now on. */
	async start(): Promise<void> {
		const connected = await this.#store.connect(START_WAIT_MS);
		if (connected) await this.heartbeat();
		this.#timer = setInterval(() => void this.heartbeat(), HEARTBEAT_MS);
		this.#timer.unref();
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
	heartbeat(): Promise<void> {
		this.#beating ??= this.#beat().finally(() => (this.#beating = undefined));
		return this.#beating;
	}

	async #beat(): Promise<void> {
		// Tried even while Redis is known to be down: the store fails at once, and an answer brings it back up.
		if (this.#stopped) return;
		try {
			// A draining node renews nothing: its rooms' keys lapse, so their peers are placed elsewhere.
			const hosted = this.#draining ? [] : this.#deps.hostedRoomIds();
			const lost = await this.#store.heartbeat(this.#record(), hosted, NODE_TTL_MS, ROOM_TTL_MS);
			this.#lastNodes = await this.#store.readNodes();
			for (const roomId of lost) {
				const owner = await this.#ownerPlacement(roomId).catch(() => undefined);
				this.#deps.logger.warn({ roomId, owner: owner?.nodeId }, 'cluster: another node owns a room hosted here; sending its peers there');
				this.emit('roomLost', roomId, owner);
			}
		} catch (error) {
			if (!(error instanceof RedisUnavailableError)) this.#deps.logger.error({ err: error }, 'cluster: heartbeat failed');
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
	 * answer names the winner). Throws CLUSTER_UNAVAILABLE without Redis and
	 * NO_WORKER_AVAILABLE when no node may take a room.
	 */
	async place(roomId: string): Promise<Placement> {
		try {
			return await this.#place(roomId);
		} catch (error) {
			if (error instanceof RedisUnavailableError) {
				throw new TureenError('CLUSTER_UNAVAILABLE', 'the cluster cannot place rooms right now (Redis unreachable); rooms already on this node carry on');
			}
			throw error;
		}
	}

	async #place(roomId: string): Promise<Placement> {
		const owner = await this.#store.roomOwner(roomId);
		if (owner?.record) {
			// Ours with no local room yet: another node placed it here. Renew it before the client arrives.
			if (owner.nodeId === this.nodeId) await this.#store.claim(roomId, this.nodeId, ROOM_TTL_MS, NODE_TTL_MS);
			return this.#placement(owner.record, false);
		}
		const nodes = await this.#store.readNodes();
		this.#lastNodes = nodes;
		const { cpuSimilarThreshold, roomIdleTimeoutMs } = this.#deps.settings;
		const region = this.#deps.cluster.region;
		const chosen = chooseNode(nodes.map(snapshot), { cpuSimilarThreshold, ...(region ? { preferRegion: region } : {}) });
		const target = nodes.find((n) => n.record.nodeId === chosen)?.record;
		if (!target) throw new TureenError('NO_WORKER_AVAILABLE', 'no node of the cluster can take a new room');
		// A room placed elsewhere waits for its first client as long as an empty room would.
		const ttl = target.nodeId === this.nodeId ? ROOM_TTL_MS : Math.max(ROOM_TTL_MS, roomIdleTimeoutMs);
		const claim = await this.#store.claim(roomId, target.nodeId, ttl, NODE_TTL_MS);
		if (claim.claimed) {
			// Not fresh: another node placed it on the same target a moment before; only one answer says created.
			if (claim.fresh) this.#deps.logger.info({ roomId, nodeId: target.nodeId }, 'cluster: room placed');
			return this.#placement(target, claim.fresh);
		}
		// Another node placed it first (or the target just left): whoever owns it now.
		const winner = await this.#ownerPlacement(roomId);
		if (!winner) throw new TureenError('CLUSTER_UNAVAILABLE', 'the room could not be placed; retry');
		return winner;
	}

	/**
	 * For the room registry, before it creates a room here: passes when the
	 * room belongs here, throws WRONG_NODE naming the owner otherwise.
	 */
	async admit(roomId: string): Promise<void> {
		const placement = await this.place(roomId);
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
		if (this.#store.up) {
			await this.#store.release(this.nodeId, this.#deps.hostedRoomIds()).catch(() => undefined);
			await this.#store.unregister(this.nodeId).catch(() => undefined);
		}
		await this.#store.close();
	}
}
