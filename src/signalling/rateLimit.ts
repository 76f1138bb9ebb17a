/**
 * Token bucket: `capacity` requests at once, refilled at `perSecond`.
 * The clock is injectable so tests stay deterministic.
 */
export class TokenBucket {
	readonly #capacity: number;
	readonly #perSecond: number;
	readonly #now: () => number;
	#tokens: number;
	#at: number;

	constructor(capacity: number, perSecond: number, now: () => number = Date.now) {
		this.#capacity = capacity;
		this.#perSecond = perSecond;
		this.#now = now;
		this.#tokens = capacity;
		this.#at = now();
	}

	tryTake(): boolean {
		const now = this.#now();
		this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#at) / 1000) * this.#perSecond);
		this.#at = now;
		if (this.#tokens < 1) return false;
		this.#tokens -= 1;
		return true;
	}
}
