import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';

import { createClient, ErrorReply } from '@redis/client';
import { z } from 'zod';

import { nodeRecordSchema, type NodeRecord } from '../protocol/cluster.ts';
import type { ReclaimPlan } from './reclaimPolicy.ts';
import { CLAIM, HEARTBEAT, READ_NODES, RELEASE, ROOM_OWNER, UNREGISTER } from './redisScripts.ts';

/** A live node as the registry shows it: its record, the rooms the room map gives it, its last placement. */
export type RegisteredNode = { record: NodeRecord; ownedRooms: number; lastPlacedSeq: number };

export type RoomOwner = { nodeId: string; alive: true; record: NodeRecord } | { nodeId: string; alive: false; record?: undefined };

/**
 * Why a claim was refused without another owner: `stale`, the caller's Redis generation is not Redis's (it lost its
 * data since: heartbeat first); `reclaiming`, a re-claim window waits for nodes; `full`, the target owns its
 * MAX_ROOMS; `quota`, the creating address placed its quota of rooms in the window.
 */
export type ClaimRefusal = 'stale' | 'reclaiming' | 'full' | 'quota';

/** claimed: the node owns the room now; `fresh` when it did not before (a placement, not a renewal). */
export type ClaimResult =
	| { claimed: true; fresh: boolean; previousOwner: string | undefined }
	| { claimed: false; owner: string | undefined }
	| { claimed: false; refused: ClaimRefusal };

/** What a claim checks besides ownership; each unset guard is not checked. */
export type ClaimGuard = {
	/** The Redis generation the caller last heartbeated into. */
	generation?: string;
	/** The target's MAX_ROOMS: a fresh claim needs it to own fewer. */
	maxRooms?: number;
	/** The client address creating the room, charged one room of `max` per `windowMs` on a fresh claim. */
	creator?: { address: string; max: number; windowMs: number };
};

/** What the heartbeat needs to fence Redis restarts: the generation it last saw and the window to open if Redis lost its data since. */
export type HeartbeatFence = { lastGeneration?: string; reclaim?: ReclaimPlan };

/** ok: registered, in Redis generation `generation`, with the hosted rooms another live node owns now; taken: another process holds the node id. */
export type HeartbeatResult = { status: 'ok'; generation: string; lost: string[] } | { status: 'taken'; holderTtlMs: number };

export type StoreLogger = {
	error(fields: object, message: string): void;
	warn(fields: object, message: string): void;
	info(fields: object, message: string): void;
};

export type RedisStoreEvents = {
	/** Connected (again): a heartbeat should follow at once. */
	up: [];
	down: [reason: string];
};

/** A command that gets no answer within this counts as Redis being unreachable. */
const COMMAND_TIMEOUT_MS = 2000;
/** While Redis stays unreachable, one reminder per this period. */
const STILL_DOWN_LOG_MS = 10_000;
const MAX_RECONNECT_DELAY_MS = 5000;

/** Reconnect backoff: 100 ms doubling to 5 s, with jitter so nodes do not reconnect in step. */
export function reconnectDelay(retries: number, random: () => number = Math.random): number {
	const base = Math.min(100 * 2 ** Math.min(retries, 16), MAX_RECONNECT_DELAY_MS);
	return Math.round(base * (0.75 + 0.5 * random()));
}

export class RedisUnavailableError extends Error {
	constructor(reason: string) {
		super(`Redis is unreachable: ${reason}`);
		this.name = 'RedisUnavailableError';
	}
}

type Script = { source: string; sha: string };
const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });
const SCRIPTS = {
	heartbeat: script(HEARTBEAT),
	claim: script(CLAIM),
	release: script(RELEASE),
	unregister: script(UNREGISTER),
	readNodes: script(READ_NODES),
	roomOwner: script(ROOM_OWNER),
};

/**
 * A node's record as stored, or undefined when it is not one (another
 * version's, or garbage). A record of the release before, which named
 * httpUrl `url`, still reads (for a rolling upgrade; drop with serializeRecord's `url`).
 */
