// Node selection policy: which node of the cluster takes a new room. A pure
// function of node snapshots, like the worker policy (services/placement.ts),
// so every rule is tested without Redis. The mechanism (reading the registry,
// claiming the room) lives in cluster/coordinator.ts.

export type NodeSnapshot = {
	nodeId: string;
	/** Its heartbeat is in the registry (the TTL has not run out). */
	alive: boolean;
	/** SIGTERM received: it keeps its rooms but takes no new ones. */
	draining: boolean;
	/** NODE_REGION, when the node has one. */
	region?: string;
	/** Workers able to host a room; a node with none takes no room. */
	workersAlive: number;
	/** Rooms the room map says it owns (including rooms placed there whose first client has not arrived). */
	roomCount: number;
	/** Its MAX_ROOMS. */
	maxRooms: number;
	/** Mean CPU use of its live workers, as a fraction of one core (0..1+). */
	cpu: number;
	/** Order of the last placement on it (a cluster-wide counter, not a clock); 0 = never. */
	lastPlacedSeq: number;
};

export type NodeSelectionOptions = {
	/** CPU differences up to this much count as "similar" (fraction of a core), as for workers. */
	cpuSimilarThreshold: number;
	/** Prefer nodes of this region when one of them can take the room. */
	preferRegion?: string;
};

/** rooms / workersAlive of a compared with b's, without floating point: <0, 0 or >0. */
function compareLoad(a: NodeSnapshot, b: NodeSnapshot): number {
	return a.roomCount * b.workersAlive - b.roomCount * a.workersAlive;
}

/**
 * Picks the node for a new room, or undefined when no node may take one.
 * Rules, in order: only live, non-draining nodes with a live worker and
 * fewer rooms than their MAX_ROOMS; those of the preferred region when there
 * are any; the fewest rooms per live worker; among those, the lowest CPU
 * unless others are within the "similar" threshold of it, in which case the
 * least recently placed of that similar group (ties: lowest node id).
 */
export function chooseNode(nodes: readonly NodeSnapshot[], { cpuSimilarThreshold, preferRegion }: NodeSelectionOptions): string | undefined {
	const eligible = nodes.filter((n) => n.alive && !n.draining && n.workersAlive > 0 && n.roomCount < n.maxRooms);
	const local = eligible.filter((n) => preferRegion !== undefined && n.region === preferRegion);
	const candidates = local.length > 0 ? local : eligible;

	const lightest = candidates.reduce<NodeSnapshot | undefined>((best, n) => (best && compareLoad(best, n) <= 0 ? best : n), undefined);
	const leastLoaded = candidates.filter((n) => lightest !== undefined && compareLoad(n, lightest) === 0);

	const lowestCpu = Math.min(...leastLoaded.map((n) => n.cpu));
	const similarCpu = leastLoaded.filter((n) => n.cpu - lowestCpu <= cpuSimilarThreshold);

	similarCpu.sort((a, b) => a.lastPlacedSeq - b.lastPlacedSeq || (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
	return similarCpu[0]?.nodeId;
}
