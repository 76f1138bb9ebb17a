/** A tiny typed event emitter that runs in browsers and Node alike. */
export class Emitter<Events extends Record<string, unknown[]>> {
	readonly #listeners = new Map<keyof Events, Set<(...args: never) => void>>();

	on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): () => void {
		let set = this.#listeners.get(event);
		if (!set) this.#listeners.set(event, (set = new Set()));
		set.add(listener);
		return () => set.delete(listener);
	}

	protected emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
		for (const listener of this.#listeners.get(event) ?? []) {
			try {
				(listener as unknown as (...a: Events[E]) => void)(...args);
			} catch (error) {
				console.error(`listener for "${String(event)}" threw`, error);
			}
		}
	}
}
