// The small quality badge on each remote tile, from the video's inbound-rtp
// statistics between two readings.

/** The fields of an RTCInboundRtpStreamStats the badge uses. */
export type InboundVideoSample = {
	frameHeight?: number;
	framesPerSecond?: number;
	packetsLost?: number;
	packetsReceived?: number;
	/** The receive transport's round-trip time (s), from its selected ICE candidate pair; shown in the title. */
	roundTripTime?: number;
};
export type QualityLevel = 'good' | 'fair' | 'poor';
export type QualityBadge = { text: string; level: QualityLevel; title: string };

/**
 * Packet loss over the interval (the counters are cumulative) decides first,
 * then the frame rate, then the resolution; no decoded frame size yet means
 * no badge.
 */
export function qualityBadge(now: InboundVideoSample, before?: InboundVideoSample): QualityBadge | undefined {
	const height = now.frameHeight;
	if (!height) return undefined;
	const lost = Math.max(0, (now.packetsLost ?? 0) - (before?.packetsLost ?? 0));
	const received = Math.max(0, (now.packetsReceived ?? 0) - (before?.packetsReceived ?? 0));
	const loss = lost / Math.max(1, lost + received);
	const fps = now.framesPerSecond ?? 0;
	const level: QualityLevel = loss > 0.05 || fps < 10 ? 'poor' : loss > 0.01 || fps < 20 || height < 360 ? 'fair' : 'good';
	const rtt = now.roundTripTime === undefined ? '' : ` · ${Math.round(now.roundTripTime * 1000)} ms RTT`;
	return { text: `${height}p`, level, title: `${height}p · ${Math.round(fps)} fps · ${(loss * 100).toFixed(1)}% loss${rtt}` };
}
