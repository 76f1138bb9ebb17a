import { EventEmitter } from 'node:events';

import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';

import { limitReached, TureenError } from '../errors.ts';
import { WindowCounter } from '../limits/windowCounter.ts';
import { roomIdSchema } from '../protocol/ids.ts';
import type { RoomCloseReason, RoomMoveReason } from '../protocol/messages.ts';
import type { WorkerLoad } from './mediasoup.ts';
import { Room, type PeerPlacer, type RoomMember } from './rooms/room.ts';
import { createRoomRouter, type RouterFactory } from './rooms/roomRouter.ts';

/** What the registry needs from the worker pool: where a new room and a room's new peers go. */
export interface RoomHost extends PeerPlacer {
	/** The worker for a new room (choosing only); throws NO_WORKER_AVAILABLE when none may take one. */
	getLeastLoadedWorker(): { readonly workerId: number; readonly worker: RouterFactory | undefined };
	/** A room was put on the worker: the next choice spreads. */
	markWorkerUsed(workerId: number): void;
}

export type RoomRegistryOptions = {
	pool: RoomHost;
	logger: Logger;
	roomIdleTimeoutMs: number;
	/** Rooms that may exist at once (MAX_ROOMS). */
	maxRooms: number;
	/** Rooms one address may create per minute (MAX_ROOMS_PER_IP_PER_MINUTE). */
	roomsPerIpPerMinute: number;
	/**
	 * A cluster node asks, before creating a room here, whether the room
	 * belongs here; it throws (WRONG_NODE, CLUSTER_UNAVAILABLE) when not.
	 * Unset on a single server. It charges `creator` MAX_ROOMS_PER_IP_PER_MINUTE
	 * cluster-wide when it places the room, so the registry does not.
	 */
	admit?: (roomId: string, creator?: string) => Promise<void>;
};

const MINUTE_MS = 60_000;

export type RoomRegistryEvents = {
	roomCreated: [Room];
	roomClosed: [Room, RoomCloseReason];
};

/**
 * Rooms and the room-to-worker map: the single source of truth for where each
 * room lives. Creation is race-safe; a room that stays empty (it says so with
 * 'empty') closes after the idle timeout.
 */
export class RoomRegistry<Member extends RoomMember = RoomMember> extends EventEmitter<RoomRegistryEvents> {
	readonly #options: RoomRegistryOptions;
	readonly #rooms = new Map<string, Room<Member>>();
	readonly #creating = new Map<string, Promise<Room<Member>>>();
	readonly #idleTimers = new Map<string, NodeJS.Timeout>();
	readonly #createdByIp: WindowCounter;
	#acceptingRooms = true;

	constructor(options: RoomRegistryOptions) {
		super();
		this.#options = options;
		this.#createdByIp = new WindowCounter(options.roomsPerIpPerMinute, MINUTE_MS);
	}

