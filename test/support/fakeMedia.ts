// Stand-ins for mediasoup's Worker, Router, Transport, Producer and Consumer:
// just the surface Tureen's rooms, peers and handlers touch, with the same
// close cascade (router -> transports -> producers/consumers) and observer
// events, so our own logic is tested without a worker process. Integration
// tests cover the real thing.
import { EventEmitter } from 'node:events';

import type { types as ms } from 'mediasoup';

import type { RoomMember } from '../../src/services/room.ts';
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

	constructor(
		readonly producerId: string,
		readonly kind: 'audio' | 'video',
	) {
		super('consumer');
	}

	async resume(): Promise<void> {}

	/** What mediasoup does when the worker says the producer closed. */
	producerClosedByWorker(): void {
		if (this.closed) return;
		this.closed = true;
		this.emit('producerclose');
		this.observer.emit('close');
	}
}

export class FakeTransport extends FakeClosable {
	readonly iceParameters = { usernameFragment: 'u', password: 'p' };
	readonly iceCandidates = [];
	readonly dtlsParameters = { fingerprints: [] };
	readonly producers: FakeProducer[] = [];
	readonly consumers: FakeConsumer[] = [];
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

	async produce({ kind, appData }: { kind: 'audio' | 'video'; appData?: Record<string, unknown> }): Promise<FakeProducer> {
		const producer = new FakeProducer(kind, appData ?? {});
		this.producers.push(producer);
		this.router.producers.set(producer.id, producer);
		return producer;
	}

	async consume({ producerId }: { producerId: string }): Promise<FakeConsumer> {
		const producer = this.router.producers.get(producerId);
		if (!producer) throw new Error(`no producer ${producerId}`);
		const consumer = new FakeConsumer(producerId, producer.kind);
		this.consumers.push(consumer);
		return consumer;
	}

	protected override onClose(): void {
		for (const producer of this.producers) producer.close();
		for (const consumer of this.consumers) consumer.close();
	}
}

export class FakeRouter extends FakeClosable {
	readonly rtpCapabilities = { codecs: MEDIA_CODECS.map((c) => ({ ...c, preferredPayloadType: 100 })), headerExtensions: [] };
	readonly transports: FakeTransport[] = [];
	readonly producers = new Map<string, FakeProducer>();
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

	canConsume({ producerId }: { producerId: string }): boolean {
		return this.producers.has(producerId);
	}

	/** Calls of pipeToRouter, and what the next one does: hold on a gate, or fail. */
	readonly pipeCalls: { producerId: string; router: FakeRouter }[] = [];
	pipeGate: Promise<void> | undefined;
	pipeError: Error | undefined;

	/** As mediasoup: the producer appears on the target router under the same id, and goes when the original closes. */
	async pipeToRouter({ producerId, router }: { producerId: string; router: FakeRouter }): Promise<{ pipeProducer: FakeProducer }> {
		this.pipeCalls.push({ producerId, router });
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

	attachRoomIndex(): void {}
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
