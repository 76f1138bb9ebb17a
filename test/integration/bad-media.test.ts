// Bad media input must not take a worker down (mediasoup 3.32.1: "Fix abort
// due to big received packet"; one aborted worker ends every room on it).
// Reproduced on the 3.27.1 worker: one RTP datagram of more than 65520 bytes
// (its 65536-byte read buffer minus the 16 bytes the MID header extension
// adds when the producer rewrites the packet) aborts it (SIGABRT). Over IPv4
// UDP a datagram carries at most 65507 bytes, so that takes IPv6 (65527) or
// ICE-TCP framing (65535), hence the IPv6 run below.
// A PlainTransport with an audio producer forwarding to a second one gets,
// between two runs of valid RTP, oversized RTP and RTCP (around and above the
// MTU, the worker's 2048-byte packet buffers, up to the largest UDP datagram),
// truncated and inconsistent headers, and seeded garbage. The worker must stay
// up, answer requests, and forward the valid packets that follow. Waits are
// bounded and read the worker's own byte counters: no timing assertions.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';

import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';

import { MEDIA_CODECS } from '../../src/services/rooms/codecs.ts';
import { seededRandom } from '../support/random.ts';
import { isBweProbe, isRtcp } from '../support/udp.ts';

const OPUS_PT = 100;
const SSRC = 0x1234_5678;
/** Around the Ethernet MTU, the worker's 2048-byte in/out packet buffers, jumbo frames, and the UDP maximum. */
const SIZES = [1199, 1200, 1201, 1400, 1472, 1499, 1500, 1501, 1600, 2000, 2036, 2047, 2048, 2049, 2100, 4096, 8192, 9000, 16_384, 32_768, 65_507];
/** IPv6 UDP carries up to 65527 bytes: past the 3.27.1 worker's 65520-byte limit. */
const IPV6_SIZES = [65_519, 65_520, 65_521, 65_527];

function bindSocket(ip: string): Promise<dgram.Socket> {
	return new Promise((resolve, reject) => {
		const socket = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
		socket.once('error', reject);
		socket.bind(0, ip, () => {
			socket.off('error', reject);
			resolve(socket);
		});
	});
}

function sendTo(socket: dgram.Socket, packet: Buffer, port: number, ip: string): Promise<void> {
	return new Promise((resolve, reject) => socket.send(packet, port, ip, (error) => (error ? reject(error) : resolve())));
}

