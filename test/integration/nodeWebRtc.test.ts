// Self-test of test/support/nodeWebRtc.ts against raw mediasoup (no Tureen):
// one Node process sends a synthetic video + audio track through a real
// ICE/DTLS/SRTP WebRtcTransport and receives both back on a second one.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import type {
	Consumer,
	Producer,
	RtpCapabilities as ClientRtpCapabilities,
	RtpParameters as ClientRtpParameters,
	Transport,
} from 'mediasoup-client/types';

import {
	countDecodedMedia,
	createSyntheticAudioTrack,
	createSyntheticVideoTrack,
	getInboundPacketsByTrack,
	installNodeWebRtc,
	waitForInboundRtp,
	type MediaSinkCounter,
	type SyntheticTrack,
} from '../support/nodeWebRtc.ts';

const LISTEN_INFOS: ms.TransportListenInfo[] = [
	{ protocol: 'udp', ip: '127.0.0.1', portRange: { min: 45000, max: 45999 } },
];
const MEDIA_CODECS: ms.RouterRtpCodecCapability[] = [
	{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
	{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
];

const webrtc = installNodeWebRtc();

// mediasoup's RTP types name header extensions differently from
// mediasoup-client's unions, so the two aren't assignable.
const toClientCaps = (caps: ms.RtpCapabilities): ClientRtpCapabilities => caps as ClientRtpCapabilities;

let worker: ms.Worker;
let workerDeath: Promise<never>;
const cleanups: (() => void)[] = [];

before(async () => {
	worker = await mediasoup.createWorker({ logLevel: 'warn' });
	workerDeath = new Promise<never>((_, reject) => {
		worker.once('died', error => reject(new Error(`mediasoup worker died: ${error.message}`)));
	});
	workerDeath.catch(() => undefined);
});

after(() => {
	for (const cleanup of cleanups.reverse()) cleanup();
	worker?.close();
});

/** Rejects as soon as the worker dies instead of waiting for a timeout. */
function unlessWorkerDies<T>(promise: Promise<T>): Promise<T> {
	return Promise.race([promise, workerDeath]);
}

test('mediasoup-client on @roamhq/wrtc sends and receives video and audio', { timeout: 20_000 }, async () => {
	const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
	const serverSend = await router.createWebRtcTransport({ listenInfos: LISTEN_INFOS });
	const serverRecv = await router.createWebRtcTransport({ listenInfos: LISTEN_INFOS });
	const serverProducers = new Map<string, ms.Producer>();

	// Sending side.
	const sendDevice = await webrtc.createLoadedDevice(toClientCaps(router.rtpCapabilities));
	assert.ok(sendDevice.canProduce('video') && sendDevice.canProduce('audio'));
	const sendTransport: Transport = sendDevice.createSendTransport({
		id: serverSend.id,
		iceParameters: serverSend.iceParameters,
		iceCandidates: serverSend.iceCandidates,
		dtlsParameters: serverSend.dtlsParameters,
	});
	cleanups.push(() => sendTransport.close());
	sendTransport.on('connect', ({ dtlsParameters }, callback, errback) => {
		serverSend.connect({ dtlsParameters }).then(callback, errback);
	});
	sendTransport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
		serverSend
			.produce({ kind, rtpParameters })
			.then(producer => {
				serverProducers.set(producer.id, producer);
				callback({ id: producer.id });
			}, errback);
	});

	const video: SyntheticTrack = createSyntheticVideoTrack({ width: 320, height: 240, fps: 30 });
	const audio: SyntheticTrack = createSyntheticAudioTrack();
	cleanups.push(() => video.stop(), () => audio.stop());
	const videoProducer: Producer = await unlessWorkerDies(sendTransport.produce({ track: video.track }));
	const audioProducer: Producer = await unlessWorkerDies(sendTransport.produce({ track: audio.track }));

	// Receiving side.
	const recvDevice = await webrtc.createLoadedDevice(toClientCaps(router.rtpCapabilities));
	const recvTransport: Transport = recvDevice.createRecvTransport({
		id: serverRecv.id,
		iceParameters: serverRecv.iceParameters,
		iceCandidates: serverRecv.iceCandidates,
		dtlsParameters: serverRecv.dtlsParameters,
	});
	cleanups.push(() => recvTransport.close());
	recvTransport.on('connect', ({ dtlsParameters }, callback, errback) => {
		serverRecv.connect({ dtlsParameters }).then(callback, errback);
	});

	const consumers: Consumer[] = [];
	for (const producer of [videoProducer, audioProducer]) {
		const serverConsumer = await serverRecv.consume({
			producerId: producer.id,
			rtpCapabilities: recvDevice.recvRtpCapabilities as ms.RtpCapabilities,
			paused: true,
		});
		const consumer = await unlessWorkerDies(
			recvTransport.consume({
				id: serverConsumer.id,
				producerId: producer.id,
				kind: serverConsumer.kind,
				rtpParameters: serverConsumer.rtpParameters as ClientRtpParameters,
			}),
		);
		await serverConsumer.resume();
		consumers.push(consumer);
	}
	const [videoConsumer, audioConsumer] = consumers as [Consumer, Consumer];
	const sinks: MediaSinkCounter[] = [countDecodedMedia(videoConsumer.track), countDecodedMedia(audioConsumer.track)];
	cleanups.push(() => sinks.forEach(sink => sink.stop()));

	const counts = await unlessWorkerDies(
		waitForInboundRtp(
			recvTransport,
			current =>
				current.some(c => c.kind === 'video' && c.packetsReceived > 0 && (c.framesDecoded ?? 0) > 0) &&
				current.some(c => c.kind === 'audio' && c.packetsReceived > 0),
			{ timeoutMs: 10_000 },
		),
	);
	const byTrack = await getInboundPacketsByTrack(recvTransport);
	assert.ok((byTrack.get(videoConsumer.id) ?? 0) > 0, `no video packets for consumer: ${JSON.stringify(counts)}`);
	assert.ok((byTrack.get(audioConsumer.id) ?? 0) > 0, `no audio packets for consumer: ${JSON.stringify(counts)}`);

	// The media really went through mediasoup.
	for (const producer of [videoProducer, audioProducer]) {
		const serverProducer = serverProducers.get(producer.id);
		assert.ok(serverProducer, `server producer ${producer.id} missing`);
		const stats = await serverProducer.getStats();
		assert.ok(
			stats.some(stat => stat.packetCount > 0 && stat.byteCount > 0),
			`${producer.kind} producer got no RTP: ${JSON.stringify(stats)}`,
		);
	}
	// The sinks hear frames on libwebrtc's own thread: the stats can say decoded a moment before they count one.
	for (let i = 0; i < 50 && sinks[0]!.count === 0 && sinks[1]!.count === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
	assert.ok(sinks[0]!.count > 0 || sinks[1]!.count > 0, 'nothing decoded by the sinks');
});
