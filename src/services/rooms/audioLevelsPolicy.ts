/**
 * Which audio levels to tell the room, from the AudioLevelObserver's latest
 * reading: at most once per `minIntervalMs`, and only when someone starts or
 * stops being heard or a level moved by `minChangeDb` or more, so a room of
 * steady talkers costs no notifications.
 */
export type AudioLevel = { peerId: string; volume: number };
export type AudioLevelsPolicy = { minIntervalMs: number; minChangeDb: number };
export type LevelsSent = { at: number; levels: readonly AudioLevel[] };

/**
 * One level per peer (its loudest producer), in whole dBov (-127 silence .. 0
 * loudest), ordered by peerId so equal readings compare equal.
 */
export function normalizeLevels(readings: readonly AudioLevel[]): AudioLevel[] {
	const loudest = new Map<string, number>();
	for (const { peerId, volume } of readings) {
		const v = Math.max(-127, Math.min(0, Math.round(volume)));
		loudest.set(peerId, Math.max(loudest.get(peerId) ?? -127, v));
	}
	return [...loudest].map(([peerId, volume]) => ({ peerId, volume })).sort((a, b) => a.peerId.localeCompare(b.peerId));
}

export type LevelsDecision =
	| { action: 'send'; levels: AudioLevel[] }
	/** Something changed but the last send was too recent: look again in `ms`. */
	| { action: 'wait'; ms: number }
	| { action: 'none' };

/** Whether to tell the room `readings` now, later, or not at all. */
export function decideLevels(
	last: LevelsSent | undefined,
	readings: readonly AudioLevel[],
	now: number,
	policy: AudioLevelsPolicy,
): LevelsDecision {
	const levels = normalizeLevels(readings);
	if (!changed(last?.levels ?? [], levels, policy.minChangeDb)) return { action: 'none' };
	const wait = last ? last.at + policy.minIntervalMs - now : 0;
	return wait > 0 ? { action: 'wait', ms: wait } : { action: 'send', levels };
}

function changed(before: readonly AudioLevel[], after: readonly AudioLevel[], minChangeDb: number): boolean {
	if (before.length !== after.length) return true;
	return after.some((level, i) => {
		const old = before[i];
		return !old || old.peerId !== level.peerId || Math.abs(old.volume - level.volume) >= minChangeDb;
	});
}
