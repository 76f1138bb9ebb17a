import type { types as ms } from 'mediasoup';

export type MediaCounts = { routers: number; transports: number; producers: number; consumers: number };

function zero(): MediaCounts {
	return { routers: 0, transports: 0, producers: 0, consumers: 0 };
}

/**
 * Live router, transport, producer and consumer counts per worker slot, kept
 * up to date from mediasoup observer events so a scrape never has to ask the
 * worker processes (dump() would cost a round trip per router).
 */
export class MediaCounter {
	readonly #slots = new Map<number, { worker: ms.Worker; counts: MediaCounts }>();
	// A router can be reached both through 'newrouter' and the catch-up list.
	readonly #watched = new WeakSet<ms.Router>();

	/**
	 * Starts counting the worker now filling a slot. A respawned slot holds a
	 * new Worker object and starts again from zero; the dead worker's late
	 * events only touch its own, no longer read, counts. `existingRouters`
	 * catches routers made on this worker before we attached (objects made
	 * on them before then are not seen).
	 */
	attach(workerId: number, worker: ms.Worker, existingRouters: Iterable<ms.Router> = []): void {
		if (this.#slots.get(workerId)?.worker === worker) return;
		const counts = zero();
		this.#slots.set(workerId, { worker, counts });
		worker.observer.on('newrouter', (router) => this.#watchRouter(router, counts));
		for (const router of existingRouters) {
			if (!router.closed) this.#watchRouter(router, counts);
		}
	}

	/** Counts for a slot's current worker; zero when the slot is empty or not yet attached. */
	countsOf(workerId: number, worker: ms.Worker | undefined): MediaCounts {
		const slot = this.#slots.get(workerId);
		return slot && worker && slot.worker === worker && !worker.closed ? { ...slot.counts } : zero();
	}

	#watchRouter(router: ms.Router, counts: MediaCounts): void {
		if (this.#watched.has(router)) return;
		this.#watched.add(router);
		counts.routers += 1;
		router.observer.once('close', () => (counts.routers -= 1));
		router.observer.on('newtransport', (transport) => {
			counts.transports += 1;
			transport.observer.once('close', () => (counts.transports -= 1));
			transport.observer.on('newproducer', (producer) => {
				counts.producers += 1;
				producer.observer.once('close', () => (counts.producers -= 1));
			});
			transport.observer.on('newconsumer', (consumer) => {
				counts.consumers += 1;
				consumer.observer.once('close', () => (counts.consumers -= 1));
			});
		});
	}
}
