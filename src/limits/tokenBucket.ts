/**
 * Token buckets as pure functions of a snapshot: a bucket holds at most
 * `capacity` tokens and refills at `perSecond`; taking a cost either takes it
 * from every bucket at once or from none. Over any window of t seconds a
 * bucket admits at most capacity + perSecond * t. Mechanisms (a socket's
 * request budget, a peer's data relay, per-address budgets) keep the levels
 * and the clock; this file only decides.
 */
export type Bucket = { readonly capacity: number; readonly perSecond: number };
/** A bucket's tokens as of `at` (ms). */
export type Level = { readonly tokens: number; readonly at: number };

/** A full bucket at `now`: what a key never seen (or idle long enough) has. */
export function fullLevel(bucket: Bucket, now: number): Level {
	return { tokens: bucket.capacity, at: now };
}

/** The level refilled up to `now`; a clock that went back refills nothing. */
export function refilled(bucket: Bucket, level: Level, now: number): Level {
	const elapsed = Math.max(0, now - level.at);
	return { tokens: Math.min(bucket.capacity, level.tokens + (elapsed / 1000) * bucket.perSecond), at: Math.max(now, level.at) };
}

/** True when the level is back at capacity by `now` (the key may be forgotten). */
export function isFull(bucket: Bucket, level: Level, now: number): boolean {
	return refilled(bucket, level, now).tokens >= bucket.capacity;
}

/**
 * Takes `cost[k]` from each bucket `k` when every one holds enough, else
 * nothing. The levels come back refilled either way.
 */
export function take<K extends string>(
	buckets: Readonly<Record<K, Bucket>>,
	levels: Readonly<Record<K, Level>>,
	cost: Readonly<Record<K, number>>,
	now: number,
): { admitted: boolean; levels: Record<K, Level> } {
	const keys = Object.keys(buckets) as K[];
	const next = {} as Record<K, Level>;
	for (const k of keys) next[k] = refilled(buckets[k], levels[k], now);
	const admitted = keys.every((k) => next[k].tokens >= cost[k]);
	if (admitted) {
		for (const k of keys) next[k] = { tokens: next[k].tokens - cost[k], at: next[k].at };
	}
	return { admitted, levels: next };
}
