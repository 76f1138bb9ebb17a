import type { types as ms } from 'mediasoup';

import { limitReached, TureenError } from '../../errors.ts';
import { CONSUMERS_PER_PRODUCER_PER_TRANSPORT, consumersOf, type ConsumerTag } from '../../limits/consumeOnce.ts';
import { outgoingBitrateShare } from '../../limits/outgoingBitrate.ts';
import {
	defaultSource,
	MEDIA_SOURCES,
	type ConsumerLayerState,
	type DataProducerInfo,
	type MediaSource,
	type NotificationMessage,
	type ProducerInfo,
} from '../../protocol/messages.ts';
import type { DataRateGuard } from './dataRateGuard.ts';
import type { ConsumeDataTarget, PeerDataRelay } from './dataRelay.ts';
import type { ConsumerWant } from './dynacastPolicy.ts';
import type { ProducerDynacast } from './dynacast.ts';
import type { KeyFrameGate } from './keyFrameGate.ts';

/** A participant's transports: WebRTC for clients; plain RTP for a server-side feed (a recorder, the bench). */
export type OwnedTransport = ms.WebRtcTransport | ms.PlainTransport;

/** The source the server stored in the producer's appData at produce. */
export function sourceOf(producer: Pick<ms.Producer, 'kind' | 'appData'>): MediaSource {
	const source = MEDIA_SOURCES.find((s) => s === producer.appData.source);
	return source ?? defaultSource(producer.kind);
}

/**
 * The mediasoup objects one participant owns, by id, and what hangs on them
 * (dynacast per simulcast producer, the data-rate guard). Each object is
 * forgotten when it closes; `onClose` lets the participant tell the room.
 */
export class OwnedMedia {
	readonly #transports = new Map<string, ms.WebRtcTransport>();
	/** Plain RTP transports of a server-side feed (a recorder, the bench's replayed RTP); not counted as a client's transports. */
	readonly #plainTransports = new Map<string, ms.PlainTransport>();
	readonly #producers = new Map<string, ms.Producer>();
	readonly #consumers = new Map<string, ms.Consumer>();
	/** The same consumers by the producer they consume: a producer's dynacast reads only its own, not every consumer of the room. */
	readonly #consumersByProducer = new Map<string, Set<ms.Consumer>>();
	readonly #dataProducers = new Map<string, ms.DataProducer>();
	readonly #dataConsumers = new Map<string, ms.DataConsumer>();
	readonly #dynacasts = new Map<string, ProducerDynacast>();
	/** Holds the data producers while the participant sends over the data rate (none without limits). */
	readonly #dataGuard: DataRateGuard | undefined;
	/** Admits or drops each data message before the others get it (none without limits). */
	readonly #dataRelay: PeerDataRelay | undefined;

	constructor(dataGuard?: DataRateGuard, dataRelay?: PeerDataRelay) {
		this.#dataGuard = dataGuard;
		this.#dataRelay = dataRelay;
	}

	// Read-only views: only this class changes its maps.
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

