import { randomUUID } from 'node:crypto';

import type { types as ms } from 'mediasoup';

import { TureenError } from '../errors.ts';
import type { DataRateLimits } from '../limits/dataRate.ts';
import {
	defaultSource,
	MEDIA_SOURCES,
	type ConsumerLayerState,
	type DataProducerInfo,
	type MediaSource,
	type NotificationMessage,
	type Notifications,
	type ProducerInfo,
	type RoomCloseReason,
	type RoomMoveReason,
} from '../protocol/messages.ts';
import type { Room, RoomMember, RoomSeat } from '../services/room.ts';
import type { AudioLevel } from '../services/rooms/audioLevelsPolicy.ts';
import type { RoomRouter } from '../services/rooms/roomRouter.ts';
import { PeerDataRelay, type ConsumeDataTarget } from '../services/participants/dataRelay.ts';
import { Announcer } from '../services/participants/announcer.ts';
import { DataRateGuard } from './dataRateGuard.ts';
import { ProducerDynacast } from './dynacast.ts';

export type PeerRoom = Room<Peer>;

/** Why a session ended from the server side; the client gets `sessionEnded` first. */
export type SessionEndReason = Notifications['sessionEnded']['reason'];

/** What a peer needs from its connection: send a notification, end the connection. */
export type PeerLink = {
	notify(message: NotificationMessage): void;
	end(reason: SessionEndReason): void;
};

/** Who a token says the peer is, and until when. */
export type PeerSession = { identity: string; expiresAt: number };

// setTimeout's largest delay; a later expiry is re-checked when it fires.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The source the server stored in the producer's appData at produce. */
export function sourceOf(producer: Pick<ms.Producer, 'kind' | 'appData'>): MediaSource {
	const source = MEDIA_SOURCES.find((s) => s === producer.appData.source);
	return source ?? defaultSource(producer.kind);
}

/**
 * One signalling connection's participant: its room membership and the
 * mediasoup objects it owns. Only the peer changes its own maps: handlers
 * hand it what they made (adopt...) and it forgets each object when that
 * closes. Once its connection has ended the peer is spent: it never enters a
 * room again, and anything created for it afterwards is closed at once.
 */
export class Peer implements RoomMember {
	#peerId: string = randomUUID();
	displayName = '';
	/** The token's `sub` when the server checks tokens; one live session per (room, identity). */
	identity: string | undefined;
	rtpCapabilities: ms.RtpCapabilities | undefined;
	readonly #transports = new Map<string, ms.WebRtcTransport>();
	readonly #producers = new Map<string, ms.Producer>();
	readonly #consumers = new Map<string, ms.Consumer>();
	/** The same consumers by the producer they consume: a producer's dynacast reads only its own, not every consumer of the room. */
	readonly #consumersByProducer = new Map<string, Set<ms.Consumer>>();
	readonly #dataProducers = new Map<string, ms.DataProducer>();
	readonly #dataConsumers = new Map<string, ms.DataConsumer>();
	/** Holds this peer's data producers while it sends over the data rate (none without limits). */
	readonly #dataGuard: DataRateGuard | undefined;
	/** Admits or drops each of this peer's data messages before the others get it (none without limits). */
	readonly #dataRelay: PeerDataRelay | undefined;
	/** Dynacast of each of this peer's simulcast producers. */
	readonly #dynacasts = new Map<string, ProducerDynacast>();
	readonly #link: PeerLink;
	/** Coalesces peerJoined/peerLeft to this peer (issue 21 finding 5); everything this peer is told passes it. */
	readonly #announcer: Announcer;
	#room: PeerRoom | undefined;
	#ended = false;
	#expiryTimer: NodeJS.Timeout | undefined;
	readonly #onActiveSpeaker = (peerId: string) => this.notify({ notification: 'activeSpeaker', data: { peerId } });
	readonly #onAudioLevels = (levels: AudioLevel[]) => this.notify({ notification: 'audioLevels', data: { levels } });

