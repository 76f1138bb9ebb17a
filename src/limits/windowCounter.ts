/**
 * Counts events per key in fixed windows (e.g. rooms created per IP per
 * minute). Expired keys are swept once per window, so memory stays bounded by
 * the keys active in one window. The clock is injectable for tests.
 */
export class WindowCounter {
	readonly #max: number;
	readonly #windowMs: number;
	readonly #now: () => number;
	readonly #windows = new Map<string, { startedAt: number; count: number }>();
	#sweptAt: number;

	constructor(max: number, windowMs: number, now: () => number = Date.now) {
		this.#max = max;
		this.#windowMs = windowMs;
		this.#now = now;
		this.#sweptAt = now();
	}

	/** Counts one event for `key`; false (and not counted) when the key's window is full. */
	tryTake(key: string): boolean {
		const now = this.#now();
		this.#sweep(now);
		let window = this.#windows.get(key);
		if (!window || now - window.startedAt >= this.#windowMs) {
			window = { startedAt: now, count: 0 };
			this.#windows.set(key, window);
		}
		if (window.count >= this.#max) return false;
		window.count += 1;
		return true;
	}

	get keys(): number {
		return this.#windows.size;
	}

	#sweep(now: number): void {
		if (now - this.#sweptAt < this.#windowMs) return;
		this.#sweptAt = now;
		for (const [key, window] of this.#windows) {
			if (now - window.startedAt >= this.#windowMs) this.#windows.delete(key);
		}
	}
}
