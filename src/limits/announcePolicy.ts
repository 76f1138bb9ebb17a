/**
 * peerJoined/peerLeft to one member, coalesced (issue 21, finding 5): a
 * member is told at most once per window, and what it is told is the net
 * change since it was last told. A join then a leave of the same peer within
 * the window cancel out (the member never knew); a leave then a join becomes
 * the join (the member keeps the peer, with the name it has now). Pure: the
 * announcer (announcer.ts) keeps the queue and the timer.
 */
export type Announcement = { kind: 'joined'; peerId: string; displayName: string } | { kind: 'left'; peerId: string };

/** At most one net announcement per peer, in the order they were first queued. */
export type PendingAnnouncements = ReadonlyMap<string, Announcement>;

export function queueAnnouncement(pending: PendingAnnouncements, next: Announcement): Map<string, Announcement> {
	const queued = new Map(pending);
	const before = queued.get(next.peerId);
	if (before?.kind === 'joined' && next.kind === 'left') queued.delete(next.peerId);
	else queued.set(next.peerId, next);
	return queued;
}

/** When the next flush may happen: at once after a quiet window, else one window after the last. */
export function nextFlushAt(lastFlushAt: number | undefined, now: number, windowMs: number): number {
	if (lastFlushAt === undefined || now - lastFlushAt >= windowMs) return now;
	return lastFlushAt + windowMs;
}
