import type { types as ms } from 'mediasoup';

import { TureenError } from '../../errors.ts';
import { MEDIA_CODECS } from './codecs.ts';

/** A mediasoup worker as far as rooms need one: it makes routers. */
export type RouterFactory = Pick<ms.Worker, 'closed' | 'createRouter'>;

/** A router for `roomId` on the worker; NO_WORKER_AVAILABLE when the worker went. */
export async function createRoomRouter(worker: RouterFactory | undefined, roomId: string): Promise<ms.Router> {
	if (!worker || worker.closed) throw new TureenError('NO_WORKER_AVAILABLE', 'the chosen worker is not alive');
	return worker.createRouter({ mediaCodecs: MEDIA_CODECS, appData: { roomId } });
}

/**
 * One of a room's routers, on one worker: the peers placed on it, and the
 * seats reserved for peers still joining (so concurrent joins see each
 * other). Counts the pipe transports and piped producers on it for /workers
 * and /metrics. Only its Room changes it.
 */
export class RoomRouter<Member = unknown> {
	readonly workerId: number;
	readonly #members = new Set<Member>();
	/** Peers being placed here that have not entered yet. */
	#reserved = 0;
	/** Resolves once the router exists; it is opened before anyone waits on it. */
	readonly ready: Promise<ms.Router>;
	#router: ms.Router | undefined;
	#pipeTransports = 0;
	#pipedProducers = 0;

	constructor(workerId: number, router: ms.Router | Promise<ms.Router>) {
		this.workerId = workerId;
		if (router instanceof Promise) {
			this.ready = router.then((made) => this.#adopt(made));
			// The creator handles a failure; this copy must not be reported as unhandled.
			this.ready.catch(() => undefined);
		} else {
			this.ready = Promise.resolve(this.#adopt(router));
		}
	}

	#adopt(router: ms.Router): ms.Router {
		this.#router = router;
		this.#countPipes(router);
		return router;
	}

	/** The router; undefined while it is still being created. */
	get router(): ms.Router | undefined {
		return this.#router;
	}

	get members(): ReadonlySet<Member> {
		return this.#members;
	}

	/** Peers here and peers on their way: what placement counts. */
	get load(): number {
		return this.#members.size + this.#reserved;
	}

	/** Keeps a place for a peer on its way here. */
	reserve(): void {
		this.#reserved += 1;
	}

	/** The peer a place was kept for arrived (then add() follows) or gave up. */
	releaseReservation(): void {
		this.#reserved -= 1;
	}

	add(member: Member): void {
		this.#members.add(member);
	}

	remove(member: Member): void {
		this.#members.delete(member);
	}

	get closed(): boolean {
		return this.#router?.closed ?? false;
	}

	get pipeTransports(): number {
		return this.#pipeTransports;
	}

	/** Producers of other routers of the room made available here. */
	get pipedProducers(): number {
		return this.#pipedProducers;
	}

	close(): void {
		if (this.#router) this.#router.close();
		else void this.ready.then((router) => router.close(), () => undefined);
	}

	#countPipes(router: ms.Router): void {
		router.observer.on('newtransport', (transport) => {
			if (transport.type !== 'pipe') return;
			this.#pipeTransports += 1;
			transport.observer.once('close', () => (this.#pipeTransports -= 1));
			transport.observer.on('newproducer', (producer) => {
				this.#pipedProducers += 1;
				producer.observer.once('close', () => (this.#pipedProducers -= 1));
			});
		});
	}
}