	/**
	 * Returns the room, creating it on the least-loaded worker when it does not
	 * exist. `creator` (a remote address) counts against its per-minute quota
	 * when a room is created; joining an existing room costs nothing.
	 */
	async getOrCreateRoom(roomId: string, creator?: string): Promise<{ room: Room<Member>; created: boolean }> {
		validateRoomId(roomId);
		const existing = this.#rooms.get(roomId);
		if (existing) return { room: existing, created: false };
		const pending = this.#creating.get(roomId);
		if (pending) return { room: await pending, created: false };

		if (!this.#acceptingRooms) throw new TureenError('SHUTTING_DOWN', 'the server is draining and takes no new rooms');
		const { maxRooms, admit } = this.#options;
		if (this.#rooms.size + this.#creating.size >= maxRooms) throw limitReached('rooms', maxRooms, 'the server has its maximum of rooms');
		let creation: Promise<Room<Member>>;
		if (admit) {
			// Admission first: a client sent on to another node has created nothing here.
			creation = admit(roomId, creator).then(() => this.#createRoom(roomId));
		} else {
			this.#takeCreatorQuota(creator);
			creation = this.#createRoom(roomId);
		}
		this.#creating.set(roomId, creation);
		try {
			return { room: await creation, created: true };
		} finally {
			this.#creating.delete(roomId);
		}
	}

	#takeCreatorQuota(creator: string | undefined): void {
		if (creator !== undefined && !this.#createdByIp.tryTake(creator)) {
			const max = this.#options.roomsPerIpPerMinute;
			throw limitReached('roomsPerIpPerMinute', max, 'this address created too many rooms in the last minute');
		}
	}

	async #createRoom(roomId: string, creator?: string): Promise<Room<Member>> {
		this.#takeCreatorQuota(creator);
		const { pool } = this.#options;
		const managed = pool.getLeastLoadedWorker();
		pool.markWorkerUsed(managed.workerId);
		const router = await createRoomRouter(managed.worker, roomId);
		const room = new Room<Member>(roomId, managed.workerId, router, pool);
		this.#rooms.set(roomId, room);
		room.once('close', (reason) => {
			this.#rooms.delete(roomId);
			this.#clearIdleTimer(roomId);
			this.#options.logger.info({ roomId, workerId: room.workerId, reason }, 'room closed');
			this.emit('roomClosed', room, reason);
		});
		room.on('empty', () => this.#armIdleTimer(room));
		this.#options.logger.info({ roomId, workerId: managed.workerId }, 'room created');
		this.emit('roomCreated', room);
		// Created empty: it closes unless someone joins in time.
		this.#armIdleTimer(room);
		return room;
	}

	getRoom(roomId: string): Room<Member> | undefined {
		return this.#rooms.get(roomId);
	}

	requireRoom(roomId: string): Room<Member> {
		validateRoomId(roomId);
		const room = this.#rooms.get(roomId);
		if (!room) throw new TureenError('ROOM_NOT_FOUND', `room "${roomId}" does not exist`);
		return room;
	}

	get rooms(): Room<Member>[] {
		return [...this.#rooms.values()];
	}

	closeRoom(roomId: string, reason: RoomCloseReason): void {
		this.requireRoom(roomId).close(reason);
	}

	/** (Re)starts the idle countdown of an empty room; whoever is in it when it ends keeps it open. */
	#armIdleTimer(room: Room<Member>): void {
		this.#clearIdleTimer(room.roomId);
		const timer = setTimeout(() => {
			this.#idleTimers.delete(room.roomId);
			if (room.members.size === 0) room.close('idle');
		}, this.#options.roomIdleTimeoutMs);
		timer.unref();
		this.#idleTimers.set(room.roomId, timer);
	}

	#clearIdleTimer(roomId: string): void {
		clearTimeout(this.#idleTimers.get(roomId));
		this.#idleTimers.delete(roomId);
	}

	/** Rooms with a router on the worker. */
	roomsOn(workerId: number): Room<Member>[] {
		return this.rooms.filter((r) => r.hasRouterOn(workerId));
	}

	roomIdsOn(workerId: number): string[] {
		return this.roomsOn(workerId).map((r) => r.roomId);
	}

	/** Every router of every room on the worker (for the metrics that count mediasoup objects). */
	routersOn(workerId: number): ms.Router[] {
		return this.rooms.flatMap((room) => room.routers.filter((r) => r.workerId === workerId).flatMap((r) => (r.router ? [r.router] : [])));
	}

	/** Per worker: every room with a router there (a room spanning workers is under each), its peers there and its pipes. */
	loadByWorker(): Map<number, WorkerLoad> {
		const load = new Map<number, WorkerLoad>();
		for (const room of this.#rooms.values()) {
			for (const router of room.routers) {
				const entry = load.get(router.workerId) ?? { roomIds: [], peers: 0, pipeTransports: 0, pipedProducers: 0 };
				entry.roomIds.push(room.roomId);
				entry.peers += router.members.size;
				entry.pipeTransports += router.pipeTransports;
				entry.pipedProducers += router.pipedProducers;
				load.set(router.workerId, entry);
			}
		}
		return load;
	}

	get totalPeers(): number {
		return this.rooms.reduce((sum, r) => sum + r.members.size, 0);
	}

	/**
	 * Moves the peers of every room's router on a worker (dead, or drained
	 * past its deadline) to the rooms' other routers or new ones; peers on
	 * other workers stay. The new places are chosen synchronously, one room
	 * at a time so placement sees each move; routers are created after. A room
	 * whose peers cannot move (no live worker) is closed.
	 */
	async moveRoomsOff(workerId: number, reason: RoomMoveReason): Promise<void> {
		const moves: Promise<void>[] = [];
		for (const room of this.roomsOn(workerId)) {
			const peers = room.members.size;
			try {
				moves.push(
					room.moveOff(workerId, reason).then(
						() => this.#options.logger.warn({ roomId: room.roomId, from: workerId, workers: room.routers.map((r) => r.workerId), reason }, 'room moved off a worker'),
						(error: unknown) => {
							this.#options.logger.error({ roomId: room.roomId, err: error }, 'room could not move; closing it');
							room.close(reason);
						},
					),
				);
			} catch (error) {
				this.#options.logger.error({ roomId: room.roomId, workerId, peers, reason, err: error }, 'no worker can take the room; closing it');
				room.close(reason);
			}
		}
		await Promise.all(moves);
	}

	/** Stops taking new rooms (drain); existing rooms carry on. */
	stopAcceptingRooms(): void {
		this.#acceptingRooms = false;
	}

	closeAll(reason: RoomCloseReason): void {
		for (const room of this.rooms) room.close(reason);
	}
}

function validateRoomId(roomId: string): void {
	if (!roomIdSchema.safeParse(roomId).success) {
		throw new TureenError('INVALID_ROOM_ID', 'roomId must be 1-64 characters of A-Z, a-z, 0-9, _ and -');
	}
}

