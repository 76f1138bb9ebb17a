/**
 * A peer's outgoing bitrate cap across its consumers (issue 21, finding 2):
 * the server sends one peer at most `cap` bits per second in total, split
 * evenly over its receive transports (mediasoup caps each transport's
 * estimate; its consumers share it, dropping layers first). A transport is
 * never capped below what one audio and a small video need.
 */
export const MIN_TRANSPORT_OUTGOING_BITRATE = 100_000;

export function outgoingBitrateShare(cap: number, recvTransports: number): number {
	return Math.max(MIN_TRANSPORT_OUTGOING_BITRATE, Math.floor(cap / Math.max(1, recvTransports)));
}
