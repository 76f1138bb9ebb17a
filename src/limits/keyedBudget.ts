import { fullLevel, isFull, take, type Bucket, type Level } from './tokenBucket.ts';

/**
 * One token bucket per key (an address, an identity), created full on first
 * use. Keys whose bucket has refilled are forgotten at the next sweep (a full
 * bucket is what an unknown key gets anyway), so memory stays bounded by the
 * keys active within one refill time. The clock is injectable for tests.
 */
export class KeyedBudget {
	readonly #bucket: { one: Bucket };
	readonly #now: () => number;
	readonly #levels = new Map<string, { one: Level }>();
	readonly #sweepEveryMs: number;
	#sweptAt: number;

	constructor(bucket: Bucket, now: () => number = Date.now) {
		this.#bucket = { one: bucket };
		this.#now = now;
		// The time an empty bucket takes to fill: after it, every idle key is full.
		this.#sweepEveryMs = Math.max(1000, (bucket.capacity / bucket.perSecond) * 1000);
		this.#sweptAt = now();
	}

	/** Takes `cost` from `key`'s bucket; false (and nothing taken) when it holds less. */
	tryTake(key: string, cost = 1): boolean {
		const now = this.#now();
		this.#sweep(now);
		const level = this.#levels.get(key) ?? { one: fullLevel(this.#bucket.one, now) };
		const { admitted, levels } = take(this.#bucket, level, { one: cost }, now);
		this.#levels.set(key, levels);
		return admitted;
	}

	/** Keys currently remembered. */
	get keys(): number {
		return this.#levels.size;
	}

	#sweep(now: number): void {
		if (now - this.#sweptAt < this.#sweepEveryMs) return;
		this.#sweptAt = now;
		for (const [key, level] of this.#levels) {
			if (isFull(this.#bucket.one, level.one, now)) this.#levels.delete(key);
		}
	}
}
