// Stand-ins for mediasoup's Worker, Router, Transport, Producer and Consumer:
// just the surface Tureen's rooms, peers and handlers touch, with the same
// close cascade (router -> transports -> producers/consumers) and observer
// events, so our own logic is tested without a worker process. Integration
// tests cover the real thing.
import { EventEmitter } from 'node:events';

import type { types as ms } from 'mediasoup';

import type { RoomMember } from '../../src/services/rooms/room.ts';
import { MEDIA_CODECS } from '../../src/services/rooms/codecs.ts';

let nextId = 1;
const newId = (kind: string) => `${kind}-${nextId++}`;

class FakeClosable extends EventEmitter {
	readonly id: string;
	readonly observer = new EventEmitter();
	closed = false;

	constructor(kind: string) {
		super();
		this.id = newId(kind);
	}

	close(): void {
		if (this.closed) return;
		this.closed = true;
		this.onClose();
		this.observer.emit('close');
	}

	protected onClose(): void {}
}

export class FakeProducer extends FakeClosable {
	paused = false;

	constructor(
		readonly kind: 'audio' | 'video',
		readonly appData: Record<string, unknown>,
		readonly rtpParameters: { encodings?: object[] } = { encodings: [{}] },
	) {
		super('producer');
	}

	async pause(): Promise<void> {
		this.paused = true;
	}

	async resume(): Promise<void> {
		this.paused = false;
	}
}

export class FakeConsumer extends FakeClosable {
	readonly rtpParameters = { codecs: [] };
	producerPaused = false;
	/** mediasoup's type: a producer of several encodings gives a simulcast consumer. */
	readonly type: 'simple' | 'simulcast';
	preferredLayers: { spatialLayer: number; temporalLayer?: number } | undefined;
	priority = 1;
	keyFrameRequests = 0;

	constructor(
		readonly producerId: string,
		readonly kind: 'audio' | 'video',
		public paused = false,
		spatialLayers = 1,
	) {
		super('consumer');
		this.type = spatialLayers > 1 ? 'simulcast' : 'simple';
		// mediasoup prefers the top layers until told otherwise.
		if (spatialLayers > 1) this.preferredLayers = { spatialLayer: spatialLayers - 1, temporalLayer: 2 };
	}

	async pause(): Promise<void> {
		this.paused = true;
	}

	async resume(): Promise<void> {
		this.paused = false;
	}

	async setPreferredLayers(layers: { spatialLayer: number; temporalLayer?: number }): Promise<void> {
		this.preferredLayers = layers;
	}

	async setPriority(priority: number): Promise<void> {
		this.priority = priority;
	}

	async requestKeyFrame(): Promise<void> {
		this.keyFrameRequests += 1;
	}

	/** What mediasoup does when the worker says the producer closed. */
	producerClosedByWorker(): void {
		if (this.closed) return;
		this.closed = true;
		this.emit('producerclose');
		this.observer.emit('close');
	}
}

export class FakeDataProducer extends FakeClosable {
	paused = false;
	readonly sctpStreamParameters = { streamId: 1, ordered: true };

	constructor(
		readonly label: string,
		readonly protocol: string,
		readonly appData: Record<string, unknown>,
	) {
		super('dataProducer');
	}
}

export class FakeDataConsumer extends FakeClosable {
	readonly sctpStreamParameters = { streamId: 2, ordered: true };

	constructor(
		readonly dataProducerId: string,
		readonly label: string,
		readonly protocol: string,
	) {
		super('dataConsumer');
	}
}

export class FakeTransport extends FakeClosable {
	readonly iceParameters = { usernameFragment: 'u', password: 'p' };
	readonly iceCandidates = [];
	readonly dtlsParameters = { fingerprints: [] };
	readonly producers: FakeProducer[] = [];
	readonly consumers: FakeConsumer[] = [];
	readonly dataProducers: FakeDataProducer[] = [];
	readonly dataConsumers: FakeDataConsumer[] = [];
	readonly sctpParameters = { port: 5000, OS: 1024, MIS: 1024, maxMessageSize: 16384 };
	/** Set to make the next connect() fail as mediasoup would. */
	connectError: Error | undefined;

