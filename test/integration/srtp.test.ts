// SRTP through the real worker, for each crypto suite mediasoup offers: this
// test encrypts RTP into a PlainTransport with SRTP (the producer side), the
// worker decrypts, forwards and encrypts again towards a second PlainTransport
// with SRTP (the consumer side), and this test decrypts what comes out with
// the key the worker announced. Payloads are compared byte for byte; a packet
// sealed with the wrong key must not get through. The SRTP transform on this
// side is our own (test/support/srtp.ts), so both ends check each other.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';

import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';

import { MEDIA_CODECS } from '../../src/services/rooms/codecs.ts';
import { seededRandom } from '../support/random.ts';
import { SRTP_SUITES, SrtpContext, rtpHeaderLength, srtpMasterLength } from '../support/srtp.ts';
import { bindSocket, isBweProbe, isRtcp, sendTo } from '../support/udp.ts';

const OPUS_PT = 100;
const SSRC = 0x0bad_cafe;
const PACKETS = 50;
const LISTEN: ms.TransportListenInfo = { protocol: 'udp', ip: '127.0.0.1' };

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

function randomBytes(random: () => number, length: number): Buffer {
	return Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));
}

/** Opus RTP packets with distinct payloads: a SILK 20 ms TOC byte, then 20-200 random bytes. */
function opusPackets(random: () => number): Buffer[] {
	return Array.from({ length: PACKETS }, (_, i) => {
		const header = Buffer.alloc(12);
		header[0] = 0x80;
		header[1] = OPUS_PT;
		header.writeUInt16BE(1000 + i, 2);
		header.writeUInt32BE(960 * i, 4);
		header.writeUInt32BE(SSRC, 8);
		const payload = Buffer.concat([Buffer.from([0x08]), randomBytes(random, 20 + Math.floor(random() * 181))]);
		return Buffer.concat([header, payload]);
	});
}

interface Received {
	/** Decrypted RTP payloads, in arrival order. */
	payloads: Buffer[];
	/** RTP packets that did not authenticate with the worker's announced key. */
	rejected: number;
}

describe('SRTP round trip through the worker (PlainTransport to PlainTransport)', () => {
	let worker: ms.Worker;
	let router: ms.Router;
	const sockets: dgram.Socket[] = [];

	before(async () => {
		worker = await mediasoup.createWorker({ logLevel: 'error' });
		router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
	});

	after(() => {
		for (const socket of sockets) socket.close();
		worker?.close();
	});

	/**
	 * A producer transport that expects SRTP sealed with `workerKey`, a
	 * consumer transport sending to our receiver, and the packets we send
	 * sealed with `senderKey` (the same key unless testing a wrong one).
	 */
	async function roundTrip(suite: ms.SrtpCryptoSuite, seed: number, wrongKey: boolean) {
		const random = seededRandom(seed);
		const workerKey = randomBytes(random, srtpMasterLength(suite)).toString('base64');
		const senderKey = wrongKey ? randomBytes(random, srtpMasterLength(suite)).toString('base64') : workerKey;
		const sender = await bindSocket();
		const receiver = await bindSocket();
		sockets.push(sender, receiver);

		const producerSide = await router.createPlainTransport({
			listenInfo: LISTEN,
			comedia: true,
			rtcpMux: true,
			enableSrtp: true,
			srtpCryptoSuite: suite,
		});
		const consumerSide = await router.createPlainTransport({
			listenInfo: LISTEN,
			comedia: false,
			rtcpMux: true,
			enableSrtp: true,
			srtpCryptoSuite: suite,
		});
		try {
			await producerSide.connect({ srtpParameters: { cryptoSuite: suite, keyBase64: workerKey } });
			// The key given here is for what we would send on this transport (nothing).
			await consumerSide.connect({
				ip: '127.0.0.1',
				port: receiver.address().port,
				srtpParameters: { cryptoSuite: suite, keyBase64: randomBytes(random, srtpMasterLength(suite)).toString('base64') },
			});
			const announced = consumerSide.srtpParameters;
			assert.ok(announced, 'the consumer side announces its SRTP key');
			assert.equal(announced.cryptoSuite, suite);

			const producer = await producerSide.produce({
				kind: 'audio',
				rtpParameters: {
					codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2 }],
					encodings: [{ ssrc: SSRC }],
				},
			});
			await consumerSide.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, paused: false });

			const decrypt = new SrtpContext(suite, announced.keyBase64);
			const received: Received = { payloads: [], rejected: 0 };
			receiver.on('message', (msg: Buffer) => {
				if (isRtcp(msg) || isBweProbe(msg)) return;
				const rtp = decrypt.unprotect(msg);
				if (!rtp) received.rejected += 1;
				else received.payloads.push(rtp.subarray(rtpHeaderLength(rtp)));
			});

			const packets = opusPackets(random);
			const encrypt = new SrtpContext(suite, senderKey);
			let bytesSent = 0;
			for (const packet of packets) {
				const srtp = encrypt.protect(packet);
				bytesSent += srtp.length;
				await sendTo(sender, srtp, producerSide.tuple.localPort);
				await sleep(2);
			}
			// Bounded waits: until the worker has read every byte we sent (it
			// decrypts and forwards in the same step), then until every packet
			// came out or, when none should, a short grace for any in flight.
			for (let i = 0; i < 250; i++) {
				const [stats] = await producerSide.getStats();
				if ((stats?.bytesReceived ?? 0) >= bytesSent) break;
				await sleep(20);
			}
			const grace = wrongKey ? 10 : 250;
			for (let i = 0; i < grace && received.payloads.length + received.rejected < PACKETS; i++) await sleep(20);

			const sentPayloads = packets.map((p) => p.subarray(rtpHeaderLength(p)));
			const producerStats = await producer.getStats();
			return { received, sentPayloads, producerStats };
		} finally {
			producerSide.close();
			consumerSide.close();
		}
	}

	for (const [n, suite] of SRTP_SUITES.entries()) {
		it(`${suite}: every payload comes out decryptable and byte-identical`, async (t) => {
			const { received, sentPayloads } = await roundTrip(suite, 900 + n, false);
			t.diagnostic(`${suite}: ${received.payloads.length}/${PACKETS} packets, ${received.rejected} rejected`);
			assert.equal(received.rejected, 0, 'every packet from the worker authenticates with its announced key');
			assert.equal(received.payloads.length, PACKETS);
			assert.deepEqual(received.payloads, sentPayloads);
		});
	}

	for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM'] as const) {
		it(`${suite}: packets sealed with the wrong key are dropped by the worker`, async () => {
			const { received, producerStats } = await roundTrip(suite, 950, true);
			assert.equal(received.payloads.length + received.rejected, 0, 'nothing reaches the consumer side');
			assert.ok(producerStats.every((s) => s.packetCount === 0), 'the producer counted no packet');
		});
	}
});
