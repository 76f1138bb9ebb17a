// What drives a participant: a WebSocket connection today; a WHIP session,
// a recorder or the server API later.
import type { NotificationMessage, Notifications } from '../../protocol/messages.ts';

/** Why a session ended from the server side; the client gets `sessionEnded` first. */
export type SessionEndReason = Notifications['sessionEnded']['reason'];

/** Delivers the participant's notifications and ends its session. */
export type ParticipantLink = {
	notify(message: NotificationMessage): void;
	end(reason: SessionEndReason): void;
};

/** Who a token says the participant is, and until when. */
export type ParticipantSession = { identity: string; expiresAt: number };
