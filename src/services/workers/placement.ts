// Room placement policy: a pure function of worker snapshots, so every rule
// can be tested without a worker. The mechanism (who gathers the snapshots,
// who marks a worker used) lives in mediasoup.ts.

export type WorkerSnapshot = {
	workerId: number;
	alive: boolean;
	draining: boolean;
	roomCount: number;
	/** Recent CPU use as a fraction of one core (0..1+). */
	cpu: number;
	/** Epoch ms of the last placement on this worker; 0 = never. */
	lastUsedAt: number;
	/**
	 * Fraction of the worker's RTC port range in use (0..1); 1 also while a
	 * transport could not get a port. Missing = 0.
	 */
	portUse?: number;
};

export type PlacementOptions = {
	/** CPU differences up to this much count as "similar" (fraction of a core). */
	cpuSimilarThreshold: number;
};

/**
 * A worker whose range is this full takes new rooms only when every other
 * worker is as full: its existing rooms still need ports for new peers.
 */
export const PORTS_NEARLY_FULL = 0.9;

/**
 * Picks the worker for a new room, or undefined when no worker may take one.
 * Rules, in order: only live, non-draining workers whose port range is not
 * full; those below PORTS_NEARLY_FULL when there are any; fewest rooms; among
 * those, the lowest CPU unless others are within the "similar" threshold of
 * it, in which case the least recently used of that similar group (ties:
 * lowest id).
 */
export function chooseWorker(
	workers: readonly WorkerSnapshot[],
	{ cpuSimilarThreshold }: PlacementOptions,
): number | undefined {
	// No eligible worker falls through every step to undefined (an early return would only repeat that).
	const eligible = workers.filter((w) => w.alive && !w.draining && (w.portUse ?? 0) < 1);
	const roomy = eligible.filter((w) => (w.portUse ?? 0) < PORTS_NEARLY_FULL);
	const candidates = roomy.length > 0 ? roomy : eligible;

	const fewestRooms = Math.min(...candidates.map((w) => w.roomCount));
	const leastRoomed = candidates.filter((w) => w.roomCount === fewestRooms);

	const lowestCpu = Math.min(...leastRoomed.map((w) => w.cpu));
	const similarCpu = leastRoomed.filter((w) => w.cpu - lowestCpu <= cpuSimilarThreshold);

	similarCpu.sort((a, b) => a.lastUsedAt - b.lastUsedAt || a.workerId - b.workerId);
	return similarCpu[0]?.workerId;
}