/** Whether this machine has IPv6 loopback. */
async function hasIpv6(): Promise<boolean> {
	try {
		(await bindSocket('::1')).close();
		return true;
	} catch {
		return false;
	}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function bytes(random: () => number, length: number): Buffer {
	const b = Buffer.alloc(length);
	for (let i = 0; i < length; i++) b[i] = Math.floor(random() * 256);
	return b;
}

/** A valid Opus RTP header (version 2, no padding/extension/CSRC) then `payload`. */
function rtp(seq: number, payload: Buffer, { marker = false } = {}): Buffer {
	const header = Buffer.alloc(12);
	header[0] = 0x80;
	header[1] = OPUS_PT | (marker ? 0x80 : 0);
	header.writeUInt16BE(seq & 0xffff, 2);
	header.writeUInt32BE((960 * seq) >>> 0, 4);
	header.writeUInt32BE(SSRC, 8);
	return Buffer.concat([header, payload]);
}

/** An RTCP header: version 2, `count`, packet type, length in 32-bit words minus one (as given, true or not). */
function rtcpHeader(count: number, pt: number, lengthWords: number): Buffer {
	const h = Buffer.alloc(4);
	h[0] = 0x80 | (count & 0x1f);
	h[1] = pt;
	h.writeUInt16BE(lengthWords & 0xffff, 2);
	return h;
}

/** Everything hostile, in a fixed order from a fixed seed. */
function hostilePackets(random: () => number, nextSeq: () => number, sizes: number[]): Buffer[] {
	const packets: Buffer[] = [];
	const ssrc = Buffer.alloc(4);
	ssrc.writeUInt32BE(SSRC);
	// Oversized RTP of the producer's own stream (so it is parsed and would be forwarded), with and without a marker.
	for (const size of sizes) packets.push(rtp(nextSeq(), Buffer.concat([Buffer.from([0x08]), bytes(random, size - 13)]), { marker: size % 2 === 0 }));
	// Oversized RTCP: a receiver report and a sender report whose length fields claim the whole datagram.
	for (const size of sizes) {
		const words = Math.floor(size / 4);
		packets.push(Buffer.concat([rtcpHeader(1, 201, words - 1), ssrc, bytes(random, words * 4 - 8)]));
		packets.push(Buffer.concat([rtcpHeader(0, 200, words - 1), ssrc, bytes(random, words * 4 - 8)]));
	}
	// Truncated and inconsistent RTP headers.
	const header = rtp(nextSeq(), Buffer.alloc(0));
	for (let n = 1; n < 12; n++) packets.push(header.subarray(0, n));
	const withCsrcs = Buffer.from(header);
	withCsrcs[0] = 0x8f; // 15 CSRCs announced, none there
	packets.push(withCsrcs, Buffer.concat([withCsrcs, Buffer.alloc(20)]));
	const withExtension = Buffer.concat([header, Buffer.from([0xbe, 0xde, 0xff, 0xff]), Buffer.alloc(8)]);
	withExtension[0] = 0x90; // extension announced: 65535 words, 8 bytes there
	packets.push(withExtension);
	const twoByteExt = Buffer.concat([header, Buffer.from([0x10, 0x00, 0x00, 0x02, 0x01, 0xff, 0x02, 0xff, 0x00, 0x00, 0x00, 0x00])]);
	twoByteExt[0] = 0x90; // two-byte extensions whose lengths run past the block
	packets.push(twoByteExt);
	const padded = Buffer.concat([header, Buffer.from([0x08, 0x00, 0x00, 0xff])]);
	padded[0] = 0xa0; // padding of 255 bytes announced in a 4-byte payload
	packets.push(padded);
	const zeroPad = Buffer.concat([header, Buffer.from([0x08, 0x00, 0x00, 0x00])]);
	zeroPad[0] = 0xa0; // padding length 0
	packets.push(zeroPad);
	for (const version of [0x00, 0x40, 0xc0]) {
		const v = Buffer.from(rtp(nextSeq(), Buffer.from([0x08, 1, 2, 3])));
		v[0] = version; // RTP version 0, 1, 3
		packets.push(v);
	}
	// Truncated and inconsistent RTCP: every type the worker parses, with lengths and counts that lie.
	for (const pt of [200, 201, 202, 203, 204, 205, 206, 207]) {
		packets.push(rtcpHeader(31, pt, 0)); // 31 items announced, header only
		packets.push(Buffer.concat([rtcpHeader(31, pt, 0xffff), ssrc])); // length past the datagram
		packets.push(Buffer.concat([rtcpHeader(1, pt, 2), ssrc])); // 12 bytes announced, 8 there
		packets.push(Buffer.concat([rtcpHeader(15, pt, 6), ssrc, bytes(random, 24)])); // FMT 15 (transport-cc) / garbage FCI
	}
	// Transport-wide feedback (RTPFB, FMT 15) with a huge packet status count.
	const twcc = Buffer.concat([rtcpHeader(15, 205, 4), ssrc, ssrc, Buffer.from([0x00, 0x01, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00])]);
	packets.push(twcc);
	// A compound packet whose second part claims more than is left.
	packets.push(Buffer.concat([rtcpHeader(0, 201, 1), ssrc, rtcpHeader(1, 202, 100), ssrc]));
	// Tiny datagrams and seeded garbage of every size class, some looking like RTP, some like RTCP, some like STUN/DTLS.
	packets.push(Buffer.alloc(1), Buffer.alloc(2), Buffer.alloc(3));
	for (const size of [4, 8, 12, 13, 20, 64, 200, 1000, 1500, 2048, 2049, 9000, 65_507]) {
		for (const first of [0x80, 0x81, 0x00, 0x16, 0x40]) {
			const g = bytes(random, size);
			g[0] = first;
			packets.push(g);
		}
	}
	return packets;
}

describe('bad media input keeps the worker up (plain transport)', () => {
	let worker: ms.Worker;
	let died: Error | undefined;
	const assertAlive = () => {
		assert.equal(died?.message, undefined, 'the worker died');
		assert.equal(worker.died, false);
	};
	const sockets: dgram.Socket[] = [];

	before(async () => {
		worker = await mediasoup.createWorker({ logLevel: 'none' });
		worker.on('died', (error) => {
			died = error;
		});
	});

	after(() => {
		for (const socket of sockets) socket.close();
		worker?.close();
	});

	for (const ip of ['127.0.0.1', '::1']) {
		it(`oversized and malformed RTP/RTCP over ${ip.includes(':') ? 'IPv6' : 'IPv4'}: no abort, valid packets still forwarded`, async (t) => {
			if (ip.includes(':') && !(await hasIpv6())) return t.skip('no IPv6 loopback');
			const LISTEN: ms.TransportListenInfo = { protocol: 'udp', ip };
			const random = seededRandom(4242);
			const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
			const sender = await bindSocket(ip);
			const receiver = await bindSocket(ip);
			sockets.push(sender, receiver);
			const producerSide = await router.createPlainTransport({ listenInfo: LISTEN, comedia: true, rtcpMux: true });
			const consumerSide = await router.createPlainTransport({ listenInfo: LISTEN, comedia: false, rtcpMux: true });
			await consumerSide.connect({ ip, port: receiver.address().port });
			const producer = await producerSide.produce({
				kind: 'audio',
				rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: SSRC }] },
			});
			await consumerSide.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, paused: false });

			let forwarded = 0;
			receiver.on('message', (msg: Buffer) => {
				if (!isRtcp(msg) && !isBweProbe(msg)) forwarded += 1;
			});
			let seq = 1000;
			const nextSeq = () => seq++;
			let bytesSent = 0;
			const send = async (packet: Buffer) => {
				bytesSent += packet.length;
				await sendTo(sender, packet, producerSide.tuple.localPort, ip);
			};
			/**
			 * Until the worker has read every byte sent, or its byte count stops moving (it drops
			 * some datagrams unread, and so may the kernel); bounded. The checks that matter come
			 * after valid packets sent later were forwarded, so all the bad input was processed.
			 */
			const drained = async () => {
				let last = -1;
				let still = 0;
				for (let i = 0; i < 500 && still < 10 && !died; i++) {
					const [stats] = await producerSide.getStats();
					const received = stats?.bytesReceived ?? 0;
					if (received >= bytesSent) return;
					still = received === last ? still + 1 : 0;
					last = received;
					await sleep(20);
				}
			};
			const validRun = async (count: number) => {
				const before = forwarded;
				for (let i = 0; i < count; i++) {
					await send(rtp(nextSeq(), Buffer.concat([Buffer.from([0x08]), bytes(random, 60)])));
					await sleep(2);
				}
				await drained();
				for (let i = 0; i < 250 && forwarded - before < count; i++) await sleep(20);
				return forwarded - before;
			};

			assert.equal(await validRun(20), 20, 'valid packets are forwarded before the bad input');

			const hostile = hostilePackets(random, nextSeq, ip.includes(':') ? [...SIZES, ...IPV6_SIZES] : SIZES);
			for (const [i, packet] of hostile.entries()) {
				await send(packet);
				if (i % 8 === 7) await sleep(1);
			}
			await drained();
			assertAlive();
			await worker.getResourceUsage(); // it still answers requests

			const after = await validRun(20);
			t.diagnostic(`${hostile.length} hostile datagrams (${(bytesSent / 1024).toFixed(0)} KiB in all); ${after}/20 valid packets forwarded after them`);
			assertAlive();
			assert.equal(after, 20, 'valid packets after the bad input are all forwarded');
			const [stats] = await producer.getStats();
			assert.ok((stats?.packetCount ?? 0) >= 40, `the producer counted the valid packets (${stats?.packetCount})`);
		});
	}
});
