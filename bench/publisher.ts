// A publisher without a media stack: a PlainTransport with one VP8 and one
// Opus producer, fed by an RtpReplayer from this process. Made through the
// protocol (a participant's produce, on the seam's transport) for Tureen, or on
// a router directly for the raw baseline and the pipe cost.
import { randomBytes } from 'node:crypto';

import type { types as ms } from 'mediasoup';

import { AUDIO_PT, VIDEO_PT } from './rtpCapture.ts';
import { RtpReplayer, type PreparedCapture, type ReplayScheduler } from './rtpReplay.ts';

/** One replayed publisher: its two producers' ids and the replayer feeding them. */
export type BenchPublisher = {
	videoProducerId: string;
	audioProducerId: string;
	replayer: RtpReplayer;
	/** Starts sending (when created with start = false). */
	start(): void;
	close(): void;
};

/** A publisher made on a router directly (the raw baseline, the pipe cost): its producers too. */
export type RouterPublisher = BenchPublisher & { video: ms.Producer; audio: ms.Producer };

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

/** A publisher's transport: RTP in on 127.0.0.1, RTCP back to wherever it came from. */
export const PUBLISHER_TRANSPORT: ms.PlainTransportOptions = {
	listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
	rtcpMux: true,
	comedia: true,
};

/** Makes a producer of `kind` with these RTP parameters on the publisher's transport; its id. */
export type Produce = (kind: 'audio' | 'video', rtpParameters: ms.RtpParameters) => Promise<string>;

/**
 * One replayed publisher: a VP8 and an Opus producer (new SSRCs) made by
 * `produce` on a transport listening at `target`, and the replayer sending
 * there. `close` undoes what `produce` made.
 */
export async function startPublisher(
	target: { ip: string; port: number },
	produce: Produce,
	replay: { scheduler: ReplayScheduler; prepared: PreparedCapture; phase: number; start: boolean },
	close: () => void,
): Promise<BenchPublisher> {
	const videoSsrc = nextSsrc++;
	const audioSsrc = nextSsrc++;
	const videoProducerId = await produce('video', { codecs: [REPLAY_VP8], encodings: [{ ssrc: videoSsrc }] });
	const audioProducerId = await produce('audio', {
		codecs: [{ mimeType: 'audio/opus', payloadType: AUDIO_PT, clockRate: 48000, channels: 2 }],
		encodings: [{ ssrc: audioSsrc }],
	});
	const replayer = await RtpReplayer.create(replay.prepared, target, { videoSsrc, audioSsrc, videoPt: VIDEO_PT, audioPt: AUDIO_PT }, replay.phase);
	let started = false;
	const begin = () => {
		if (started) return;
		started = true;
		replay.scheduler.add(replayer);
	};
	if (replay.start) begin();
	return {
		videoProducerId,
		audioProducerId,
		replayer,
		start: begin,
		close() {
			replay.scheduler.remove(replayer);
			close();
		},
	};
}

/** A publisher on `router` itself: a PlainTransport of its own with the two producers. */
export async function createPublisher(
	router: ms.Router,
	scheduler: ReplayScheduler,
	prepared: PreparedCapture,
	phase: number,
	start = true,
): Promise<RouterPublisher> {
	const transport = await router.createPlainTransport(PUBLISHER_TRANSPORT);
	const producers = new Map<string, ms.Producer>();
	const produce: Produce = async (kind, rtpParameters) => {
		const producer = await transport.produce({ kind, rtpParameters, appData: { bench: true } });
		producers.set(producer.id, producer);
		return producer.id;
	};
	const publisher = await startPublisher({ ip: '127.0.0.1', port: transport.tuple.localPort }, produce, { scheduler, prepared, phase, start }, () => {
		if (!transport.closed) transport.close();
	});
	return { ...publisher, video: producers.get(publisher.videoProducerId)!, audio: producers.get(publisher.audioProducerId)! };
}

/**
 * A light subscriber's transport: sending from 127.0.0.1 to a UDP `port` of
 * this machine, with SRTP AES_CM_128_HMAC_SHA1_80 unless `srtp` is false.
 */
export function sinkTransport(port: number, srtp: boolean): { options: ms.PlainTransportOptions; connect: { ip: string; port: number; srtpParameters?: ms.SrtpParameters } } {
	return {
		options: { listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false, enableSrtp: srtp, srtpCryptoSuite: 'AES_CM_128_HMAC_SHA1_80' },
		connect: {
			ip: '127.0.0.1',
			port,
			...(srtp ? { srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: randomBytes(30).toString('base64') } } : {}),
		},
	};
}

/** A light subscriber's transport on `router` itself (closed again if connecting fails). */
export async function createSinkTransport(router: ms.Router, port: number, srtp: boolean): Promise<ms.PlainTransport> {
	const { options, connect } = sinkTransport(port, srtp);
	const transport = await router.createPlainTransport(options);
	try {
		await transport.connect(connect);
	} catch (error) {
		transport.close();
		throw error;
	}
	return transport;
}
