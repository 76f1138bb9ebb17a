import { fullLevel, take, type Bucket, type Level } from '../limits/tokenBucket.ts';

/**
 * Token bucket: `capacity` requests at once, refilled at `perSecond`.
 * The clock is injectable so tests stay deterministic.
 */
export class TokenBucket {
	readonly #bucket: { one: Bucket };
	readonly #now: () => number;
	#level: { one: Level };

	constructor(capacity: number, perSecond: number, now: () => number = Date.now) {
		this.#bucket = { one: { capacity, perSecond } };
		this.#now = now;
		this.#level = { one: fullLevel(this.#bucket.one, now()) };
	}

	tryTake(): boolean {
		const { admitted, levels } = take(this.#bucket, this.#level, { one: 1 }, this.#now());
		this.#level = levels;
		return admitted;
	}
}
