// Duplicate NODE_ID policy: whether a node that finds its NODE_ID held in
// Redis by another process waits (the holder may be its own predecessor,
// killed a moment ago, whose entry lapses within the node TTL) or refuses
// to start (the holder renewed its entry: it is alive). A pure function of
// what the node observed, so every rule is tested without Redis; the
// observations come from the HEARTBEAT script (coordinator.ts).

/** One look at the holder's entry: when, and its remaining TTL then (Redis PTTL: -1 = no expiry). */
export type HolderObservation = { atMs: number; ttlMs: number };

export type NodeIdVerdict = 'wait' | 'refuse';

/**
 * Refuse once the holder is seen alive: its entry's TTL went up between two
 * looks (a heartbeat renewed it), it has no expiry, or it outlived a whole
 * node TTL (it must have been renewed). Otherwise wait and look again: an
 * entry that is not renewed lapses within nodeTtlMs and the id is free.
 */
export function nodeIdVerdict(observations: readonly HolderObservation[], nodeTtlMs: number): NodeIdVerdict {
	const first = observations[0];
	const last = observations.at(-1);
	if (!first || !last) return 'wait';
	if (observations.some((o) => o.ttlMs < 0)) return 'refuse';
	if (observations.some((o, i) => i > 0 && o.ttlMs > observations[i - 1]!.ttlMs)) return 'refuse';
	return last.atMs - first.atMs > nodeTtlMs ? 'refuse' : 'wait';
}
