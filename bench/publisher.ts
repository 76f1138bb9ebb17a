// A publisher without a client: a PlainTransport on a room's router with one
// VP8 and one Opus producer, fed by an RtpReplayer from this process.
import { randomBytes } from 'node:crypto';

import type { types as ms } from 'mediasoup';

import { AUDIO_PT, VIDEO_PT } from './rtpCapture.ts';
import { RtpReplayer, type PreparedCapture, type ReplayScheduler } from './rtpReplay.ts';

export type BenchPublisher = {
	transport: ms.PlainTransport;
	video: ms.Producer;
	audio: ms.Producer;
	replayer: RtpReplayer;
	/** Starts sending (when created with start = false). */
	start(): void;
	close(): void;
};

let nextSsrc = 100_000;

/** The replayed VP8 as a producer's codec; key-frame requests reach the replayer, which jumps to a key frame. */
export const REPLAY_VP8: ms.RtpCodecParameters = {
	mimeType: 'video/VP8',
	payloadType: VIDEO_PT,
	clockRate: 90000,
	rtcpFeedback: [
		{ type: 'nack', parameter: 'pli' },
		{ type: 'ccm', parameter: 'fir' },
	],
};

export async function createPublisher(
	router: ms.Router,
	scheduler: ReplayScheduler,
	prepared: PreparedCapture,
	phase: number,
	start = true,
): Promise<BenchPublisher> {
	const transport = await router.createPlainTransport({
		listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
		rtcpMux: true,
		comedia: true,
	});
	const videoSsrc = nextSsrc++;
	const audioSsrc = nextSsrc++;
	const video = await transport.produce({
		kind: 'video',
		rtpParameters: {
			codecs: [REPLAY_VP8],
			encodings: [{ ssrc: videoSsrc }],
		},
		appData: { bench: true },
	});
	const audio = await transport.produce({
		kind: 'audio',
		rtpParameters: {
			codecs: [{ mimeType: 'audio/opus', payloadType: AUDIO_PT, clockRate: 48000, channels: 2 }],
			encodings: [{ ssrc: audioSsrc }],
		},
		appData: { bench: true },
	});
	const replayer = await RtpReplayer.create(
		prepared,
		{ ip: '127.0.0.1', port: transport.tuple.localPort },
		{ videoSsrc, audioSsrc, videoPt: VIDEO_PT, audioPt: AUDIO_PT },
		phase,
	);
	let started = false;
	const begin = () => {
		if (started) return;
		started = true;
		scheduler.add(replayer);
	};
	if (start) begin();
	return {
		transport,
		video,
		audio,
		replayer,
		start: begin,
		close() {
			scheduler.remove(replayer);
			if (!transport.closed) transport.close();
		},
	};
}

/**
 * A light subscriber's transport: a PlainTransport on `router` sending to a
 * UDP port of this machine, with SRTP AES_CM_128_HMAC_SHA1_80 unless `srtp`
 * is false (closed again if connecting fails).
 */
export async function createSinkTransport(router: ms.Router, port: number, srtp: boolean): Promise<ms.PlainTransport> {
	const transport = await router.createPlainTransport({
		listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
		rtcpMux: true,
		comedia: false,
		enableSrtp: srtp,
		srtpCryptoSuite: 'AES_CM_128_HMAC_SHA1_80',
	});
	try {
		await transport.connect({
			ip: '127.0.0.1',
			port,
			...(srtp ? { srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: randomBytes(30).toString('base64') } } : {}),
		});
	} catch (error) {
		transport.close();
		throw error;
	}
	return transport;
}
