import { randomUUID } from 'node:crypto';

import type { types as ms } from 'mediasoup';

import { TureenError } from '../../errors.ts';
import type { ConsumerLayerState, DataProducerInfo, NotificationMessage, ProducerInfo, ResponseData, RoomCloseReason, RoomMoveReason } from '../../protocol/messages.ts';
import type { AudioLevel } from '../rooms/audioLevelsPolicy.ts';
import type { Room, RoomMember } from '../rooms/room.ts';
import type { RoomRouter } from '../rooms/roomRouter.ts';
import { DataRateGuard } from './dataRateGuard.ts';
import type { DataRateLimits } from './dataRatePolicy.ts';
import { dynacastFor } from './dynacast.ts';
import type { ConsumerWant } from './dynacastPolicy.ts';
import { createPlainTransportOn, createTransportOn, withClientParameters, type PlainConnect, type ProduceRequest, type TransportHost, type TransportSettings } from './mediaCalls.ts';
import type { ParticipantLink, RoomEntry, SessionEndReason } from './participantLink.ts';
import { Announcer } from './announcer.ts';
import { PeerDataRelay, type ConsumeDataTarget } from './dataRelay.ts';
import type { KeyFrameGate } from './keyFrameGate.ts';
import { dataProducerInfo, OwnedMedia, producerInfo, relayConsumerEvents, type OwnedTransport } from './ownedMedia.ts';
import { SessionExpiry } from './sessionExpiry.ts';

export type ParticipantRoom = Room<Participant>;

export type Entry = RoomEntry<Participant>;

type Direction = 'send' | 'recv';

/**
 * One participant of a room, whatever drives it: its membership, and the
 * mediasoup objects it creates and owns (OwnedMedia). Its driver asks it
 * through methods; it tells the others in the room what changed. Once ended
 * it is spent: it never enters a room again, and anything that finishes
 * being created for it afterwards is closed at once.
 */
export class Participant implements RoomMember {
	#peerId: string = randomUUID();
	#displayName = '';
	/** The token's `sub` when the server checks tokens; one live session per (room, identity). */
	#identity: string | undefined;
	#rtpCapabilities: ms.RtpCapabilities | undefined;
	readonly #media: OwnedMedia;
	readonly #link: ParticipantLink;
	/** Everything this participant is told passes it: peerJoined/peerLeft are coalesced (a join storm is not N announcements each). */
	readonly #announcer: Announcer;
	#room: ParticipantRoom | undefined;
	#ended = false;
	readonly #expiry = new SessionExpiry(() => this.endSession('token-expired'));
	readonly #onActiveSpeaker = (peerId: string) => this.notify({ notification: 'activeSpeaker', data: { peerId } });
	readonly #onAudioLevels = (levels: AudioLevel[]) => this.notify({ notification: 'audioLevels', data: { levels } });

	/** `dataRate`: MAX_DATA_MESSAGES/BYTES_PER_SECOND (each message relayed through its budget); without it data channels are not rate-limited. */
	constructor(link: ParticipantLink, dataRate?: DataRateLimits & { maxMessageBytes: number }, { announceWindowMs = 0 } = {}) {
		this.#link = link;
		this.#announcer = new Announcer({ send: (m) => this.#link.notify(m), scope: () => this.#room, windowMs: announceWindowMs });
		const guard =
			dataRate &&
			new DataRateGuard(
				{
					dataProducers: () => this.#media.dataProducers.values(),
					throttled: (paused) => this.notify({ notification: 'dataThrottled', data: { paused, ...dataRate } }),
				},
				dataRate,
			);
		this.#media = new OwnedMedia(guard, dataRate && new PeerDataRelay({ router: () => this.router?.router, limits: dataRate }));
	}

	get peerId(): string {
		return this.#peerId;
	}

	get displayName(): string {
		return this.#displayName;
	}

	get identity(): string | undefined {
		return this.#identity;
	}

	get room(): ParticipantRoom | undefined {
		return this.#room;
	}

	/** False once ended: nothing may be created or joined for this participant. */
	get live(): boolean {
		return !this.#ended;
	}

