// When a dead worker slot is refilled: quickly at first, backing off while it
// keeps dying, and never again once it has died too often in a short window
// (a crash loop would otherwise eat the machine and flap every room on it).

export type RespawnPolicy = {
	maxDeaths: number;
	windowMs: number;
	baseDelayMs: number;
	maxDelayMs: number;
};

export const DEFAULT_RESPAWN_POLICY: RespawnPolicy = {
	maxDeaths: 5,
	windowMs: 60_000,
	baseDelayMs: 100,
	maxDelayMs: 5_000,
};

export type RespawnDecision = { respawn: true; delayMs: number } | { respawn: false };

/** The deaths (epoch ms) that still count at `now`: those inside the policy's window. */
export function recentDeaths(deaths: readonly number[], now: number, policy: RespawnPolicy): number[] {
	return deaths.filter((t) => now - t < policy.windowMs);
}

/** `deaths` are epoch ms of this slot's deaths, the latest included. */
export function decideRespawn(deaths: readonly number[], now: number, policy: RespawnPolicy): RespawnDecision {
	const recent = recentDeaths(deaths, now, policy).length;
	if (recent >= policy.maxDeaths) return { respawn: false };
	const delayMs = Math.min(policy.baseDelayMs * 2 ** Math.max(0, recent - 1), policy.maxDelayMs);
	return { respawn: true, delayMs };
}
