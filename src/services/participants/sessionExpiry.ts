// setTimeout's largest delay; a later expiry is re-checked when it fires.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Ends a token's session when the token expires, however far off that is. */
export class SessionExpiry {
	readonly #expired: () => void;
	#timer: NodeJS.Timeout | undefined;

	constructor(expired: () => void) {
		this.#expired = expired;
	}

	arm(expiresAt: number): void {
		this.clear();
		const delay = expiresAt - Date.now();
		this.#timer = setTimeout(
			() => {
				if (Date.now() >= expiresAt) this.#expired();
				else this.arm(expiresAt);
			},
			Math.max(0, Math.min(delay, MAX_TIMER_MS)),
		);
		this.#timer.unref();
	}

	clear(): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
	}
}