	constructor(
		readonly router: FakeRouter,
		readonly appData: Record<string, unknown>,
	) {
		super('transport');
	}

	async connect(): Promise<void> {
		if (this.connectError) throw this.connectError;
	}

	async restartIce(): Promise<{ usernameFragment: string; password: string }> {
		return this.iceParameters;
	}

	/** What the participant last capped this transport's downlink at (MAX_PEER_OUTGOING_BITRATE's share). */
	maxOutgoingBitrate: number | undefined;

	async setMaxOutgoingBitrate(bitrate: number): Promise<void> {
		this.maxOutgoingBitrate = bitrate;
	}

	async produce({ kind, appData, rtpParameters }: { kind: 'audio' | 'video'; appData?: Record<string, unknown>; rtpParameters?: { encodings?: object[] } }): Promise<FakeProducer> {
		const producer = new FakeProducer(kind, appData ?? {}, rtpParameters?.encodings ? rtpParameters : undefined);
		this.producers.push(producer);
		this.router.producers.set(producer.id, producer);
		return producer;
	}

	async consume({ producerId, paused }: { producerId: string; paused?: boolean }): Promise<FakeConsumer> {
		const producer = this.router.producers.get(producerId);
		if (!producer) throw new Error(`no producer ${producerId}`);
		const consumer = new FakeConsumer(producerId, producer.kind, paused ?? false, producer.rtpParameters.encodings?.length ?? 1);
		this.consumers.push(consumer);
		return consumer;
	}

	async produceData({ label, protocol, appData }: { label?: string; protocol?: string; appData?: Record<string, unknown> }): Promise<FakeDataProducer> {
		const dataProducer = new FakeDataProducer(label ?? '', protocol ?? '', appData ?? {});
		this.dataProducers.push(dataProducer);
		this.router.dataProducers.set(dataProducer.id, dataProducer);
		return dataProducer;
	}

	async consumeData({ dataProducerId }: { dataProducerId: string }): Promise<FakeDataConsumer> {
		const dataProducer = this.router.dataProducers.get(dataProducerId);
		if (!dataProducer) throw new Error(`no data producer ${dataProducerId}`);
		const dataConsumer = new FakeDataConsumer(dataProducerId, dataProducer.label, dataProducer.protocol);
		// As mediasoup: a data consumer closes with its data producer.
		dataProducer.observer.once('close', () => dataConsumer.close());
		this.dataConsumers.push(dataConsumer);
		return dataConsumer;
	}

	protected override onClose(): void {
		for (const producer of this.producers) producer.close();
		for (const consumer of this.consumers) consumer.close();
		for (const dataProducer of this.dataProducers) dataProducer.close();
		for (const dataConsumer of this.dataConsumers) dataConsumer.close();
	}
}

/** An ActiveSpeakerObserver or AudioLevelObserver: the producers added; a test emits its events. */
export class FakeRtpObserver extends FakeClosable {
	readonly producerIds: string[] = [];

	constructor() {
		super('observer');
	}

	/** As mediasoup's ActiveSpeakerObserver: a producer added twice is refused. */
	async addProducer({ producerId }: { producerId: string }): Promise<void> {
		if (this.producerIds.includes(producerId)) throw new Error('Producer already in map');
		this.producerIds.push(producerId);
	}
}

export class FakeRouter extends FakeClosable {
	readonly rtpCapabilities = { codecs: MEDIA_CODECS.map((c) => ({ ...c, preferredPayloadType: 100 })), headerExtensions: [] };
	readonly transports: FakeTransport[] = [];
	readonly producers = new Map<string, FakeProducer>();
	readonly dataProducers = new Map<string, FakeDataProducer>();
	readonly observers: FakeRtpObserver[] = [];
	/** Set to make createWebRtcTransport fail as mediasoup would. */
	transportError: Error | undefined;

	constructor() {
		super('router');
	}

	async createWebRtcTransport({ appData }: { appData?: Record<string, unknown> }): Promise<FakeTransport> {
		if (this.transportError) throw this.transportError;
		const transport = new FakeTransport(this, appData ?? {});
		this.transports.push(transport);
		return transport;
	}

	async createActiveSpeakerObserver(): Promise<FakeRtpObserver> {
		return this.#observer();
	}