	/** `dataRate`: MAX_DATA_MESSAGES/BYTES_PER_SECOND; without it data channels are not rate-limited. */
	constructor(link: PeerLink, dataRate?: DataRateLimits & { maxMessageBytes: number }, { announceWindowMs = 0 } = {}) {
		this.#link = link;
		this.#announcer = new Announcer({ send: (message) => this.#link.notify(message), scope: () => this.#room, windowMs: announceWindowMs });
		if (dataRate) {
			this.#dataGuard = new DataRateGuard(
				{
					dataProducers: () => this.#dataProducers.values(),
					throttled: (paused) => this.notify({ notification: 'dataThrottled', data: { paused, ...dataRate } }),
				},
				dataRate,
			);
			this.#dataRelay = new PeerDataRelay({ router: () => this.router?.router, limits: dataRate });
		}
	}

	get peerId(): string {
		return this.#peerId;
	}

	get room(): PeerRoom | undefined {
		return this.#room;
	}

	/** False once the connection has closed: nothing may be created or joined for this peer. */
	get live(): boolean {
		return !this.#ended;
	}

	// Read-only views: only the peer changes its maps.
	get transports(): ReadonlyMap<string, ms.WebRtcTransport> {
		return this.#transports;
	}

	get producers(): ReadonlyMap<string, ms.Producer> {
		return this.#producers;
	}

	get consumers(): ReadonlyMap<string, ms.Consumer> {
		return this.#consumers;
	}

	get dataProducers(): ReadonlyMap<string, ms.DataProducer> {
		return this.#dataProducers;
	}

	get dataConsumers(): ReadonlyMap<string, ms.DataConsumer> {
		return this.#dataConsumers;
	}

	requireRoom(): PeerRoom {
		if (!this.#room || this.#room.closed) throw new TureenError('NOT_JOINED', 'join a room first');
		return this.#room;
	}

	/** Throws when the connection closed while a request was waiting on something. */
	requireLive(): void {
		if (this.#ended) throw new TureenError('NOT_JOINED', 'the connection closed');
	}

	notify(message: NotificationMessage): void {
		if (!this.#ended) this.#announcer.notify(message);
	}

	/** Tells every other member of the room. */
	broadcast(message: NotificationMessage): void {
		for (const other of this.#room?.members.values() ?? []) {
			if (other !== this) other.notify(message);
		}
	}

	/** The router this peer's transports live on, while it is in a room. */
	get router(): RoomRouter<Peer> | undefined {
		return this.#room?.routerOf(this);
	}

	/**
	 * Enters a room, on the seat's router (without one: the room's home
	 * router); with a session, the peer takes the token's identity as its
	 * peerId and its session ends when the token expires.
	 */
	enter(room: PeerRoom, { seat, session }: { seat?: RoomSeat<Peer>; session?: PeerSession } = {}): void {
		this.requireLive();
		if (room.closed) throw new TureenError('ROOM_NOT_FOUND', `room "${room.roomId}" closed`);
		if (session) {
			this.#peerId = session.identity;
			this.identity = session.identity;
			this.#armExpiry(session.expiresAt);
		}
		room.addMember(this, seat);
		this.#room = room;
		this.#listen(room);
		// Speakers are announced on change only: a newcomer hears the current one now.
		if (room.activeSpeaker) this.#onActiveSpeaker(room.activeSpeaker);
	}

	/** This peer's router went (its worker died or drained); the room gave it one on `workerId`. */
	moved(workerId: number, reason: RoomMoveReason): void {
		// The old router took every transport, producer and consumer with it.
		this.#forgetMedia();
		this.notify({ notification: 'roomMoved', data: { workerId, reason } });
	}

	#listen(room: PeerRoom): void {
		room.on('activeSpeaker', this.#onActiveSpeaker);
		room.on('audioLevels', this.#onAudioLevels);
	}

	#stopListening(room: PeerRoom): void {
		room.off('activeSpeaker', this.#onActiveSpeaker);
		room.off('audioLevels', this.#onAudioLevels);
	}

	/**
	 * Leaves the room (if any), closing everything this peer owns. The others
	 * hear, in this order and once each: for every producer of this peer,
	 * consumerClosed (for their consumers of it) then producerClosed; then peerLeft.
	 */
	leave(): PeerRoom | undefined {
		clearTimeout(this.#expiryTimer);
		const room = this.#room;
		if (!room) return undefined;
		this.#closeMedia();
		this.#stopListening(room);
		this.#room = undefined;
		room.removeMember(this);
		if (!room.closed) {
			for (const other of room.members.values()) other.notify({ notification: 'peerLeft', data: { peerId: this.peerId } });
		}
		return room;
	}

	/** The connection closed: leave, and refuse everything from now on. */
	end(): PeerRoom | undefined {
		this.#ended = true;
		return this.leave();
	}

	/**
	 * The server ends this session (token expired, or the same identity joined
	 * again): the client is told first, then the room sees it leave and the
	 * connection closes.
	 */
	endSession(reason: SessionEndReason): PeerRoom | undefined {
		this.notify({ notification: 'sessionEnded', data: { reason } });
		const room = this.end();
		this.#link.end(reason);
		return room;
	}

	/** The room closed under this peer (deleted, idle, shutdown, no worker to move to): only roomClosed is sent. */
	close(reason: RoomCloseReason): void {
		clearTimeout(this.#expiryTimer);
		const room = this.#room;
		if (!room) return;
		this.#closeMedia();
		this.#stopListening(room);
		this.#room = undefined;
		this.notify({ notification: 'roomClosed', data: { reason } });
	}

	/**
	 * Keeps a transport made for this peer in `room`, or closes it when the
	 * peer left, the room closed or moved, or the connection ended while it
	 * was being made (so no port stays bound for a peer that is gone).
	 */
	adoptTransport(room: PeerRoom, transport: ms.WebRtcTransport): void {
		this.#adopt(room, transport);
		this.#transports.set(transport.id, transport);
		transport.observer.once('close', () => this.#transports.delete(transport.id));
	}

	/** As adoptTransport, for a producer; the other members hear newProducer now and producerClosed when it closes. */
	adoptProducer(room: PeerRoom, producer: ms.Producer): void {
		this.#adopt(room, producer);
		this.#producers.set(producer.id, producer);
		this.#startDynacast(room, producer);
		producer.observer.once('close', () => {
			this.#producers.delete(producer.id);
			this.#dynacasts.get(producer.id)?.close();
			this.#dynacasts.delete(producer.id);
			if (room.closed) return;
			// A peer whose own router went (worker died, drained) lost its consumers with it: it hears only producerClosed.
			for (const other of room.members.values()) {
				if (other !== this) other.#producerGone(producer.id, this.peerId, !(room.routerOf(other)?.closed ?? true));
			}
		});
		this.broadcast({ notification: 'newProducer', data: this.#producerInfo(producer) });
	}

	/**
	 * As adoptTransport, for a consumer; this peer hears when its producer
	 * pauses or resumes, and when its layers or score change.
	 */
	adoptConsumer(room: PeerRoom, consumer: ms.Consumer): void {
		this.#adopt(room, consumer);
		this.#consumers.set(consumer.id, consumer);
		const ofProducer = this.#consumersByProducer.get(consumer.producerId) ?? new Set<ms.Consumer>();
		ofProducer.add(consumer);
		this.#consumersByProducer.set(consumer.producerId, ofProducer);
		consumer.observer.once('close', () => {
			this.#forgetConsumer(consumer);
			this.noteConsumerDemand(consumer);
		});
		consumer.on('layerschange', (layers) => {
			const data = { consumerId: consumer.id, spatialLayer: layers?.spatialLayer ?? null, temporalLayer: layers?.temporalLayer ?? null };
			this.notify({ notification: 'consumerLayersChanged', data });
		});
		consumer.on('score', ({ score, producerScore }) => {
			this.notify({ notification: 'consumerScore', data: { consumerId: consumer.id, score, producerScore } });
		});
		// Normally producerGone has closed the consumer first; this covers a producer closed by mediasoup alone.
		consumer.on('producerclose', () => this.#consumerClosed(consumer));
		consumer.on('producerpause', () => this.notify({ notification: 'consumerPaused', data: { consumerId: consumer.id } }));
		consumer.on('producerresume', () => this.notify({ notification: 'consumerResumed', data: { consumerId: consumer.id } }));
	}

	/**
	 * As adoptProducer, for a data producer: newDataProducer to the others now,
	 * dataProducerClosed when it closes (their data consumers of it close with it).
	 */
	adoptDataProducer(room: PeerRoom, dataProducer: ms.DataProducer): void {
		this.#adopt(room, dataProducer);
		this.#dataProducers.set(dataProducer.id, dataProducer);
		dataProducer.observer.once('close', () => {
			this.#dataProducers.delete(dataProducer.id);
			if (room.closed) return;
			for (const other of room.members.values()) {
				if (other !== this) other.notify({ notification: 'dataProducerClosed', data: { dataProducerId: dataProducer.id, peerId: this.peerId } });
			}
		});
		this.#dataRelay?.add(dataProducer);
		this.broadcast({ notification: 'newDataProducer', data: this.#dataProducerInfo(dataProducer) });
		this.#dataGuard?.start();
	}

	/** What another member consumes for this peer's data producer: the server's relay of it (itself without limits). */
	async dataConsumeTarget(dataProducerId: string): Promise<ConsumeDataTarget> {
		return this.#dataRelay ? this.#dataRelay.target(dataProducerId) : { dataProducerId };
	}

	/** As adoptTransport, for a data consumer; mediasoup closes it with its data producer. */
	adoptDataConsumer(room: PeerRoom, dataConsumer: ms.DataConsumer): void {
		this.#adopt(room, dataConsumer);
		this.#dataConsumers.set(dataConsumer.id, dataConsumer);
		dataConsumer.observer.once('close', () => this.#dataConsumers.delete(dataConsumer.id));
	}

	/**
	 * Another member's producer closed: this peer's consumers of it close now
	 * (consumerClosed each, unless the whole router went), then producerClosed.
	 * Done here, at once, so nothing about it arrives later from the worker.
	 */
	#producerGone(producerId: string, ownerId: string, closeConsumers: boolean): void {
		if (closeConsumers) {
			for (const consumer of [...(this.#consumersByProducer.get(producerId) ?? [])]) this.#consumerClosed(consumer);
		}
		this.notify({ notification: 'producerClosed', data: { producerId, peerId: ownerId } });
	}

	/**
	 * This peer's consumer changed what it wants (created, paused, resumed,
	 * new preferred layers, closed): the producer's owner reviews its dynacast.
	 */
	noteConsumerDemand(consumer: ms.Consumer): void {
		for (const member of this.#room?.members.values() ?? []) {
			if (member.producers.has(consumer.producerId)) member.layerDemandChanged(consumer.producerId);
		}
	}

	/** Some consumer of this peer's producer changed what it wants: review that producer's dynacast. */
	layerDemandChanged(producerId: string): void {
		this.#dynacasts.get(producerId)?.review();
	}

	/** Dynacast for a simulcast video producer: the publisher hears producerLayersWanted. */
	#startDynacast(room: PeerRoom, producer: ms.Producer): void {
		const spatialLayers = producer.rtpParameters.encodings?.length ?? 1;
		if (producer.kind !== 'video' || spatialLayers < 2) return;
		const dynacast = new ProducerDynacast({
			spatialLayers,
			wants: () =>
				[...room.members.values()].flatMap((member) =>
					[...(member.#consumersByProducer.get(producer.id) ?? [])]
						.filter((c) => !c.closed)
						.map((c) => ({ preferredSpatialLayer: c.preferredLayers?.spatialLayer ?? spatialLayers - 1, paused: c.paused })),
				),
			tell: (maxSpatialLayer) => this.notify({ notification: 'producerLayersWanted', data: { producerId: producer.id, maxSpatialLayer } }),
		});
		this.#dynacasts.set(producer.id, dynacast);
		// Nobody consumes it yet: after the hold-off the publisher may keep only its smallest layer.
		dynacast.review();
	}

	/** Layers of every consumer of this peer, for the room details an operator reads. */
	consumerLayers(): ConsumerLayerState[] {
		return [...this.#consumers.values()].map((c) => ({
			consumerId: c.id,
			producerId: c.producerId,
			kind: c.kind,
			type: c.type,
			paused: c.paused,
			producerPaused: c.producerPaused,
			currentLayers: c.currentLayers ? { spatialLayer: c.currentLayers.spatialLayer, temporalLayer: c.currentLayers.temporalLayer ?? null } : null,
			preferredLayers: c.preferredLayers
				? { spatialLayer: c.preferredLayers.spatialLayer, temporalLayer: c.preferredLayers.temporalLayer ?? null }
				: null,
			priority: c.priority,
			score: c.score.score,
		}));
	}

	#forgetConsumer(consumer: ms.Consumer): boolean {
		const ofProducer = this.#consumersByProducer.get(consumer.producerId);
		ofProducer?.delete(consumer);
		if (ofProducer?.size === 0) this.#consumersByProducer.delete(consumer.producerId);
		return this.#consumers.delete(consumer.id);
	}

	#consumerClosed(consumer: ms.Consumer): void {
		if (!this.#forgetConsumer(consumer)) return;
		if (!consumer.closed) consumer.close();
		this.notify({ notification: 'consumerClosed', data: { consumerId: consumer.id, producerId: consumer.producerId } });
	}

	#adopt(room: PeerRoom, made: { closed: boolean; close(): void }): void {
		if (!this.#ended && this.#room === room && !room.closed && !made.closed) return;
		if (!made.closed) made.close();
		throw new TureenError('NOT_JOINED', 'the peer left the room (or the connection closed) while this was being set up');
	}

	ownTransport(transportId: string): ms.WebRtcTransport {
		const transport = this.#transports.get(transportId);
		if (!transport) throw new TureenError('NOT_FOUND', `no transport ${transportId} of yours`);
		return transport;
	}

	ownProducer(producerId: string): ms.Producer {
		const producer = this.#producers.get(producerId);
		if (!producer) throw new TureenError('NOT_FOUND', `no producer ${producerId} of yours`);
		return producer;
	}

	ownDataProducer(dataProducerId: string): ms.DataProducer {
		const dataProducer = this.#dataProducers.get(dataProducerId);
		if (!dataProducer) throw new TureenError('NOT_FOUND', `no data producer ${dataProducerId} of yours`);
		return dataProducer;
	}

	ownConsumer(consumerId: string): ms.Consumer {
		const consumer = this.#consumers.get(consumerId);
		if (!consumer) throw new TureenError('NOT_FOUND', `no consumer ${consumerId} of yours`);
		return consumer;
	}

	producerInfos(): ProducerInfo[] {
		return [...this.#producers.values()].map((p) => this.#producerInfo(p));
	}

	#producerInfo(producer: ms.Producer): ProducerInfo {
		return { producerId: producer.id, peerId: this.peerId, kind: producer.kind, source: sourceOf(producer), paused: producer.paused };
	}

	dataProducerInfos(): DataProducerInfo[] {
		return [...this.#dataProducers.values()].map((d) => this.#dataProducerInfo(d));
	}

	#dataProducerInfo(dataProducer: ms.DataProducer): DataProducerInfo {
		return { dataProducerId: dataProducer.id, peerId: this.peerId, label: dataProducer.label, protocol: dataProducer.protocol };
	}

	#armExpiry(expiresAt: number): void {
		clearTimeout(this.#expiryTimer);
		const delay = expiresAt - Date.now();
		this.#expiryTimer = setTimeout(
			() => {
				if (Date.now() >= expiresAt) this.endSession('token-expired');
				else this.#armExpiry(expiresAt);
			},
			Math.max(0, Math.min(delay, MAX_TIMER_MS)),
		);
		this.#expiryTimer.unref();
	}

	#closeMedia(): void {
		// Closing a transport closes its producers and consumers too; the
		// producers' 'close' handlers tell the other peers.
		for (const transport of [...this.#transports.values()]) transport.close();
		this.#forgetMedia();
	}

	#forgetMedia(): void {
		for (const dynacast of this.#dynacasts.values()) dynacast.close();
		this.#dynacasts.clear();
		this.#transports.clear();
		this.#producers.clear();
		this.#consumers.clear();
		this.#consumersByProducer.clear();
		this.#dataProducers.clear();
		this.#dataConsumers.clear();
		this.#dataGuard?.stop();
		this.#dataRelay?.close();
	}
}
