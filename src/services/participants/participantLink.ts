// What drives a participant: a WebSocket connection today; a WHIP session,
// a recorder or the server API later.
import type { types as ms } from 'mediasoup';

import type { NotificationMessage, Notifications } from '../../protocol/messages.ts';
import type { RoomSeat } from '../rooms/roomSeat.ts';

/** Why a session ended from the server side; the client gets `sessionEnded` first. */
export type SessionEndReason = Notifications['sessionEnded']['reason'];

/** Delivers the participant's notifications and ends its session. */
export type ParticipantLink = {
	notify(message: NotificationMessage): void;
	end(reason: SessionEndReason): void;
};

/** Who a token says the participant is, and until when. */
export type ParticipantSession = { identity: string; expiresAt: number };

/** What a participant brings into a room. */
export type RoomEntry<Member> = {
	/** The router placement kept for it (without one: the room's home router). */
	seat?: RoomSeat<Member>;
	/** With a session it takes the token's identity as its peerId, and its session ends when the token expires. */
	session?: ParticipantSession;
	displayName?: string;
	/** What it can receive; consume needs them. */
	rtpCapabilities?: ms.RtpCapabilities;
};
