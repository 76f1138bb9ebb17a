import type { types as ms } from 'mediasoup';

import { TureenError } from '../../errors.ts';
import { admitMessage, dataBuckets, fullDataLevels, type DataBudgetLimits, type DataBuckets, type DataLevels } from '../../limits/dataBudget.ts';

/** A client's data producer as the relay reads it. */
export type RelaySource = Pick<ms.DataProducer, 'id' | 'closed' | 'label' | 'protocol' | 'sctpStreamParameters'>;

/** What the other members consume instead of the client's data producer, with the client's stream options. */
export type ConsumeDataTarget = {
	dataProducerId: string;
	ordered?: boolean;
	maxPacketLifeTime?: number;
	maxRetransmits?: number;
};

/** What the relay needs from its peer. */
export type DataRelayHost = {
	/** The router the peer's data producers are on now (undefined while it is in no room). */
	router(): Pick<ms.Router, 'closed' | 'createDirectTransport'> | undefined;
	limits: DataBudgetLimits;
	now?: () => number;
};

type Relay = { producer: ms.DataProducer; options: Omit<ConsumeDataTarget, 'dataProducerId'> };

/** The client's stream options, so a relayed channel is as ordered and reliable as the one it relays. */
function streamOptions(source: RelaySource): Omit<ConsumeDataTarget, 'dataProducerId'> {
	const sctp = source.sctpStreamParameters;
	if (!sctp || sctp.ordered !== false) return { ordered: true };
	return {
		ordered: false,
		...(sctp.maxPacketLifeTime === undefined ? {} : { maxPacketLifeTime: sctp.maxPacketLifeTime }),
		...(sctp.maxRetransmits === undefined ? {} : { maxRetransmits: sctp.maxRetransmits }),
	};
}

/**
 * Every message a peer sends on a data channel passes through Node: the
 * server consumes each of the peer's data producers on a DirectTransport of
 * the peer's router, admits or drops each message against the peer's data
 * budget (dataBudget.ts), and sends the admitted ones on a data producer of
 * its own that the other members consume. Dropped messages reach nobody.
 * One per peer; the peer adds its data producers and closes it when its
 * media goes.
 */
export class PeerDataRelay {
	readonly #host: DataRelayHost;
	readonly #buckets: DataBuckets;
	readonly #now: () => number;
	#levels: DataLevels;
	#transport: Promise<ms.DirectTransport> | undefined;
	readonly #relays = new Map<string, Promise<Relay>>();
	#dropped = 0;

	constructor(host: DataRelayHost) {
		this.#host = host;
		this.#buckets = dataBuckets(host.limits);
		this.#now = host.now ?? Date.now;
		this.#levels = fullDataLevels(this.#buckets, this.#now());
	}

	/** Messages refused so far (over the budget). */
	get dropped(): number {
		return this.#dropped;
	}

	/** Starts relaying a data producer of the peer; it stops when the producer closes. */
	add(source: ms.DataProducer): void {
		const relay = this.#relay(source);
		this.#relays.set(source.id, relay);
		// A failed set-up is reported to whoever consumes it (target()); it must not go unhandled.
		relay.catch(() => undefined);
		source.observer.once('close', () => {
			this.#relays.delete(source.id);
			void relay.then(({ producer }) => producer.close()).catch(() => undefined);
		});
	}

	/** What to consume for the peer's data producer `dataProducerId`, once its relay is ready. */
	async target(dataProducerId: string): Promise<ConsumeDataTarget> {
		const relay = this.#relays.get(dataProducerId);
		if (!relay) throw new TureenError('NOT_FOUND', `no data producer ${dataProducerId} in this room`);
		const { producer, options } = await relay;
		if (producer.closed) throw new TureenError('NOT_FOUND', `data producer ${dataProducerId} closed`);
		return { dataProducerId: producer.id, ...options };
	}

	/** The peer's media went (left, moved, closed): the relays go with it. */
	close(): void {
		const transport = this.#transport;
		this.#transport = undefined;
		this.#relays.clear();
		void transport?.then((t) => t.close()).catch(() => undefined);
	}

	async #relay(source: ms.DataProducer): Promise<Relay> {
		const transport = await this.#directTransport();
		const consumer = await transport.consumeData({ dataProducerId: source.id });
		const producer = await transport
			.produceData({ label: source.label, protocol: source.protocol, appData: { relayOf: source.id } })
			.catch((error: unknown) => {
				consumer.close();
				throw error;
			});
		consumer.on('message', (message: Buffer, ppid: number) => {
			const { admitted, levels } = admitMessage(this.#buckets, this.#levels, message.byteLength, this.#now());
			this.#levels = levels;
			if (!admitted) {
				this.#dropped += 1;
				return;
			}
			if (!producer.closed) producer.send(message, ppid);
		});
		// The source closed while this was being made: the consumer closed with it.
		if (source.closed || consumer.closed) producer.close();
		consumer.observer.once('close', () => producer.close());
		return { producer, options: streamOptions(source) };
	}

	#directTransport(): Promise<ms.DirectTransport> {
		if (this.#transport) return this.#transport;
		const router = this.#host.router();
		if (!router || router.closed) return Promise.reject(new TureenError('NO_WORKER_AVAILABLE', 'the router is moving; retry after roomMoved'));
		const made = router.createDirectTransport();
		this.#transport = made;
		void made.then(
			(transport) => transport.observer.once('close', () => this.#transport === made && (this.#transport = undefined)),
			() => this.#transport === made && (this.#transport = undefined),
		);
		return made;
	}
}
