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
};

export type PlacementOptions = {
	/** CPU differences up to this much count as "similar" (fraction of a core). */
	cpuSimilarThreshold: number;
};

/**
 * Picks the worker for a new room, or undefined when no worker may take one.
 * Rules, in order: only live, non-draining workers; fewest rooms; among those,
 * the lowest CPU unless others are within the "similar" threshold of it, in
 * which case the least recently used of that similar group (ties: lowest id).
 */
export function chooseWorker(
	workers: readonly WorkerSnapshot[],
	{ cpuSimilarThreshold }: PlacementOptions,
): number | undefined {
	// No eligible worker falls through every step to undefined (an early return would only repeat that).
	const eligible = workers.filter((w) => w.alive && !w.draining);

	const fewestRooms = Math.min(...eligible.map((w) => w.roomCount));
	const leastRoomed = eligible.filter((w) => w.roomCount === fewestRooms);

	const lowestCpu = Math.min(...leastRoomed.map((w) => w.cpu));
	const similarCpu = leastRoomed.filter((w) => w.cpu - lowestCpu <= cpuSimilarThreshold);

	similarCpu.sort((a, b) => a.lastUsedAt - b.lastUsedAt || a.workerId - b.workerId);
	return similarCpu[0]?.workerId;
}