	get transports(): ReadonlyMap<string, ms.WebRtcTransport> {
		return this.#media.transports;
	}

	get producers(): ReadonlyMap<string, ms.Producer> {
		return this.#media.producers;
	}

	get consumers(): ReadonlyMap<string, ms.Consumer> {
		return this.#media.consumers;
	}

	get dataProducers(): ReadonlyMap<string, ms.DataProducer> {
		return this.#media.dataProducers;
	}

	get dataConsumers(): ReadonlyMap<string, ms.DataConsumer> {
		return this.#media.dataConsumers;
	}

	/** The router this participant's transports live on, while it is in a room. */
	get router(): RoomRouter<Participant> | undefined {
		return this.#room?.routerOf(this);
	}

	requireRoom(): ParticipantRoom {
		if (!this.#room || this.#room.closed) throw new TureenError('NOT_JOINED', 'join a room first');
		return this.#room;
	}

	/** Throws when the participant ended while a request was waiting on something. */
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

	/** Enters a room (see Entry); the others are not told here: the caller says peerJoined once its own answer is ready. */
	enter(room: ParticipantRoom, { seat, session, displayName, rtpCapabilities }: Entry = {}): void {
		this.requireLive();
		if (room.closed) throw new TureenError('ROOM_NOT_FOUND', `room "${room.roomId}" closed`);
		if (session) {
			this.#peerId = session.identity;
			this.#identity = session.identity;
			this.#expiry.arm(session.expiresAt);
		}
		if (displayName !== undefined) this.#displayName = displayName;
		if (rtpCapabilities) this.#rtpCapabilities = rtpCapabilities;
		room.addMember(this, seat);
		this.#room = room;
		room.on('activeSpeaker', this.#onActiveSpeaker);
		room.on('audioLevels', this.#onAudioLevels);
		// Speakers are announced on change only: a newcomer hears the current one now.
		if (room.activeSpeaker) this.#onActiveSpeaker(room.activeSpeaker);
	}

	/** This participant's router went (its worker died or drained); the room gave it one on `workerId`. */
	moved(workerId: number, reason: RoomMoveReason): void {
		// The old router took every transport, producer and consumer with it.
		this.#media.forgetAll();
		this.notify({ notification: 'roomMoved', data: { workerId, reason } });
	}

	/**
	 * Leaves the room (if any), closing everything this participant owns. The
	 * others hear, in this order and once each: for every producer of this
	 * one, consumerClosed (for their consumers of it) then producerClosed; then peerLeft.
	 */
	leave(): ParticipantRoom | undefined {
		const room = this.#detach();
		if (!room) return undefined;
		room.removeMember(this);
		if (!room.closed) {
			for (const other of room.members.values()) other.notify({ notification: 'peerLeft', data: { peerId: this.peerId } });
		}
		return room;
	}

	/** The driver is gone (the socket closed): leave, and refuse everything from now on. */
	end(): ParticipantRoom | undefined {
		this.#ended = true;
		return this.leave();
	}

	/**
	 * The server ends this session (token expired, or the same identity joined
	 * again): the client is told first, then the room sees it leave and the link ends.
	 */
	endSession(reason: SessionEndReason): ParticipantRoom | undefined {
		this.notify({ notification: 'sessionEnded', data: { reason } });
		const room = this.end();
		this.#link.end(reason);
		return room;
	}

	/** The room closed under this participant (deleted, idle, shutdown, no worker to move to): only roomClosed is sent. */
	close(reason: RoomCloseReason): void {
		if (this.#detach()) this.notify({ notification: 'roomClosed', data: { reason } });
	}

	#detach(): ParticipantRoom | undefined {
		this.#expiry.clear();
		const room = this.#room;
		if (!room) return undefined;
		this.#media.closeAll();
		room.off('activeSpeaker', this.#onActiveSpeaker);
		room.off('audioLevels', this.#onAudioLevels);
		this.#room = undefined;
		return room;
	}

	/** A WebRTC transport on this participant's router; `hostOf` names the worker slot that counts its ports. */
	async createWebRtcTransport(direction: Direction, hostOf: (workerId: number) => TransportHost | undefined, settings: TransportSettings): Promise<ResponseData['createWebRtcTransport']> {
		const room = this.requireRoom();
		const placed = this.router;
		const host = placed && hostOf(placed.workerId);
		if (!placed?.router || placed.closed || !host?.alive) {
			throw new TureenError('NO_WORKER_AVAILABLE', 'your router is moving to another worker; retry after roomMoved');
		}
		const transport = await createTransportOn(placed.router, host, settings, { peerId: this.peerId, direction });
		this.#adopt(room, transport);
		this.#media.addTransport(transport);
		if (direction === 'recv') await this.#media.shareOutgoingBitrate(settings.peerOutgoingBitrate, settings.outgoingBitrate);
		const { id, iceParameters, iceCandidates, dtlsParameters, sctpParameters } = transport;
		return { transportId: id, iceParameters, iceCandidates, dtlsParameters, sctpParameters };
	}

	/** A plain RTP transport for a feed that is not a browser (a recorder, the bench): produce and consume may name it. */
	async createPlainTransport(direction: Direction, options: ms.PlainTransportOptions, connect?: PlainConnect): Promise<ms.PlainTransport> {
		const room = this.requireRoom();
		const router = this.router?.closed ? undefined : this.router?.router;
		if (!router) throw new TureenError('NO_WORKER_AVAILABLE', 'your router is moving to another worker; retry after roomMoved');
		const transport = await createPlainTransportOn(router, options, connect, { peerId: this.peerId, direction });
		this.#adopt(room, transport);
		this.#media.addPlainTransport(transport);
		return transport;
	}

	async connectTransport(transportId: string, dtlsParameters: ms.DtlsParameters): Promise<void> {
		await withClientParameters(this.#media.ownWebRtcTransport(transportId).connect({ dtlsParameters }));
	}

	async restartIce(transportId: string): Promise<ms.IceParameters> {
		return this.#media.ownWebRtcTransport(transportId).restartIce();
	}

	/** The transport of this participant with this id, made for `direction` (`method` names the request in the error). */
	ownTransportFor(transportId: string, direction: Direction, method: string): OwnedTransport {
		const transport = this.#media.ownTransport(transportId);
		if (transport.appData.direction !== direction) {
			throw new TureenError('BAD_REQUEST', `${method} needs a transport created with direction "${direction}"`);
		}
		return transport;
	}

	/** A producer on one of its send transports; audio also feeds the room's speaker detection (or the producer is not kept). */
	async produce(request: ProduceRequest): Promise<string> {
		const room = this.requireRoom();
		const transport = this.ownTransportFor(request.transportId, 'send', 'produce');
		const { kind, rtpParameters, source } = request;
		const producer = await withClientParameters(transport.produce({ kind, rtpParameters, appData: { ...request.appData, source, peerId: this.peerId } }));
		this.#adoptProducer(room, producer);
		await room.observeAudio(producer, this).catch((error: unknown) => {
			producer.close();
			throw error;
		});
		return producer.id;
	}

	closeProducer(producerId: string): void {
		this.#media.ownProducer(producerId).close();
	}

	async pauseProducer(producerId: string): Promise<void> {
		await this.#media.ownProducer(producerId).pause();
		this.broadcast({ notification: 'producerPaused', data: { producerId, peerId: this.peerId } });
	}

	async resumeProducer(producerId: string): Promise<void> {
		await this.#media.ownProducer(producerId).resume();
		this.broadcast({ notification: 'producerResumed', data: { producerId, peerId: this.peerId } });
	}

	/** Keeps the producer (or closes it: see #adopt); the others hear newProducer now, producerClosed when it closes. */
	#adoptProducer(room: ParticipantRoom, producer: ms.Producer): void {
		this.#adopt(room, producer);
		const dynacast = dynacastFor(producer, {
			wants: (spatialLayers) => [...room.members.values()].flatMap((member) => member.wantsOf(producer.id, spatialLayers)),
			tell: (maxSpatialLayer) => this.notify({ notification: 'producerLayersWanted', data: { producerId: producer.id, maxSpatialLayer } }),
		});
		this.#media.addProducer(producer, dynacast, () => {
			if (room.closed) return;
			// A member whose own router went (worker died, drained) lost its consumers with it: it hears only producerClosed.
			for (const other of room.members.values()) {
				if (other !== this) other.producerClosed(producer.id, this.peerId, !(room.routerOf(other)?.closed ?? true));
			}
		});
		this.broadcast({ notification: 'newProducer', data: producerInfo(producer, this.peerId) });
		this.#media.reviewDynacast(producer.id);
	}

	/**
	 * A consumer of `owner`'s producer on one of its receive transports, paused
	 * until the client has set up its side (as mediasoup recommends). On
	 * another worker's router the producer is piped here first.
	 */
	async consume(owner: Participant, { transportId, producerId }: { transportId: string; producerId: string }): Promise<ResponseData['consume']> {
		const room = this.requireRoom();
		const router = await room.routerToConsume({ producerId }, owner, this);
		// It may have moved or closed the transport meanwhile.
		const transport = this.ownTransportFor(transportId, 'recv', 'consume');
		const rtpCapabilities = this.#rtpCapabilities;
		if (!rtpCapabilities || !router.canConsume({ producerId, rtpCapabilities })) {
			throw new TureenError('MEDIA_ERROR', 'your RTP capabilities cannot receive this producer');
		}
		const appData = this.#media.tagConsumer({ transportId, consumes: producerId });
		const consumer = await withClientParameters(transport.consume({ producerId, rtpCapabilities, paused: true, appData }));
		this.#adoptConsumer(room, consumer);
		const { id, kind, rtpParameters, producerPaused } = consumer;
		return { consumerId: id, producerId, peerId: owner.peerId, kind, rtpParameters, paused: producerPaused };
	}

	/** This participant hears when the consumer's producer pauses or resumes, and when its layers or score change. */
	#adoptConsumer(room: ParticipantRoom, consumer: ms.Consumer): void {
		this.#adopt(room, consumer);
		this.#media.addConsumer(consumer, () => this.#demandChanged(consumer));
		// Normally producerClosed has closed the consumer first; this covers a producer closed by mediasoup alone.
		relayConsumerEvents(consumer, (message) => this.notify(message), () => this.#consumerClosed(consumer));
	}

	async resumeConsumer(consumerId: string): Promise<void> {
		this.#demandChanged(await this.#media.resumeConsumer(consumerId));
	}

	async pauseConsumer(consumerId: string): Promise<void> {
		this.#demandChanged(await this.#media.pauseConsumer(consumerId));
	}

	async setConsumerPreferredLayers(consumerId: string, layers: { spatialLayer: number; temporalLayer?: number }): Promise<void> {
		this.#demandChanged(await this.#media.setConsumerPreferredLayers(consumerId, layers));
	}

	async setConsumerPriority(consumerId: string, priority: number): Promise<void> {
		await this.#media.ownConsumer(consumerId).setPriority(priority);
	}

	async requestKeyFrame(consumerId: string, gate?: Pick<KeyFrameGate, 'request'>): Promise<void> {
		await this.#media.requestKeyFrame(consumerId, gate);
	}

	/** A data producer on one of its send transports: newDataProducer to the others now, dataProducerClosed when it closes. */
	async produceData(request: { transportId: string; sctpStreamParameters: ms.SctpStreamParameters; label: string; protocol: string }): Promise<string> {
		const room = this.requireRoom();
		const transport = this.ownTransportFor(request.transportId, 'send', 'produceData');
		const { sctpStreamParameters, label, protocol } = request;
		const dataProducer = await withClientParameters(transport.produceData({ sctpStreamParameters, label, protocol, appData: { peerId: this.peerId } }));
		this.#adopt(room, dataProducer);
		// Their data consumers of it close with it (mediasoup does that).
		this.#media.addDataProducer(dataProducer, () => {
			if (room.closed) return;
			for (const other of room.members.values()) {
				if (other !== this) other.notify({ notification: 'dataProducerClosed', data: { dataProducerId: dataProducer.id, peerId: this.peerId } });
			}
		});
		this.broadcast({ notification: 'newDataProducer', data: dataProducerInfo(dataProducer, this.peerId) });
		return dataProducer.id;
	}

	closeDataProducer(dataProducerId: string): void {
		this.#media.ownDataProducer(dataProducerId).close();
	}

	/** What another member consumes for this participant's data producer: the server's relay of it. */
	dataConsumeTarget(dataProducerId: string): Promise<ConsumeDataTarget> {
		return this.#media.dataConsumeTarget(dataProducerId);
	}

	/** As consume, for `owner`'s data producer (piped here first from another worker's router). */
	async consumeData(owner: Participant, { transportId, dataProducerId }: { transportId: string; dataProducerId: string }): Promise<ResponseData['consumeData']> {
		const room = this.requireRoom();
		const relayed = await owner.dataConsumeTarget(dataProducerId);
		await room.routerToConsume({ dataProducerId: relayed.dataProducerId }, owner, this);
		const transport = this.ownTransportFor(transportId, 'recv', 'consumeData');
		const appData = this.#media.tagConsumer({ transportId, consumes: dataProducerId });
		const dataConsumer = await withClientParameters(transport.consumeData({ ...relayed, appData }));
		this.#adopt(room, dataConsumer);
		this.#media.addDataConsumer(dataConsumer);
		const { id, sctpStreamParameters, label, protocol } = dataConsumer;
		return { dataConsumerId: id, dataProducerId, peerId: owner.peerId, sctpStreamParameters, label, protocol };
	}

	/**
	 * Another member's producer closed: this participant's consumers of it
	 * close now (consumerClosed each, unless its whole router went), then
	 * producerClosed. Done at once, so nothing about it arrives later from the worker.
	 */
	producerClosed(producerId: string, ownerId: string, closeConsumers: boolean): void {
		if (closeConsumers) {
			for (const consumer of this.#media.consumersOf(producerId)) this.#consumerClosed(consumer);
		}
		this.notify({ notification: 'producerClosed', data: { producerId, peerId: ownerId } });
	}

	/** What this participant's consumers of another member's producer want, for that producer's dynacast. */
	wantsOf(producerId: string, spatialLayers: number): ConsumerWant[] {
		return this.#media.wantsOf(producerId, spatialLayers);
	}

	/** Some consumer of this participant's producer changed what it wants: review that producer's dynacast. */
	layerDemandChanged(producerId: string): void {
		this.#media.reviewDynacast(producerId);
	}

	/**
	 * This participant's consumer changed what it wants (resumed, paused, new
	 * preferred layers, closed; a new consumer starts paused and counts from
	 * its resume): the producer's owner reviews its dynacast.
	 */
	#demandChanged(consumer: ms.Consumer): void {
		for (const member of this.#room?.members.values() ?? []) {
			if (member.producers.has(consumer.producerId)) member.layerDemandChanged(consumer.producerId);
		}
	}

	consumerLayers(): ConsumerLayerState[] {
		return this.#media.consumerLayers();
	}

	producerInfos(): ProducerInfo[] {
		return this.#media.producerInfos(this.peerId);
	}

	dataProducerInfos(): DataProducerInfo[] {
		return this.#media.dataProducerInfos(this.peerId);
	}

	#consumerClosed(consumer: ms.Consumer): void {
		if (!this.#media.forgetConsumer(consumer)) return;
		if (!consumer.closed) consumer.close();
		this.notify({ notification: 'consumerClosed', data: { consumerId: consumer.id, producerId: consumer.producerId } });
	}

	/** Made for this participant in `room`: kept only if it is still there and live, else closed (so no port stays bound for one that is gone). */
	#adopt(room: ParticipantRoom, made: { closed: boolean; close(): void }): void {
		if (!this.#ended && this.#room === room && !room.closed && !made.closed) return;
		if (!made.closed) made.close();
		throw new TureenError('NOT_JOINED', 'the peer left the room (or the connection closed) while this was being set up');
	}
}
