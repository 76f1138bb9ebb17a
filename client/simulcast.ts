// How the client library publishes camera video: VP8 simulcast, three
// encodings at 1/4, 1/2 and full resolution, each with three temporal layers.
import type { types as msc } from 'mediasoup-client';

/**
 * Capture size for the camera. Chromium keeps three simulcast layers only
 * from 960x540 up (below that it drops the top ones), so 1280x720 gives
 * 320x180, 640x360 and 1280x720.
 */
export const CAMERA_CONSTRAINTS: MediaTrackConstraints = { width: { ideal: 1280 }, height: { ideal: 720 } };

/** Smallest encoding first: spatial layer i is encodings[i]. Bitrates a meeting would use. */
export const SIMULCAST_ENCODINGS: msc.RtpEncodingParameters[] = [
	{ rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000, scalabilityMode: 'L1T3' },
	{ rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500_000, scalabilityMode: 'L1T3' },
	{ rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1_500_000, scalabilityMode: 'L1T3' },
];

/** The divisor of each spatial layer's width, smallest layer first (matches SIMULCAST_ENCODINGS). */
export const LAYER_SCALES = SIMULCAST_ENCODINGS.map((e) => e.scaleResolutionDownBy ?? 1);

/** Start the bandwidth estimate near the middle layer rather than at WebRTC's 300 kbit/s. */
export const SIMULCAST_CODEC_OPTIONS: msc.ProducerCodecOptions = { videoGoogleStartBitrate: 1000 };

/** What `transport.produce` gets for a track: simulcast VP8 for camera video when enabled. */
export function produceOptions(
	track: MediaStreamTrack,
	simulcast: boolean,
	deviceCodecs: readonly msc.RtpCodecCapability[],
): Pick<msc.ProducerOptions, 'encodings' | 'codecOptions' | 'codec'> {
	if (!simulcast || track.kind !== 'video') return {};
	const vp8 = deviceCodecs.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
	// Without VP8 the device's default codec is sent as a single encoding.
	if (!vp8) return {};
	return { codec: vp8, encodings: SIMULCAST_ENCODINGS.map((e) => ({ ...e })), codecOptions: SIMULCAST_CODEC_OPTIONS };
}

/** Spatial layers of a consumer, from its scalability mode (`L3T3`: 3); 1 when it has none. */
export function spatialLayersOf(rtpParameters: msc.RtpParameters): number {
	const mode = rtpParameters.encodings?.[0]?.scalabilityMode ?? '';
	const match = /^[LS](\d+)/.exec(mode);
	return match ? Number(match[1]) : 1;
}
