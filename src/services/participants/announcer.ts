import { nextFlushAt, queueAnnouncement, type Announcement, type PendingAnnouncements } from '../../limits/announcePolicy.ts';
import type { NotificationMessage } from '../../protocol/messages.ts';

/** What the announcer needs from its member. */
export type AnnouncerHost = {
	/** Sends a notification to the member now. */
	send(message: NotificationMessage): void;
	/** The member's room now: announcements queued in another room are dropped, not sent. */
	scope(): unknown;
	windowMs: number;
	now?: () => number;
};

function announcement(message: NotificationMessage): Announcement | undefined {
	if (message.notification === 'peerJoined') return { kind: 'joined', peerId: message.data.peerId, displayName: message.data.displayName };
	if (message.notification === 'peerLeft') return { kind: 'left', peerId: message.data.peerId };
	return undefined;
}

function toMessage(a: Announcement): NotificationMessage {
	return a.kind === 'joined'
		? { notification: 'peerJoined', data: { peerId: a.peerId, displayName: a.displayName } }
		: { notification: 'peerLeft', data: { peerId: a.peerId } };
}

/**
 * Every notification to one member passes here: peerJoined/peerLeft are
 * coalesced by announcePolicy.ts; anything else goes at once, after the
 * pending join of the peer it names (so nobody hears of a peer's producer
 * before the peer). One per member.
 */
export class Announcer {
	readonly #host: AnnouncerHost;
	readonly #now: () => number;
	#pending: PendingAnnouncements = new Map();
	#pendingScope: unknown;
	#lastFlushAt: number | undefined;
	#timer: NodeJS.Timeout | undefined;

	constructor(host: AnnouncerHost) {
		this.#host = host;
		this.#now = host.now ?? Date.now;
	}

	notify(message: NotificationMessage): void {
		const next = announcement(message);
		if (!next || this.#host.windowMs <= 0) {
			this.#sendJoinOf(message);
			return this.#host.send(message);
		}
		const scope = this.#host.scope();
		if (scope !== this.#pendingScope) this.#pending = new Map();
		this.#pendingScope = scope;
		this.#pending = queueAnnouncement(this.#pending, next);
		const at = nextFlushAt(this.#lastFlushAt, this.#now(), this.#host.windowMs);
		if (at <= this.#now()) return this.#flush();
		if (this.#timer) return;
		this.#timer = setTimeout(() => this.#flush(), at - this.#now());
		this.#timer.unref();
	}

	/** A notification naming a peer whose join is still queued: the join goes first. */
	#sendJoinOf(message: NotificationMessage): void {
		const peerId = (message.data as { peerId?: unknown }).peerId;
		const pending = typeof peerId === 'string' ? this.#pending.get(peerId) : undefined;
		if (pending?.kind !== 'joined' || this.#host.scope() !== this.#pendingScope) return;
		const rest = new Map(this.#pending);
		rest.delete(pending.peerId);
		this.#pending = rest;
		this.#host.send(toMessage(pending));
	}

	#flush(): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
		const pending = this.#pending;
		this.#pending = new Map();
		if (pending.size === 0 || this.#host.scope() !== this.#pendingScope) return;
		this.#lastFlushAt = this.#now();
		for (const a of pending.values()) this.#host.send(toMessage(a));
	}
}
