import type { LimitName } from '../protocol/messages.ts';

export type ConnectionCaps = { connectionsPerIp: number; connections: number };

/**
 * Open signalling connections, in total and per remote address. admit()
 * answers which cap refuses a new one, if any; release() when it closes.
 */
export class ConnectionCounter {
	readonly #caps: ConnectionCaps;
	readonly #byIp = new Map<string, number>();
	#total = 0;

	constructor(caps: ConnectionCaps) {
		this.#caps = caps;
	}

	/** Counts the connection and returns undefined, or returns the cap it would break (not counted). */
	admit(ip: string): { limit: LimitName; max: number } | undefined {
		if (this.#total >= this.#caps.connections) return { limit: 'connections', max: this.#caps.connections };
		const fromIp = this.#byIp.get(ip) ?? 0;
		if (fromIp >= this.#caps.connectionsPerIp) return { limit: 'connectionsPerIp', max: this.#caps.connectionsPerIp };
		this.#byIp.set(ip, fromIp + 1);
		this.#total += 1;
		return undefined;
	}

	release(ip: string): void {
		const fromIp = this.#byIp.get(ip) ?? 0;
		if (fromIp <= 0) return;
		this.#total -= 1;
		if (fromIp === 1) this.#byIp.delete(ip);
		else this.#byIp.set(ip, fromIp - 1);
	}

	get total(): number {
		return this.#total;
	}
}
