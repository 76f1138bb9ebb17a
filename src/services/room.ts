import { EventEmitter } from 'node:events';

import type { types as ms } from 'mediasoup';
import type { Logger } from 'pino';

import { limitReached, TureenError } from '../errors.ts';
import { WindowCounter } from '../limits/windowCounter.ts';
import { roomIdSchema } from '../protocol/ids.ts';
import type { ConsumerLayerState, RoomCloseReason, RoomMoveReason } from '../protocol/messages.ts';
import type { AudioLevel } from './rooms/audioLevelsPolicy.ts';
import { MEDIA_CODECS } from './rooms/codecs.ts';
import { RoomAudio } from './rooms/roomAudio.ts';
import type { RoomIndex, WorkerLoad } from './mediasoup.ts';

/** What a room knows of each member; the signalling layer's Peer fills it in. */
export interface RoomMember {
	readonly peerId: string;
	readonly displayName: string;
	/** The member's consumers and their layers (for GET /rooms/:roomId and metrics); none when absent. */
	consumerLayers?(): ConsumerLayerState[];
	/** Called when the room closes under the member. */
	close(reason: RoomCloseReason): void;
}

export type RoomEvents = {
	close: [reason: RoomCloseReason];
	/** The room now lives on another worker with a new router (its worker died or drained). */
	moved: [fromWorkerId: number, toWorkerId: number, reason: RoomMoveReason];
	/** The last member left (the room itself stays open; the registry decides when it closes). */
	empty: [];
	/** The dominant speaker changed (a member's peerId). */
	activeSpeaker: [peerId: string];
	/** Who is heard and how loud, throttled (see audioLevelsPolicy). */
	audioLevels: [levels: AudioLevel[]];
};

/** An audio producer as the room's speaker detection needs it. */
export type ObservableProducer = Parameters<RoomAudio['observe']>[0];

/**
 * One room: its members and its router on one worker. Only the room changes
 * its member map; members enter and leave through addMember/removeMember.
 */
export class Room<Member extends RoomMember = RoomMember> extends EventEmitter<RoomEvents> {
	readonly roomId: string;
	readonly createdAt = Date.now();
	readonly #members = new Map<string, Member>();
	#workerId: number;
	#router: ms.Router;
	#closed = false;
	/** Speaker detection on the current router, made with the room's first audio producer. */
	#audio: Promise<RoomAudio> | undefined;
	#activeSpeaker: string | undefined;

	constructor(roomId: string, workerId: number, router: ms.Router) {
		super();
		// Every member listens for 'moved'; rooms hold up to MAX_PEERS_PER_ROOM members.
		this.setMaxListeners(0);
		this.roomId = roomId;
		this.#workerId = workerId;
		this.#router = router;
	}

	get workerId(): number {
		return this.#workerId;
	}

	get router(): ms.Router {
		return this.#router;
	}

	get closed(): boolean {
		return this.#closed;
	}

	get members(): ReadonlyMap<string, Member> {
		return this.#members;
	}

	/** The member mediasoup last named dominant speaker, while it is still a member. */
	get activeSpeaker(): string | undefined {
		return this.#activeSpeaker;
	}