	async createAudioLevelObserver(): Promise<FakeRtpObserver> {
		return this.#observer();
	}

	#observer(): FakeRtpObserver {
		const observer = new FakeRtpObserver();
		this.observers.push(observer);
		return observer;
	}

	canConsume({ producerId }: { producerId: string }): boolean {
		return this.producers.has(producerId);
	}

	/** Calls of pipeToRouter, and what the next one does: hold on a gate, or fail. */
	readonly pipeCalls: { producerId: string; router: FakeRouter; listenInfo?: ms.TransportListenInfo }[] = [];
	pipeGate: Promise<void> | undefined;
	pipeError: Error | undefined;

	/** As mediasoup: the producer appears on the target router under the same id, and goes when the original closes. */
	async pipeToRouter({ producerId, router, listenInfo }: { producerId: string; router: FakeRouter; listenInfo?: ms.TransportListenInfo }): Promise<{ pipeProducer: FakeProducer }> {
		this.pipeCalls.push({ producerId, router, listenInfo });
		await this.pipeGate;
		if (this.pipeError) throw this.pipeError;
		const original = this.producers.get(producerId);
		if (!original || original.closed) throw new Error('original Producer closed');
		const pipeProducer = new FakeProducer(original.kind, {});
		router.producers.set(producerId, pipeProducer);
		original.observer.once('close', () => pipeProducer.close());
		pipeProducer.observer.once('close', () => router.producers.delete(producerId));
		return { pipeProducer };
	}

	protected override onClose(): void {
		// mediasoup marks the router closed before its transports go.
		for (const transport of this.transports) transport.close();
		for (const observer of this.observers) observer.close();
	}

	asRouter(): ms.Router {
		return this as unknown as ms.Router;
	}
}

/** A worker slot as the room registry sees one: it makes fake routers, and can be made to fail. */
export class FakeWorker {
	closed = false;
	readonly routers: FakeRouter[] = [];
	/** While set, createRouter waits for it (to hold creations in flight). */
	gate: Promise<void> | undefined;

	async createRouter(): Promise<ms.Router> {
		await this.gate;
		const router = new FakeRouter();
		this.routers.push(router);
		return router.asRouter();
	}
}

/** A pool of fake worker slots choosing the lowest-numbered live one not excluded. */
export class FakePool {
	readonly slots: { workerId: number; worker: FakeWorker }[];
	/** Slots placement must skip (dead or draining). */
	readonly unavailable = new Set<number>();

	constructor(count: number) {
		this.slots = Array.from({ length: count }, (_, workerId) => ({ workerId, worker: new FakeWorker() }));
	}

	getLeastLoadedWorker(): { workerId: number; worker: ms.Worker } {
		const slot = this.slots.find((s) => !this.unavailable.has(s.workerId));
		if (!slot) throw Object.assign(new Error('no worker'), { code: 'NO_WORKER_AVAILABLE' });
		return { workerId: slot.workerId, worker: slot.worker as unknown as ms.Worker };
	}

	/** Stays on the room's first router on an available slot, else opens one where getLeastLoadedWorker says. */
	placePeerInRoom(routers: readonly { workerId: number }[]): { kind: 'existing' | 'new'; workerId: number; worker: ms.Worker } {
		const stay = routers.find((r) => !this.unavailable.has(r.workerId));
		if (stay) return { kind: 'existing', workerId: stay.workerId, worker: this.slots[stay.workerId]!.worker as unknown as ms.Worker };
		return { kind: 'new', ...this.getLeastLoadedWorker() };
	}

	/** Workers marked used, in order. */
	readonly used: number[] = [];

	markWorkerUsed(workerId: number): void {
		this.used.push(workerId);
	}
}

/** A room member without a connection: it records why the room closed under it and where it was moved. */
export function fakeMember(peerId: string): RoomMember & { closedWith: string[]; movedTo: string[] } {
	const closedWith: string[] = [];
	const movedTo: string[] = [];
	return {
		peerId,
		displayName: peerId,
		closedWith,
		movedTo,
		close: (reason) => void closedWith.push(reason),
		moved: (workerId, reason) => void movedTo.push(`${workerId}:${reason}`),
	};
}