function parseRecord(nodeId: string, json: string): NodeRecord | undefined {
	let value: unknown;
	try {
		value = JSON.parse(json);
	} catch {
		return undefined;
	}
	if (value && typeof value === 'object' && !('httpUrl' in value) && 'url' in value) value = { ...value, httpUrl: value.url };
	const record = nodeRecordSchema.safeParse(value);
	return record.success && record.data.nodeId === nodeId ? record.data : undefined;
}
/** The record as stored; it carries httpUrl as `url` too, for nodes of the release before (drop in the next). */
function serializeRecord(record: NodeRecord): string {
	return JSON.stringify({ ...record, url: record.httpUrl });
}
const claimReply = z.tuple([z.number(), z.string()]);
const CLAIM_REFUSALS: Record<number, ClaimRefusal> = { [-2]: 'stale', [-3]: 'reclaiming', [-4]: 'full', [-5]: 'quota' };
const heartbeatReply = z.union([z.tuple([z.literal('taken'), z.string()]), z.tuple([z.literal('ok'), z.string()]).rest(z.string())]);
const ownerReply = z.tuple([z.string(), z.string()]);

/**
 * The cluster's data in Redis, through the scripts in redisScripts.ts: one
 * connection, reconnecting with backoff forever; commands fail at once with
 * RedisUnavailableError while it is down (no offline queue: a node must
 * answer "cluster unavailable" now, not after Redis returns).
 */
export class RedisStore extends EventEmitter<RedisStoreEvents> {
	readonly #client: ReturnType<typeof createClient>;
	readonly #logger: StoreLogger;
	/** This process: the node id it registers is refused while another process holds it. */
	readonly #instance = randomUUID();
	#up = false;
	#downSince: number | undefined;
	#lastDownLog = 0;
	#closing = false;