	/** Adds an audio producer of this room's router to its speaker detection (other kinds are ignored). */
	async observeAudio(producer: ObservableProducer): Promise<void> {
		if (producer.kind !== 'audio') return;
		await (await this.#roomAudio()).observe(producer);
	}

	#roomAudio(): Promise<RoomAudio> {
		if (this.#audio) return this.#audio;
		const made = RoomAudio.create(this.#router).then((audio) => {
			// Events of a RoomAudio left behind by a move are stale.
			audio.on('activeSpeaker', (peerId) => {
				if (this.#audio !== made || !this.#members.has(peerId)) return;
				this.#activeSpeaker = peerId;
				this.emit('activeSpeaker', peerId);
			});
			audio.on('audioLevels', (levels) => {
				if (this.#audio === made) this.emit('audioLevels', levels);
			});
			return audio;
		});
		this.#audio = made;
		made.catch(() => {
			if (this.#audio === made) this.#audio = undefined;
		});
		return made;
	}

	addMember(member: Member): void {
		if (this.#closed) throw new TureenError('ROOM_NOT_FOUND', `room "${this.roomId}" closed`);
		this.#members.set(member.peerId, member);
	}

	/** Removes the member if it is the one listed under its peerId; 'empty' when it was the last. */
	removeMember(member: Member): void {
		if (this.#members.get(member.peerId) !== member) return;
		this.#members.delete(member.peerId);
		if (this.#activeSpeaker === member.peerId) this.#activeSpeaker = undefined;
		if (this.#members.size === 0 && !this.#closed) this.emit('empty');
	}

	/**
	 * First half of a move to another worker: from now on the room counts as
	 * living there, so no endpoint lists it on a dead or drained worker.
	 */
	beginMove(toWorkerId: number): number {
		const from = this.#workerId;
		this.#workerId = toWorkerId;
		return from;
	}

	/** Second half: the new router is ready; members re-create their media on it. */
	completeMove(fromWorkerId: number, router: ms.Router, reason: RoomMoveReason): void {
		const old = this.#router;
		this.#router = router;
		// The observers closed with the old router; the re-published audio makes new ones.
		this.#audio = undefined;
		this.#activeSpeaker = undefined;
		if (!old.closed) old.close();
		this.emit('moved', fromWorkerId, this.#workerId, reason);
	}

	close(reason: RoomCloseReason): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const member of [...this.#members.values()]) member.close(reason);
		this.#members.clear();
		if (!this.#router.closed) this.#router.close();
		this.emit('close', reason);
	}
}

/** A mediasoup worker as far as rooms need one: it makes routers. */
export type RouterFactory = Pick<ms.Worker, 'closed' | 'createRouter'>;

/** What the registry needs from the worker pool: where a new room goes, and to be told the room index. */
export interface RoomHost {
	/** The worker for a new room; throws NO_WORKER_AVAILABLE when none may take one. */
	getLeastLoadedWorker(): { readonly workerId: number; readonly worker: RouterFactory | undefined };
	attachRoomIndex(rooms: RoomIndex): void;
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
	 * Unset on a single server.
	 */
	admit?: (roomId: string) => Promise<void>;
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
export class RoomRegistry<Member extends RoomMember = RoomMember>
	extends EventEmitter<RoomRegistryEvents>
	implements RoomIndex
{
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
		options.pool.attachRoomIndex(this);
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
			creation = admit(roomId).then(() => this.#createRoom(roomId, creator));
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
		const managed = this.#options.pool.getLeastLoadedWorker();
		const router = await createRouter(managed.worker, roomId);
		const room = new Room<Member>(roomId, managed.workerId, router);
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

	roomsOn(workerId: number): Room<Member>[] {
		return this.rooms.filter((r) => r.workerId === workerId);
	}

	roomIdsOn(workerId: number): string[] {
		return this.roomsOn(workerId).map((r) => r.roomId);
	}

	loadByWorker(): Map<number, WorkerLoad> {
		const load = new Map<number, WorkerLoad>();
		for (const room of this.#rooms.values()) {
			const entry = load.get(room.workerId) ?? { roomIds: [], peers: 0 };
			entry.roomIds.push(room.roomId);
			entry.peers += room.members.size;
			load.set(room.workerId, entry);
		}
		return load;
	}

	get totalPeers(): number {
		return this.rooms.reduce((sum, r) => sum + r.members.size, 0);
	}

	/**
	 * Moves every room of a worker (dead, or drained past its deadline) onto
	 * the least-loaded other worker. Targets are chosen synchronously, one room
	 * at a time so placement sees each move; routers are created after. A room
	 * that cannot move (no live worker) is closed.
	 */
	async moveRoomsOff(workerId: number, reason: RoomMoveReason): Promise<void> {
		const moves: { room: Room<Member>; from: number; target: ReturnType<RoomHost['getLeastLoadedWorker']> }[] = [];
		for (const room of this.roomsOn(workerId)) {
			try {
				const target = this.#options.pool.getLeastLoadedWorker();
				moves.push({ room, from: room.beginMove(target.workerId), target });
			} catch (error) {
				this.#options.logger.error(
					{ roomId: room.roomId, workerId, peers: room.members.size, reason, err: error },
					'no worker can take the room; closing it',
				);
				room.close(reason);
			}
		}
		await Promise.all(
			moves.map(async ({ room, from, target }) => {
				try {
					const router = await createRouter(target.worker, room.roomId);
					if (room.closed) {
						router.close();
						return;
					}
					room.completeMove(from, router, reason);
					this.#options.logger.warn({ roomId: room.roomId, from, to: target.workerId, reason }, 'room moved');
				} catch (error) {
					this.#options.logger.error({ roomId: room.roomId, err: error }, 'room could not move; closing it');
					room.close(reason);
				}
			}),
		);
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

async function createRouter(worker: RouterFactory | undefined, roomId: string): Promise<ms.Router> {
	if (!worker || worker.closed) throw new TureenError('NO_WORKER_AVAILABLE', 'the chosen worker is not alive');
	return worker.createRouter({ mediaCodecs: MEDIA_CODECS, appData: { roomId } });
}
