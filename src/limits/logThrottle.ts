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

type WarnLogger = { warn(fields: object, message: string): void };

/**
 * Warnings about clients' mistakes and limits they hit: warn level, no stack
 * trace (the client's input is the cause, not our code), at most one line
 * per key per window, with the count of lines held back since the last.
 */
export class ClientMistakeLog {
	readonly #logger: WarnLogger;
	readonly #throttle: LogThrottle;

	constructor(logger: WarnLogger, throttle = new LogThrottle()) {
		this.#logger = logger;
		this.#throttle = throttle;
	}

	warn(key: string, fields: object, message: string): void {
		const suppressed = this.#throttle.take(key);
		if (suppressed === undefined) return;
		this.#logger.warn({ ...fields, ...(suppressed > 0 ? { suppressedSinceLast: suppressed } : {}) }, message);
	}
}