	constructor(url: string, logger: StoreLogger) {
		super();
		this.#logger = logger;
		this.#client = createClient({
			url,
			disableOfflineQueue: true,
			socket: { connectTimeout: COMMAND_TIMEOUT_MS, reconnectStrategy: (retries) => reconnectDelay(retries) },
		});
		this.#client.on('ready', () => this.#markUp());
		this.#client.on('error', (error: unknown) => this.#markDown(error instanceof Error ? error.message : String(error)));
		this.#client.on('end', () => this.#markDown('connection closed'));
	}

	get up(): boolean {
		return this.#up;
	}

	/** Starts connecting; resolves once connected or after `waitMs` (then it keeps trying in the background). */
	async connect(waitMs: number): Promise<boolean> {
		const connecting = this.#client.connect().then(
			() => true,
			(error: unknown) => {
				this.#markDown(error instanceof Error ? error.message : String(error));
				return false;
			},
		);
		let timer: NodeJS.Timeout | undefined;
		const waited = new Promise<boolean>((resolve) => {
			timer = setTimeout(() => resolve(false), waitMs);
		});
		const connected = await Promise.race([connecting, waited]);
		clearTimeout(timer);
		return connected;
	}

	#markUp(): void {
		if (this.#up) return;
		const wasDown = this.#downSince;
		this.#up = true;
		this.#downSince = undefined;
		if (wasDown !== undefined) this.#logger.warn({ downForMs: Date.now() - wasDown }, 'cluster: Redis reachable again');
		else this.#logger.info({}, 'cluster: connected to Redis');
		this.emit('up');
	}

	#markDown(reason: string): void {
		if (this.#closing) return;
		const now = Date.now();
		if (this.#up || this.#downSince === undefined) {
			this.#up = false;
			this.#downSince = now;
			this.#lastDownLog = now;
			// Loud on purpose: no new room can be placed until Redis is back.
			this.#logger.error({ reason }, 'cluster: Redis unreachable; serving the rooms this node owns, refusing rooms it cannot place, reconnecting');
			this.emit('down', reason);
		} else if (now - this.#lastDownLog >= STILL_DOWN_LOG_MS) {
			this.#lastDownLog = now;
			this.#logger.error({ reason, downForMs: now - this.#downSince }, 'cluster: Redis still unreachable');
		}
	}

	async #run(name: keyof typeof SCRIPTS, args: string[]): Promise<unknown> {
		if (!this.#client.isReady) throw new RedisUnavailableError('not connected');
		const { source, sha } = SCRIPTS[name];
		const call = async () => {
			try {
				return await this.#client.evalSha(sha, { arguments: args });
			} catch (error) {
				// Redis restarted (or was flushed) and forgot the script: send it once in full.
				if (error instanceof ErrorReply && error.message.startsWith('NOSCRIPT')) return this.#client.eval(source, { arguments: args });
				throw error;
			}
		};
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<never>((_resolve, reject) => {
			timer = setTimeout(() => reject(new RedisUnavailableError(`no answer within ${COMMAND_TIMEOUT_MS} ms`)), COMMAND_TIMEOUT_MS);
		});
		try {
			const reply = await Promise.race([call(), timeout]);
			// Answers again after timing out (a connection that stalled without closing).
			this.#markUp();
			return reply;
		} catch (error) {
			if (error instanceof RedisUnavailableError) {
				// Connected but silent counts as unreachable too, until it answers again.
				this.#markDown(error.message);
				throw error;
			}
			// An error reply is Redis refusing the script (our bug); anything else means Redis went away mid-call.
			if (error instanceof ErrorReply) throw error;
			throw new RedisUnavailableError(error instanceof Error ? error.message : String(error));
		} finally {
			clearTimeout(timer);
		}
	}

	/**
	 * Publishes the record, renews the hosted rooms and reports those another live node owns now; fenced as
	 * `fence` says. Nothing is written when another process holds the node id (status taken).
	 */
	async heartbeat(record: NodeRecord, hostedRoomIds: readonly string[], nodeTtlMs: number, roomTtlMs: number, fence: HeartbeatFence = {}): Promise<HeartbeatResult> {
		const expect = fence.reclaim?.expect ?? [];
		const reply = await this.#run('heartbeat', [
			record.nodeId,
			serializeRecord(record),
			String(nodeTtlMs),
			String(roomTtlMs),
			this.#instance,
			randomUUID(),
			fence.lastGeneration ?? '',
			fence.reclaim ? String(fence.reclaim.graceMs) : '',
			String(expect.length),
			...expect,
			...hostedRoomIds,
		]);
		const parsed = heartbeatReply.parse(reply);
		if (parsed[0] === 'taken') return { status: 'taken', holderTtlMs: Number(parsed[1]) };
		const [, generation, ...lost] = parsed;
		return { status: 'ok', generation, lost };
	}

	async claim(roomId: string, nodeId: string, ttlMs: number, nodeTtlMs: number, guard: ClaimGuard = {}): Promise<ClaimResult> {
		const { generation, maxRooms, creator } = guard;
		const args = [roomId, nodeId, String(ttlMs), String(nodeTtlMs), generation ?? '', maxRooms === undefined ? '' : String(maxRooms)];
		if (creator) args.push(creator.address, String(creator.max), String(creator.windowMs));
		const [status, other] = claimReply.parse(await this.#run('claim', args));
		if (status === 1) return { claimed: true, fresh: true, previousOwner: other || undefined };
		if (status === 2) return { claimed: true, fresh: false, previousOwner: other };
		const refused = CLAIM_REFUSALS[status];
		if (refused) return { claimed: false, refused };
		return { claimed: false, owner: other || undefined };
	}

	async release(nodeId: string, roomIds: readonly string[]): Promise<void> {
		if (roomIds.length > 0) await this.#run('release', [nodeId, ...roomIds]);
	}

	/** Leaves the registry; nothing happens when another process holds the node id. */
	async unregister(nodeId: string): Promise<void> {
		await this.#run('unregister', [nodeId, this.#instance]);
	}

	/** The live nodes; a record that does not parse (another version's, or garbage) is skipped. */
	async readNodes(): Promise<RegisteredNode[]> {
		const reply = await this.#run('readNodes', []);
		const flat = z.array(z.union([z.string(), z.number()])).parse(reply);
		const nodes: RegisteredNode[] = [];
		for (let i = 0; i + 3 < flat.length; i += 4) {
			const record = parseRecord(String(flat[i]), String(flat[i + 1]));
			if (record) nodes.push({ record, ownedRooms: Number(flat[i + 2]), lastPlacedSeq: Number(flat[i + 3]) });
		}
		return nodes;
	}

	/** The room's owner, if any, with its record while that node is alive. */
	async roomOwner(roomId: string): Promise<RoomOwner | undefined> {
		const [owner, json] = ownerReply.parse(await this.#run('roomOwner', [roomId]));
		if (!owner) return undefined;
		const record = json ? parseRecord(owner, json) : undefined;
		return record ? { nodeId: owner, alive: true, record } : { nodeId: owner, alive: false };
	}

	async close(): Promise<void> {
		this.#closing = true;
		this.#up = false;
		if (this.#client.isOpen) {
			await this.#client.close().catch(() => this.#client.destroy());
		} else {
			this.#client.destroy();
		}
	}
}
