/**
 * Lets one log line per key through per window: a client repeating the same
 * mistake (or hammering a limit) costs one line a minute, not one per frame.
 * The clock is injectable for tests.
 */
export class LogThrottle {
	readonly #windowMs: number;
	readonly #now: () => number;
	readonly #last = new Map<string, { at: number; suppressed: number }>();

	constructor(windowMs = 60_000, now: () => number = Date.now) {
		this.#windowMs = windowMs;
		this.#now = now;
	}

	/**
	 * undefined: stay quiet. A number: log now; it is how many lines were
	 * suppressed for this key since the last one.
	 */
	take(key: string): number | undefined {
		const now = this.#now();
		const entry = this.#last.get(key);
		if (entry && now - entry.at < this.#windowMs) {
			entry.suppressed += 1;
			return undefined;
		}
		if (this.#last.size > 1000) this.#forgetExpired(now);
		this.#last.set(key, { at: now, suppressed: 0 });
		return entry?.suppressed ?? 0;
	}

	#forgetExpired(now: number): void {
		for (const [key, entry] of this.#last) {
			if (now - entry.at >= this.#windowMs) this.#last.delete(key);
		}
	}
}
