// Data channels through the server: this peer's data producers (one per
// label, on the send transport) and a data consumer for every other peer's
// data producer (on the receive transport), announced by newDataProducer and
// consumed by themselves, like remote media.
import type { types as msc } from 'mediasoup-client';

import type { DataProducerInfo } from '../src/protocol/messages.ts';
import type { Request } from './signallingSession.ts';

/** A message from another peer's data producer; `peerId` is its owner as the server announced it. */
export type DataMessage = { peerId: string; label: string; data: string | ArrayBuffer };

/** This peer's side of one label; stays valid when the room moves and the channel is re-created. */
export type DataSender = {
	readonly label: string;
	readonly open: boolean;
	/** Largest message the server accepts (its SCTP receive limit). */
	readonly maxMessageSize: number;
	send(data: string): void;
};

/** What the data layer needs from the client library. */
export type DataChannelDeps = {
	request: Request;
	/** The send transport, created on first use. */
	sendTransport(): Promise<msc.Transport>;
	/** The receive transport, when there is one (not mid-move). */
	recvTransport(): msc.Transport | undefined;
	/** The server's receive limit from the send transport's sctpParameters. */
	maxMessageSize(): number;
	onData(message: DataMessage): void;
	onError(dataProducerId: string, peerId: string, error: Error): void;
};

/** How long open() waits for the SCTP channel (DTLS and SCTP set-up) before handing back a not-yet-open sender. */
const OPEN_TIMEOUT_MS = 10_000;

function whenOpen(producer: msc.DataProducer, timeoutMs: number): Promise<void> {
	if (producer.readyState === 'open') return Promise.resolve();
	return new Promise((resolve) => {
		const done = () => {
			clearTimeout(timer);
			producer.off('open', done);
			producer.off('close', done);
			resolve();
		};
		const timer = setTimeout(done, timeoutMs);
		producer.on('open', done);
		producer.on('close', done);
	});
}

export class DataChannels {
	readonly #deps: DataChannelDeps;
	/** Labels this peer opened, re-opened after a room move. */
	readonly #producers = new Map<string, msc.DataProducer | undefined>();
	readonly #consumers = new Map<string, msc.DataConsumer>();
	readonly #pending = new Map<string, DataProducerInfo>();

	constructor(deps: DataChannelDeps) {
		this.#deps = deps;
	}

	/** The send transport's half of produceData: the server makes the data producer. */
	attachSendTransport(transport: msc.Transport): void {
		transport.on('producedata', ({ sctpStreamParameters, label, protocol }, callback, errback) => {
			this.#deps
				.request('produceData', {
					transportId: transport.id,
					sctpStreamParameters: sctpStreamParameters as unknown as Record<string, unknown>,
					label: label ?? '',
					protocol: protocol ?? '',
				})
				.then(({ dataProducerId }) => callback({ id: dataProducerId }), errback);
		});
	}

	async open(label: string): Promise<DataSender> {
		if (!this.#producers.has(label)) {
			this.#producers.set(label, undefined);
			await this.#produce(label);
		}
		const producers = this.#producers;
		const maxMessageSize = () => this.#deps.maxMessageSize();
		return {
			label,
			get open() {
				return producers.get(label)?.readyState === 'open';
			},
			get maxMessageSize() {
				return maxMessageSize();
			},
			send(data: string) {
				const producer = producers.get(label);
				if (!producer || producer.readyState !== 'open') throw new Error(`data channel "${label}" is not open`);
				producer.send(data);
			},
		};
	}

	async #produce(label: string): Promise<void> {
		const transport = await this.#deps.sendTransport();
		// Ordered and reliable: chat and app state must arrive whole and in order.
		const producer = await transport.produceData({ ordered: true, label });
		this.#producers.set(label, producer);
		await whenOpen(producer, OPEN_TIMEOUT_MS);
	}

	/** Another peer's data producer: consumed now, or when the receive transport exists. */
	announce(info: DataProducerInfo): void {
		this.#pending.set(info.dataProducerId, info);
	}

	/** The data producers to consume are exactly these (join, or the room state after a move). */
	setPending(infos: readonly DataProducerInfo[]): void {
		this.#pending.clear();
		for (const info of infos) this.announce(info);
	}

	async consumePending(): Promise<void> {
		const transport = this.#deps.recvTransport();
		if (!transport || transport.closed) return;
		const pending = [...this.#pending.values()];
		this.#pending.clear();
		for (const info of pending) {
			await this.#consume(transport, info).catch((error: unknown) => {
				this.#deps.onError(info.dataProducerId, info.peerId, error instanceof Error ? error : new Error(String(error)));
			});
		}
	}

	async #consume(transport: msc.Transport, info: DataProducerInfo): Promise<void> {
		const answer = await this.#deps.request('consumeData', { dataProducerId: info.dataProducerId, transportId: transport.id });
		const consumer = await transport.consumeData({
			id: answer.dataConsumerId,
			dataProducerId: answer.dataProducerId,
			sctpStreamParameters: answer.sctpStreamParameters as msc.SctpStreamParameters,
			label: answer.label,
			protocol: answer.protocol,
		});
		this.#consumers.set(info.dataProducerId, consumer);
		consumer.on('message', (data: string | ArrayBuffer) => this.#deps.onData({ peerId: answer.peerId, label: answer.label, data }));
	}

	/** The remote data producer closed (or its peer left): drop its consumer. */
	closed(dataProducerId: string): void {
		this.#pending.delete(dataProducerId);
		this.#consumers.get(dataProducerId)?.close();
		this.#consumers.delete(dataProducerId);
	}

	/** The transports are gone (room moved, left): forget their channels, keep the labels. */
	reset(): void {
		for (const consumer of this.#consumers.values()) consumer.close();
		this.#consumers.clear();
		for (const label of this.#producers.keys()) this.#producers.set(label, undefined);
	}

	/** After a move: this peer's labels again on the new send transport. */
	async reopen(): Promise<void> {
		for (const label of this.#producers.keys()) await this.#produce(label);
	}
}
