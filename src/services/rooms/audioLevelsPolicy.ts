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
	return [...loudest].map(([peerId, volume]) => ({ peerId, volume })).sort((a, b) => (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0));
}

/** The levels to send now, or undefined when nothing worth telling changed (or it is too soon). */
export function levelsToSend(
	last: LevelsSent | undefined,
	readings: readonly AudioLevel[],
	now: number,
	policy: AudioLevelsPolicy,
): AudioLevel[] | undefined {
	const levels = normalizeLevels(readings);
	if (!last) return levels.length > 0 ? levels : undefined;
	if (now - last.at < policy.minIntervalMs) return undefined;
	if (levels.length !== last.levels.length) return levels;
	const changed = levels.some((level, i) => {
		const before = last.levels[i];
		return !before || before.peerId !== level.peerId || Math.abs(before.volume - level.volume) >= policy.minChangeDb;
	});
	return changed ? levels : undefined;
}
