// How the client library publishes a screen share: one high-resolution
// encoding (no simulcast layers), tuned for legible text rather than motion.
import type { types as msc } from 'mediasoup-client';

/** Enough for 1080p slides and code at a few frames per second. */
export const SCREEN_MAX_BITRATE = 2_500_000;

export function screenProduceOptions(track: MediaStreamTrack): Pick<msc.ProducerOptions, 'encodings' | 'codecOptions'> {
	// "detail": under congestion the browser lowers the frame rate, not the resolution.
	if ('contentHint' in track) track.contentHint = 'detail';
	return { encodings: [{ maxBitrate: SCREEN_MAX_BITRATE }], codecOptions: { videoGoogleStartBitrate: 1000 } };
}