	addTransport(transport: ms.WebRtcTransport): void {
		this.#transports.set(transport.id, transport);
		transport.observer.once('close', () => this.#transports.delete(transport.id));
	}

	addPlainTransport(transport: ms.PlainTransport): void {
		this.#plainTransports.set(transport.id, transport);
		transport.observer.once('close', () => this.#plainTransports.delete(transport.id));
	}

	addProducer(producer: ms.Producer, dynacast: ProducerDynacast | undefined, onClose: () => void): void {
		this.#producers.set(producer.id, producer);
		if (dynacast) this.#dynacasts.set(producer.id, dynacast);
		producer.observer.once('close', () => {
			this.#producers.delete(producer.id);
			this.#dynacasts.get(producer.id)?.close();
			this.#dynacasts.delete(producer.id);
			onClose();
		});
	}

	addConsumer(consumer: ms.Consumer, onClose: () => void): void {
		this.#consumers.set(consumer.id, consumer);
		const ofProducer = this.#consumersByProducer.get(consumer.producerId) ?? new Set<ms.Consumer>();
		ofProducer.add(consumer);
		this.#consumersByProducer.set(consumer.producerId, ofProducer);
		consumer.observer.once('close', () => {
			this.forgetConsumer(consumer);
			onClose();
		});
	}

	addDataProducer(dataProducer: ms.DataProducer, onClose: () => void): void {
		this.#dataProducers.set(dataProducer.id, dataProducer);
		dataProducer.observer.once('close', () => {
			this.#dataProducers.delete(dataProducer.id);
			onClose();
		});
		this.#dataRelay?.add(dataProducer);
		this.#dataGuard?.start();
	}

	/** What another member consumes for this data producer: the server's relay of it (itself without limits). */
	async dataConsumeTarget(dataProducerId: string): Promise<ConsumeDataTarget> {
		return this.#dataRelay ? this.#dataRelay.target(dataProducerId) : { dataProducerId };
	}

	/** At most one consumer of a producer (or data producer) per transport: a second one only multiplies what the worker sends. */
	tagConsumer(tag: ConsumerTag): ConsumerTag {
		if (consumersOf([...this.#consumers.values(), ...this.#dataConsumers.values()], tag) >= CONSUMERS_PER_PRODUCER_PER_TRANSPORT) {
			throw limitReached('consumersPerProducerPerTransport', CONSUMERS_PER_PRODUCER_PER_TRANSPORT, `this transport already consumes ${tag.consumes}`);
		}
		return tag;
	}

	/** The peer's outgoing cap split over its receive transports, none above `perTransport` (MAX_OUTGOING_BITRATE). */
	async shareOutgoingBitrate(perPeer: number, perTransport: number): Promise<void> {
		const recv = [...this.#transports.values()].filter((t) => t.appData.direction === 'recv' && !t.closed);
		const share = Math.min(perTransport, outgoingBitrateShare(perPeer, recv.length));
		// Kept in appData too: mediasoup 3.32 reports the cap in getStats only once its estimator runs (after ICE).
		await Promise.all(recv.map((t) => t.setMaxOutgoingBitrate(share).then(() => (t.appData.outgoingBitrateCap = share), () => undefined)));
	}

	addDataConsumer(dataConsumer: ms.DataConsumer): void {
		this.#dataConsumers.set(dataConsumer.id, dataConsumer);
		dataConsumer.observer.once('close', () => this.#dataConsumers.delete(dataConsumer.id));
	}

	/** This participant's consumers of one producer. */
	consumersOf(producerId: string): ms.Consumer[] {
		return [...(this.#consumersByProducer.get(producerId) ?? [])];
	}

	/** What this participant's open consumers of the producer want, for its owner's dynacast. */
	wantsOf(producerId: string, spatialLayers: number): ConsumerWant[] {
		return this.consumersOf(producerId)
			.filter((c) => !c.closed)
			.map((c) => ({ preferredSpatialLayer: c.preferredLayers?.spatialLayer ?? spatialLayers - 1, paused: c.paused }));
	}

	/** Forgets the consumer; false when it was already forgotten. */
	forgetConsumer(consumer: ms.Consumer): boolean {
		const ofProducer = this.#consumersByProducer.get(consumer.producerId);
		ofProducer?.delete(consumer);
		if (ofProducer?.size === 0) this.#consumersByProducer.delete(consumer.producerId);
		return this.#consumers.delete(consumer.id);
	}

	reviewDynacast(producerId: string): void {
		this.#dynacasts.get(producerId)?.review();
	}

	/** A transport to produce or consume on: a WebRTC one, or a plain one of a server-side feed. */
	ownTransport(transportId: string): OwnedTransport {
		return this.#plainTransports.get(transportId) ?? this.ownWebRtcTransport(transportId);
	}

	ownWebRtcTransport(transportId: string): ms.WebRtcTransport {
		return owned(this.#transports, transportId, 'transport');
	}

	ownProducer(producerId: string): ms.Producer {
		return owned(this.#producers, producerId, 'producer');
	}

	ownDataProducer(dataProducerId: string): ms.DataProducer {
		return owned(this.#dataProducers, dataProducerId, 'data producer');
	}

	ownConsumer(consumerId: string): ms.Consumer {
		return owned(this.#consumers, consumerId, 'consumer');
	}

	async resumeConsumer(consumerId: string): Promise<ms.Consumer> {
		const consumer = this.ownConsumer(consumerId);
		await consumer.resume();
		return consumer;
	}

	async pauseConsumer(consumerId: string): Promise<ms.Consumer> {
		const consumer = this.ownConsumer(consumerId);
		await consumer.pause();
		return consumer;
	}

	async setConsumerPreferredLayers(consumerId: string, layers: { spatialLayer: number; temporalLayer?: number }): Promise<ms.Consumer> {
		const consumer = this.ownConsumer(consumerId);
		if (consumer.type === 'simple' || consumer.type === 'pipe') {
			throw new TureenError('BAD_REQUEST', `consumer ${consumerId} has no layers (its producer is not simulcast or SVC)`);
		}
		await consumer.setPreferredLayers(layers);
		return consumer;
	}

	/** Through `gate` when given: coalesced per producer stream (its spatial layer), so subscribers cannot pin a publisher to key frames. */
	async requestKeyFrame(consumerId: string, gate?: Pick<KeyFrameGate, 'request'>): Promise<void> {
		const consumer = this.ownConsumer(consumerId);
		if (consumer.kind !== 'video') throw new TureenError('BAD_REQUEST', `consumer ${consumerId} is not video`);
		const ask = () => consumer.requestKeyFrame();
		const layer = consumer.currentLayers?.spatialLayer ?? consumer.preferredLayers?.spatialLayer ?? 0;
		await (gate ? gate.request(`${consumer.producerId}:${layer}`, ask) : ask());
	}

	producerInfos(peerId: string): ProducerInfo[] {
		return [...this.#producers.values()].map((p) => producerInfo(p, peerId));
	}

	dataProducerInfos(peerId: string): DataProducerInfo[] {
		return [...this.#dataProducers.values()].map((d) => dataProducerInfo(d, peerId));
	}

	/** Layers of every consumer, for the room details an operator reads. */
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

	/** Closes everything: closing a transport closes its producers and consumers, whose 'close' handlers tell the room. */
	closeAll(): void {
		for (const transport of [...this.#transports.values(), ...this.#plainTransports.values()]) transport.close();
		this.forgetAll();
	}

	/** Forgets everything without closing it (the router took it all with it). */
	forgetAll(): void {
		for (const dynacast of this.#dynacasts.values()) dynacast.close();
		this.#dynacasts.clear();
		this.#transports.clear();
		this.#plainTransports.clear();
		this.#producers.clear();
		this.#consumers.clear();
		this.#consumersByProducer.clear();
		this.#dataProducers.clear();
		this.#dataConsumers.clear();
		this.#dataGuard?.stop();
		this.#dataRelay?.close();
	}
}

/** What the subscriber hears of its consumer: its producer paused or resumed, its layers and score; `producerGone` when mediasoup closed the producer. */
export function relayConsumerEvents(consumer: ms.Consumer, notify: (message: NotificationMessage) => void, producerGone: () => void): void {
	const consumerId = consumer.id;
	consumer.on('layerschange', (layers) => {
		notify({ notification: 'consumerLayersChanged', data: { consumerId, spatialLayer: layers?.spatialLayer ?? null, temporalLayer: layers?.temporalLayer ?? null } });
	});
	consumer.on('score', ({ score, producerScore }) => notify({ notification: 'consumerScore', data: { consumerId, score, producerScore } }));
	consumer.on('producerclose', producerGone);
	consumer.on('producerpause', () => notify({ notification: 'consumerPaused', data: { consumerId } }));
	consumer.on('producerresume', () => notify({ notification: 'consumerResumed', data: { consumerId } }));
}

export function producerInfo(producer: ms.Producer, peerId: string): ProducerInfo {
	return { producerId: producer.id, peerId, kind: producer.kind, source: sourceOf(producer), paused: producer.paused };
}

export function dataProducerInfo(dataProducer: ms.DataProducer, peerId: string): DataProducerInfo {
	return { dataProducerId: dataProducer.id, peerId, label: dataProducer.label, protocol: dataProducer.protocol };
}

function owned<T>(map: ReadonlyMap<string, T>, id: string, what: string): T {
	const item = map.get(id);
	if (!item) throw new TureenError('NOT_FOUND', `no ${what} ${id} of yours`);
	return item;
}
