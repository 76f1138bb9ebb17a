/**
 * Per-peer data channel rate, from the cumulative counters mediasoup keeps
 * for each data producer (messagesReceived, bytesReceived). The server never
 * reads the messages: it samples the counters once per window and pauses a
 * peer's data producers while its rate is over the limit (mediasoup counts
 * messages also while paused, so a peer that keeps flooding stays paused and
 * one that slows down is resumed at the next window).
 */
export type DataCounters = { messages: number; bytes: number };
export type DataRate = { messagesPerSecond: number; bytesPerSecond: number };
export type DataRateLimits = DataRate;

/**
 * The peer's rate over `elapsedMs`: the sum, over its data producers now, of
 * each one's growth since the previous sample (a producer new since then
 * counts from zero; one gone since then no longer counts).
 */
export function peerDataRate(
	previous: ReadonlyMap<string, DataCounters>,
	current: ReadonlyMap<string, DataCounters>,
	elapsedMs: number,
): DataRate {
	if (elapsedMs <= 0) return { messagesPerSecond: 0, bytesPerSecond: 0 };
	let messages = 0;
	let bytes = 0;
	for (const [id, now] of current) {
		const before = previous.get(id) ?? { messages: 0, bytes: 0 };
		// Counters only grow; a smaller one would be a different producer under a reused id.
		messages += Math.max(0, now.messages - before.messages);
		bytes += Math.max(0, now.bytes - before.bytes);
	}
	const seconds = elapsedMs / 1000;
	return { messagesPerSecond: messages / seconds, bytesPerSecond: bytes / seconds };
}

/** Over the limit when either the message rate or the byte rate is above its cap. */
export function overDataRate(rate: DataRate, limits: DataRateLimits): boolean {
	return rate.messagesPerSecond > limits.messagesPerSecond || rate.bytesPerSecond > limits.bytesPerSecond;
}
