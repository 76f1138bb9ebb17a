// Turns cumulative worker CPU times into a rate, the way `top` does.

export type CpuTimes = {
	/** Cumulative user + system CPU time in ms (from getrusage). */
	cpuMs: number;
	/** Wall clock in ms when the times were read. */
	atMs: number;
};

/** CPU used between two readings, as a fraction of one core. */
export function cpuFraction(previous: CpuTimes, current: CpuTimes): number {
	const wall = current.atMs - previous.atMs;
	if (wall <= 0) return 0;
	return Math.max(0, (current.cpuMs - previous.cpuMs) / wall);
}

/** Mean of the last `size` samples: smooth enough for placement, quick enough to follow load. */
export class MovingAverage {
	readonly #size: number;
	readonly #samples: number[] = [];

	constructor(size: number) {
		this.#size = size;
	}

	push(sample: number): void {
		this.#samples.push(sample);
		if (this.#samples.length > this.#size) this.#samples.shift();
	}

	get value(): number {
		if (this.#samples.length === 0) return 0;
		return this.#samples.reduce((sum, s) => sum + s, 0) / this.#samples.length;
	}

	reset(): void {
		this.#samples.length = 0;
	}
}
