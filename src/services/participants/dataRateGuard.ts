import type { types as ms } from 'mediasoup';

import { overDataRate, peerDataRate, type DataCounters, type DataRateLimits } from './dataRatePolicy.ts';

/** A data producer as the guard uses it. */
export type GuardedDataProducer = Pick<ms.DataProducer, 'id' | 'closed' | 'paused' | 'getStats' | 'pause' | 'resume'>;

/** What the guard needs from the peer that owns it. */
export type DataRateGuardHost = {
	/** The peer's data producers now. */
	dataProducers(): Iterable<GuardedDataProducer>;
	/** Tells the peer its data channels are held (true) or flowing again (false). */
	throttled(paused: boolean): void;
};

export const DATA_RATE_WINDOW_MS = 1000;

/**
 * Samples a peer's data producer counters once per window while it has any,
 * pauses them all when the peer's rate is over the limit, and resumes them
 * at the first window under it. One per peer; the peer starts and stops it.
 */
export class DataRateGuard {
	readonly #host: DataRateGuardHost;
	readonly #limits: DataRateLimits;
	readonly #windowMs: number;
	readonly #now: () => number;
	#previous = new Map<string, DataCounters>();
	#sampledAt = 0;
	#timer: NodeJS.Timeout | undefined;
	#held = false;
	#checking = false;

	constructor(host: DataRateGuardHost, limits: DataRateLimits, { windowMs = DATA_RATE_WINDOW_MS, now = Date.now } = {}) {
		this.#host = host;
		this.#limits = limits;
		this.#windowMs = windowMs;
		this.#now = now;
	}

	/** Starts sampling (idempotent): call when the peer gets a data producer. */
	start(): void {
		if (this.#timer) return;
		this.#sampledAt = this.#now();
		this.#previous = new Map();
		this.#timer = setInterval(() => void this.check(), this.#windowMs);
		this.#timer.unref();
	}

	stop(): void {
		clearInterval(this.#timer);
		this.#timer = undefined;
		this.#held = false;
	}

	/** One window: sample, decide, hold or release. Runs from the timer; a check still running skips the next. */
	async check(): Promise<void> {
		if (this.#checking) return;
		this.#checking = true;
		try {
			await this.#check();
		} finally {
			this.#checking = false;
		}
	}

	async #check(): Promise<void> {
		const producers = [...this.#host.dataProducers()].filter((p) => !p.closed);
		if (producers.length === 0) return this.stop();
		const current = new Map<string, DataCounters>();
		for (const producer of producers) {
			const [stat] = await producer.getStats().catch(() => []);
			if (stat) current.set(producer.id, { messages: stat.messagesReceived, bytes: stat.bytesReceived });
		}
		const now = this.#now();
		const over = overDataRate(peerDataRate(this.#previous, current, now - this.#sampledAt), this.#limits);
		this.#previous = current;
		this.#sampledAt = now;
		const changed = over !== this.#held;
		this.#held = over;
		// Only the guard pauses data producers, so every paused one is held by it; one made while held is held too.
		const toChange = producers.filter((p) => !p.closed && p.paused !== over);
		await Promise.all(toChange.map((p) => (over ? p.pause() : p.resume()).catch(() => undefined)));
		if (!changed) return;
		this.#host.throttled(over);
	}
}
