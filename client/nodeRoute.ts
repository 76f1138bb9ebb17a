// How a client finds the node that hosts its room in a Tureen cluster, and
// how it gets back to one when its node goes away. On a single server none
// of this comes into play: it never answers WRONG_NODE, and a client that
// joined no cluster node never reconnects by itself.
import { SignallingError, type SignallingChannel } from './signallingChannel.ts';

/** Tries to reach a node again after the connection to a cluster node is lost. */
export const REHOME_ATTEMPTS = 12;

/** Backoff between tries: 250 ms doubling to 4 s, with jitter so a room's clients do not retry in step. */
export function rehomeDelayMs(attempt: number, random: () => number = Math.random): number {
	return Math.round(Math.min(250 * 2 ** attempt, 4000) * (0.75 + 0.5 * random()));
}

// The server decided about this client (or the client left): reconnecting would not help.
const FINAL_CLOSE_CODES = new Set([1000, 1008, 4401, 4403, 4408, 4409]);

/** Whether a lost connection to a cluster node should be re-established elsewhere (node died, drained, room relocated). */
export function shouldRehome(closeCode: number): boolean {
	return !FINAL_CLOSE_CODES.has(closeCode);
}

/** Where to try, in order: the suggested node, the URL the app gave (often a load balancer), the other nodes seen at join. */
export function candidateUrls(preferred: string | undefined, given: string, alternates: readonly string[]): string[] {
	return [...new Set([...(preferred ? [preferred] : []), given, ...alternates])];
}

/** What following a redirect needs of a channel. */
export type RoutableChannel = Pick<SignallingChannel, 'request' | 'close'>;
export type RoomChannel<C extends RoutableChannel> = { channel: C; rtpCapabilities: unknown };

/**
 * Opens a channel on `url` and asks for the room's router capabilities there
 * (which places the room when it is new). A node that does not own the room
 * answers WRONG_NODE with the owner's URL: followed once (that channel is
 * closed); a second WRONG_NODE in a row is an error, so two nodes that
 * disagree cannot bounce a client forever. On an error the last channel is
 * left open, as the caller's to keep or close.
 */
export async function openRoomChannel<C extends RoutableChannel>(
	url: string,
	request: { roomId: string; token?: string | undefined },
	open: (url: string) => Promise<C>,
): Promise<RoomChannel<C>> {
	const data = { roomId: request.roomId, ...(request.token ? { token: request.token } : {}) };
	let target = url;
	for (let hop = 0; hop < 2; hop++) {
		const channel = await open(target);
		try {
			const { rtpCapabilities } = await channel.request('getRouterRtpCapabilities', data);
			return { channel, rtpCapabilities };
		} catch (error) {
			const redirect = error instanceof SignallingError && error.code === 'WRONG_NODE' ? error.details : undefined;
			if (!redirect || !('signallingUrl' in redirect) || hop > 0) throw error;
			channel.close();
			target = redirect.signallingUrl;
		}
	}
	throw new SignallingError('WRONG_NODE', 'redirected more than once');
}
