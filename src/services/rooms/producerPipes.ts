import type { types as ms } from 'mediasoup';

import { TureenError } from '../../errors.ts';

/** The router side of piping: mediasoup's pipeToRouter, and whether the router is gone. */
export type PipeSource = Pick<ms.Router, 'id' | 'closed' | 'pipeToRouter'>;
/**
 * Kernel socket buffers (bytes) asked for each pipe transport. One pipe
 * socket carries every producer piped from one worker to another, so a
 * worker that is busy, or held back by a CPU quota, for a few milliseconds
 * overflows the default 208 KiB; each packet dropped there is lost for every
 * consumer of that producer on the far worker. The bench's spread room
 * showed it (UDP RcvbufErrors only in layouts with pipes). Linux caps the
 * request at net.core.rmem_max and wmem_max (see docs/placement.md).
 */
export const PIPE_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** The pipe transports' listening side: loopback (both workers are on this machine), with large buffers. */
const PIPE_LISTEN_INFO = { protocol: 'udp', ip: '127.0.0.1', recvBufferSize: PIPE_SOCKET_BUFFER_BYTES, sendBufferSize: PIPE_SOCKET_BUFFER_BYTES } as const;

/** What to pipe: a media producer, or a data producer (SCTP over the pipe transports). */
export type Piped = { producerId: string } | { dataProducerId: string };

/**
 * Producers of one room made available on its other routers, on demand: one
 * pipe per (producer, target router), however many consumers ask at once.
 *
 * mediasoup does the rest once a pipe exists: it reuses one pipe-transport
 * pair per pair of routers, closes the pipe producer when the producer or
 * either router closes, follows pause and resume, forwards key frame requests
 * back to the publisher, and closes both halves when making a pipe fails.
 * What it does not do is refuse a second pipe of the same producer to the
 * same router; the promise map below does, and forgets a pipe when its pipe
 * producer closes or its creation failed, so the next consumer makes it anew.
 */
export class ProducerPipes {
	readonly #pipes = new Map<string, Promise<void>>();

	/** Pipes being made or open now. */
	get size(): number {
		return this.#pipes.size;
	}

	/** Resolves once the producer (or data producer) of `source` can be consumed on `target`. */
	ensure(what: Piped, source: PipeSource, target: ms.Router): Promise<void> {
		const key = 'producerId' in what ? `${what.producerId}>${target.id}` : `data:${what.dataProducerId}>${target.id}`;
		const existing = this.#pipes.get(key);
		if (existing) return existing;
		const opening = this.#open(key, what, source, target);
		this.#pipes.set(key, opening);
		return opening;
	}

	async #open(key: string, what: Piped, source: PipeSource, target: ms.Router): Promise<void> {
		const name = 'producerId' in what ? `producer ${what.producerId}` : `data producer ${what.dataProducerId}`;
		try {
			if (source.closed || target.closed) throw new TureenError('NOT_FOUND', `${name} is no longer in this room`);
			const { pipeProducer, pipeDataProducer } = await source.pipeToRouter({ ...what, router: target, listenInfo: PIPE_LISTEN_INFO });
			const forget = () => this.#pipes.delete(key);
			if (pipeProducer && !pipeProducer.closed) pipeProducer.observer.once('close', forget);
			else if (pipeDataProducer && !pipeDataProducer.closed) pipeDataProducer.observer.once('close', forget);
			else throw new TureenError('NOT_FOUND', `${name} closed`);
		} catch (error) {
			this.#pipes.delete(key);
			// mediasoup says NotFoundError/InvalidStateError when the producer or a router closed meanwhile.
			if (error instanceof TureenError) throw error;
			throw new TureenError('NOT_FOUND', `${name} could not reach your router: ${(error as Error).message}`);
		}
	}
}
