import { EventEmitter } from 'node:events';

import type { types as ms } from 'mediasoup';

import { TureenError } from '../../errors.ts';
import type { ConsumerLayerState, RoomCloseReason, RoomMoveReason } from '../../protocol/messages.ts';
import type { RoomRouterSnapshot } from '../workers/peerPlacement.ts';
import type { AudioLevel } from './audioLevelsPolicy.ts';
import { ProducerPipes, type Piped } from './producerPipes.ts';
import { RoomAudio, type WatchedProducer } from './roomAudio.ts';
import { createRoomRouter, RoomRouter, type RouterFactory } from './roomRouter.ts';
import { RoomSeat } from './roomSeat.ts';

/** What a room knows of each member; a Participant (services/participants) is one. */
export interface RoomMember {
	readonly peerId: string;
	readonly displayName: string;
	/** The member's consumers and their layers (for GET /rooms/:roomId and metrics); none when absent. */
	consumerLayers?(): ConsumerLayerState[];
	/** The member's transports, for the round-trip times GET /rooms/:roomId shows; none when absent. */
	readonly transports?: ReadonlyMap<string, Pick<ms.WebRtcTransport, 'id' | 'closed' | 'appData' | 'getStats'>>;
	/** Called when the room closes under the member. */
	close(reason: RoomCloseReason): void;
	/** Called when the member's router went (its worker died or drained): it now has one on `workerId`, and none of its media. */
	moved(workerId: number, reason: RoomMoveReason): void;
}

export type RoomEvents = {
	close: [reason: RoomCloseReason];
	/** Peers of the room's router on one worker now have a router on another (the worker died or drained). */
	moved: [fromWorkerId: number, toWorkerId: number, reason: RoomMoveReason];
	/** The last member left (the room itself stays open; the registry decides when it closes). */
	empty: [];
	/** The dominant speaker changed (a member's peerId). */
	activeSpeaker: [peerId: string];
	/** Who is heard and how loud, throttled (see audioLevelsPolicy). */
	audioLevels: [levels: AudioLevel[]];
};


/** Where a new peer of a room goes (see workers/peerPlacement.ts): one of its routers, or a new router on a worker. */
export interface PeerPlacer {
	/** Throws NO_WORKER_AVAILABLE when nowhere. */
	placePeerInRoom(routers: readonly RoomRouterSnapshot[]): { kind: 'existing' | 'new'; workerId: number; worker: RouterFactory | undefined };
}

/** A room without a placer (component tests) keeps everyone on its first router. */
const STAY_HOME: PeerPlacer = {
	placePeerInRoom(routers) {
		const home = routers[0];
		if (!home) throw new TureenError('NO_WORKER_AVAILABLE', 'the room has no router');
		return { kind: 'existing', workerId: home.workerId, worker: undefined };
	},
};

/** An audio producer as the room's speaker detection needs it (and when it closes). */
export type ObservableProducer = WatchedProducer;

/**
 * One room: its members and its routers, at most one per worker. Each member
 * is placed on one router (its transports live there); producers reach the
 * other routers through pipes made on demand. Only the room changes its
 * member map and its routers; members enter and leave through
 * addMember/removeMember.
 */
export class Room<Member extends RoomMember = RoomMember> extends EventEmitter<RoomEvents> {
	readonly roomId: string;
	readonly createdAt = Date.now();
	readonly #members = new Map<string, Member>();
	/** By workerId, oldest first: the first is the room's home (what `workerId` and `router` say). */
	readonly #routers = new Map<number, RoomRouter<Member>>();
	readonly #placementOf = new Map<Member, RoomRouter<Member>>();
	readonly #pipes = new ProducerPipes();
	readonly #placer: PeerPlacer;
	#lastRouter: ms.Router;
	#lastWorkerId: number;
	#closed = false;
	/** Speaker detection on the home router, made with the room's first audio producer (again when the home changes). */
	#audio: { router: ms.Router; made: Promise<RoomAudio> } | undefined;
	/** Every open audio producer of the room, to observe again on a new home router. */
	readonly #audioProducers = new Map<string, { producer: ObservableProducer; owner: Member }>();
	#activeSpeaker: string | undefined;

	constructor(roomId: string, workerId: number, router: ms.Router, placer: PeerPlacer = STAY_HOME) {
		super();
		// Listeners per member are few, but tests and tools may add their own.
		this.setMaxListeners(0);
		this.roomId = roomId;
		this.#placer = placer;
		this.#lastRouter = router;
		this.#lastWorkerId = workerId;
		this.#routers.set(workerId, new RoomRouter<Member>(workerId, router));
	}

	/** The home worker: where the room's oldest router lives. */
	get workerId(): number {
		const home = this.#routers.values().next().value;
		return home ? home.workerId : this.#lastWorkerId;
	}

