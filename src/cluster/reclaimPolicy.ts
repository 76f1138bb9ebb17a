// Re-claim policy: what a node asks Redis to do should Redis turn out to
// have lost its data (restarted empty) since this node's last heartbeat. A
// pure function of what the node knew then, so every rule is tested without
// Redis; the mechanism (the generation marker and the re-claim window, kept
// atomic by the HEARTBEAT and CLAIM scripts) lives in redisScripts.ts.
//
// Why: after an empty restart the room map is empty, so any node could
// claim a room another node still hosts, and the host would then close it
// (two owners, peers cut with 4012). While the window is open no node makes
// a fresh claim; hosts re-claim their rooms with their heartbeat; the window
// closes when every node expected has heartbeated, or after graceMs.

/** What this node knew before the heartbeat that may find Redis empty. */
export type ReclaimSnapshot = {
	selfId: string;
	/** The Redis generation of this node's last heartbeat; undefined before its first one (it knows no previous Redis). */
	generation: string | undefined;
	/** The live nodes in the registry of that generation, as this node last read it (may include itself). */
	knownNodeIds: readonly string[];
};

/** Open a re-claim window: no fresh claims until every node of `expect` has heartbeated, or for graceMs at most. */
export type ReclaimPlan = { expect: string[]; graceMs: number };

/**
 * A node waits for the others this long at most (RECLAIM_GRACE_MS): a live
 * node retries Redis at least every 6.25 s (5 s backoff + 25 % jitter) and
 * heartbeats as soon as it is back, within 2 s (the command timeout); the
 * rest is margin. A node that does not come back within it is taken for dead.
 */
export const RECLAIM_GRACE_MS = 10_000;

/**
 * The window to open if Redis has lost its data, or undefined when there is
 * nobody to wait for: before this node's first heartbeat (a node that never
 * saw the previous Redis hosts no room of it), or when it knew no other node.
 */
export function reclaimPlan({ selfId, generation, knownNodeIds }: ReclaimSnapshot, graceMs: number = RECLAIM_GRACE_MS): ReclaimPlan | undefined {
	if (generation === undefined) return undefined;
	const expect = [...new Set(knownNodeIds)].filter((id) => id !== selfId).sort();
	return expect.length > 0 ? { expect, graceMs } : undefined;
}