	/** The home router; every router of the room offers the same capabilities. */
	get router(): ms.Router {
		for (const slot of this.#routers.values()) {
			if (slot.router) return slot.router;
		}
		return this.#lastRouter;
	}

	/** The room's routers, oldest first. */
	get routers(): readonly RoomRouter<Member>[] {
		return [...this.#routers.values()];
	}

	get closed(): boolean {
		return this.#closed;
	}

	get members(): ReadonlyMap<string, Member> {
		return this.#members;
	}

	/** The router a member is placed on. */
	routerOf(member: Member): RoomRouter<Member> | undefined {
		return this.#placementOf.get(member);
	}

	hasRouterOn(workerId: number): boolean {
		return this.#routers.has(workerId);
	}

	/** The member mediasoup last named dominant speaker, while it is still a member. */
	get activeSpeaker(): string | undefined {
		return this.#activeSpeaker;
	}

	/**
	 * Adds an audio producer of `owner` to the room's speaker detection
	 * (other kinds are ignored). Detection runs on the home router: a producer
	 * of another router is piped there first. When the home router changes,
	 * every audio producer still open is observed again on the new one.
	 */
	async observeAudio(producer: ObservableProducer, owner: Member): Promise<void> {
		if (producer.kind !== 'audio') return;
		this.#audioProducers.set(producer.id, { producer, owner });
		producer.observer.once('close', () => this.#audioProducers.delete(producer.id));
		const { audio, fresh } = this.#roomAudio();
		// A new detector re-observes every recorded producer, this one included.
		if (!fresh) await this.#observeOn(await audio, producer, owner);
		else await audio;
	}

	async #observeOn(audio: RoomAudio, producer: ObservableProducer, owner: Member): Promise<void> {
		const home = this.router;
		const from = this.#placementOf.get(owner)?.router;
		if (!from || from.closed || home.closed || producer.closed) return;
		if (from !== home) await this.#pipes.ensure({ producerId: producer.id }, from, home);
		// The piped producer on the home router has the same id and appData (the owner's peerId).
		await audio.observe(producer);
	}

	/** The detector on the current home router, made (and fed every open audio producer) when the home changed. */
	#roomAudio(): { audio: Promise<RoomAudio>; fresh: boolean } {
		const home = this.router;
		if (this.#audio && this.#audio.router === home && !home.closed) return { audio: this.#audio.made, fresh: false };
		const made = RoomAudio.create(home).then(async (audio) => {
			// Events of a detector left behind by a home change are stale.
			audio.on('activeSpeaker', (peerId) => {
				if (this.#audio?.made !== made || !this.#members.has(peerId)) return;
				this.#activeSpeaker = peerId;
				this.emit('activeSpeaker', peerId);
			});
			audio.on('audioLevels', (levels) => {
				if (this.#audio?.made === made) this.emit('audioLevels', levels);
			});
			await Promise.all([...this.#audioProducers.values()].map(({ producer, owner }) => this.#observeOn(audio, producer, owner).catch(() => undefined)));
			return audio;
		});
		this.#audio = { router: home, made };
		this.#activeSpeaker = undefined;
		made.catch(() => {
			if (this.#audio?.made === made) this.#audio = undefined;
		});
		return { audio: made, fresh: true };
	}

	/**
	 * Keeps a place for a joining peer on the router placement picks, opening
	 * that router first when it is new. Concurrent joins see each other's
	 * seats. Throws NO_WORKER_AVAILABLE when no worker can take the peer.
	 */
	async takeSeat(): Promise<RoomSeat<Member>> {
		if (this.#closed) throw new TureenError('ROOM_NOT_FOUND', `room "${this.roomId}" closed`);
		const slot = this.#reserve();
		const seat = new RoomSeat(slot, () => {
			if (!seat.held) return;
			seat.claim();
			this.#closeIfUnused(slot);
		});
		try {
			await slot.ready;
		} catch (error) {
			seat.release();
			throw error;
		}
		if (this.#closed || slot.closed) {
			seat.release();
			throw new TureenError('NO_WORKER_AVAILABLE', 'the room\'s router went while you were joining; retry');
		}
		return seat;
	}

	/** Adds a member on its seat's router (without a seat: the home router). */
	addMember(member: Member, seat?: RoomSeat<Member>): void {
		if (this.#closed) throw new TureenError('ROOM_NOT_FOUND', `room "${this.roomId}" closed`);
		const slot = seat ? seat.claim() : this.#routers.values().next().value;
		if (!slot) throw new TureenError('NO_WORKER_AVAILABLE', 'the room has no router right now; retry');
		this.#members.set(member.peerId, member);
		slot.add(member);
		this.#placementOf.set(member, slot);
		// A router nobody uses (the home of a room whose first peer went elsewhere, say) goes now.
		for (const other of this.routers) if (other !== slot) this.#closeIfUnused(other);
	}

	/** Removes the member if it is the one listed under its peerId; 'empty' when it was the last. */
	removeMember(member: Member): void {
		if (this.#members.get(member.peerId) !== member) return;
		this.#members.delete(member.peerId);
		if (this.#activeSpeaker === member.peerId) this.#activeSpeaker = undefined;
		const slot = this.#placementOf.get(member);
		this.#placementOf.delete(member);
		if (slot) {
			slot.remove(member);
			this.#closeIfUnused(slot);
		}
		if (this.#members.size === 0 && !this.#closed) this.emit('empty');
	}

	/**
	 * The router `consumer` consumes on, once the producer (or data producer)
	 * of `owner` is available there (piped from the owner's router when they differ).
	 */
	async routerToConsume(what: Piped, owner: Member, consumer: Member): Promise<ms.Router> {
		const from = this.#placementOf.get(owner)?.router;
		const to = this.#placementOf.get(consumer)?.router;
		if (!from || !to || from.closed || to.closed) throw new TureenError('NO_WORKER_AVAILABLE', 'a router of the room is moving; retry after roomMoved');
		if (from !== to) await this.#pipes.ensure(what, from, to);
		return to;
	}

	/**
	 * Moves the peers of the room's router on `workerId` (dead, or drained
	 * past its deadline) to other routers, placed as new peers are. From the
	 * moment this returns the room no longer lists that worker; the promise
	 * settles once the new routers exist, the old router is closed and each
	 * moved member has been told. Peers on other workers keep their media.
	 * Throws NO_WORKER_AVAILABLE (at once) when no worker can take them.
	 */
	moveOff(workerId: number, reason: RoomMoveReason): Promise<void> {
		const old = this.#routers.get(workerId);
		if (!old) return Promise.resolve();
		this.#routers.delete(workerId);
		const movers = [...old.members];
		const seats = movers.map(() => this.#reserve());
		const waitFor = new Set(seats);
		if (this.#routers.size === 0) {
			// A room left without any router (an empty room, say) opens its new home now.
			const home = this.#reserve();
			home.releaseReservation();
			waitFor.add(home);
		}
		return this.#completeMove(old, movers, seats, [...waitFor], reason);
	}

	async #completeMove(old: RoomRouter<Member>, movers: Member[], seats: RoomRouter<Member>[], waitFor: RoomRouter<Member>[], reason: RoomMoveReason): Promise<void> {
		await Promise.all(waitFor.map((slot) => slot.ready));
		// Closing it closes the movers' media; the others hear of their producers now (a dead worker's router is closed already).
		old.close();
		if (this.#closed) return;
		const targets = new Set<number>();
		movers.forEach((member, i) => {
			const to = seats[i]!;
			to.releaseReservation();
			if (this.#members.get(member.peerId) !== member) {
				this.#closeIfUnused(to);
				return;
			}
			to.add(member);
			this.#placementOf.set(member, to);
			targets.add(to.workerId);
			member.moved(to.workerId, reason);
		});
		if (targets.size === 0) targets.add(this.workerId);
		for (const to of targets) this.emit('moved', old.workerId, to, reason);
		this.#followHome();
	}

	close(reason: RoomCloseReason): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const member of [...this.#members.values()]) member.close(reason);
		this.#members.clear();
		this.#placementOf.clear();
		for (const slot of this.#routers.values()) slot.close();
		this.emit('close', reason);
	}

	/** Reserves a place for one peer where placement says, opening the router when it is new. */
	#reserve(): RoomRouter<Member> {
		const snapshots = this.routers.map((r) => ({ workerId: r.workerId, peerCount: r.load }));
		const placed = this.#placer.placePeerInRoom(snapshots);
		let slot = this.#routers.get(placed.workerId);
		if (!slot) {
			slot = new RoomRouter<Member>(placed.workerId, createRoomRouter(placed.worker, this.roomId));
			this.#watch(slot);
			this.#routers.set(placed.workerId, slot);
		}
		slot.reserve();
		return slot;
	}

	#watch(slot: RoomRouter<Member>): void {
		slot.ready.then(
			(router) => {
				if (this.#closed || this.#routers.get(slot.workerId) !== slot) {
					router.close();
					return;
				}
				this.#lastRouter = router;
				this.#lastWorkerId = slot.workerId;
			},
			() => {
				if (this.#routers.get(slot.workerId) === slot) this.#routers.delete(slot.workerId);
			},
		);
	}

	/** A router no peer uses any more closes with its pipes, unless it is the room's last. */
	#closeIfUnused(slot: RoomRouter<Member>): void {
		if (slot.load > 0 || this.#routers.size <= 1 || this.#routers.get(slot.workerId) !== slot) return;
		this.#routers.delete(slot.workerId);
		slot.close();
		this.#followHome();
	}

	/** Speaker detection follows the home router when that changes (it closed, or moved). */
	#followHome(): void {
		if (this.#closed || !this.#audio || this.#audio.router === this.router) return;
		this.#roomAudio().audio.catch(() => undefined);
	}
}

