// Proves the mediasoup worker binary is real and the right one: two workers,
// routers with the server's codecs, per-worker port ranges, resource usage,
// pipeToRouter between workers, and plain RTP crossing from one worker to the
// other. Uses mediasoup's API directly, not the server.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import type dgram from 'node:dgram';
import { existsSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';

import { MEDIA_CODECS } from '../../src/services/rooms/codecs.ts';
import { bindSocket, isBweProbe, isRtcp, sendTo } from '../support/udp.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RELEASE_DIR = `${ROOT}node_modules/mediasoup/worker/out/Release`;
const WORKER_BINARY = `${RELEASE_DIR}/mediasoup-worker`;
const WORKER_MANIFEST = `${RELEASE_DIR}/tureen-worker.json`;

const RANGES: ms.TransportPortRange[] = [
	{ min: 40000, max: 40999 },
	{ min: 41000, max: 41999 },
];

const OPUS_PT = 100;
const PRODUCER_SSRC = 0x1234_5678;

function range(i: number): ms.TransportPortRange {
	const r = RANGES[i];
	if (!r) throw new Error(`no range ${i}`);
	return r;
}

function inRange(port: number, r: ms.TransportPortRange): boolean {
	return port >= r.min && port <= r.max;
}

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A minimal RTP packet: V=2, no padding/extension/CSRC, 12-byte header + payload. */
function rtpPacket(seq: number, timestamp: number, ssrc: number, payloadType: number): Buffer {
	const packet = Buffer.alloc(12 + 20);
	packet[0] = 0x80;
	packet[1] = payloadType & 0x7f;
	packet.writeUInt16BE(seq & 0xffff, 2);
	packet.writeUInt32BE(timestamp >>> 0, 4);
	packet.writeUInt32BE(ssrc >>> 0, 8);
	// Opus TOC byte (SILK-only 20 ms, mono, one frame) followed by filler bytes.
	packet[12] = 0x08;
	packet.fill(0xab, 13);
	return packet;
}

describe('mediasoup worker binary', () => {
	const workers: ms.Worker[] = [];
	const routers: ms.Router[] = [];
	const sockets: dgram.Socket[] = [];

	before(async () => {
		for (let i = 0; i < 2; i++) {
			const worker = await mediasoup.createWorker({ logLevel: 'warn', appData: { test: i } });
			workers.push(worker);
			routers.push(await worker.createRouter({ mediaCodecs: MEDIA_CODECS }));
		}
	});

	after(() => {
		for (const socket of sockets) socket.close();
		for (const worker of workers) worker.close();
	});

	function workerAt(i: number): ms.Worker {
		const w = workers[i];
		if (!w) throw new Error(`no worker ${i}`);
		return w;
	}

	function routerAt(i: number): ms.Router {
		const r = routers[i];
		if (!r) throw new Error(`no router ${i}`);
		return r;
	}

	it('mediasoup.version is the version pinned in package.json', () => {
		const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { dependencies: Record<string, string> };
		assert.equal(mediasoup.version, pkg.dependencies.mediasoup);
		const installed = JSON.parse(readFileSync(`${ROOT}node_modules/mediasoup/package.json`, 'utf8')) as { version: string };
		assert.equal(installed.version, pkg.dependencies.mediasoup);
	});

	it('the worker binary matches tureen-worker.json (version and sha256)', (t) => {
		assert.ok(existsSync(WORKER_BINARY), `${WORKER_BINARY} exists`);
		if (!existsSync(WORKER_MANIFEST)) {
			t.skip('no tureen-worker.json beside the worker binary');
			return;
		}
		const manifest = JSON.parse(readFileSync(WORKER_MANIFEST, 'utf8')) as { mediasoupVersion: string; sha256: string };
		assert.equal(manifest.mediasoupVersion, mediasoup.version);
		const sha256 = createHash('sha256').update(readFileSync(WORKER_BINARY)).digest('hex');
		assert.equal(manifest.sha256, sha256);
	});

	it('the worker links no NSS: SRTP runs on OpenSSL, as in the prebuilt worker', (t) => {
		const custom = process.env.MEDIASOUP_WORKER_BIN;
		const binary = custom || WORKER_BINARY;
		const manifest = existsSync(WORKER_MANIFEST)
			? (JSON.parse(readFileSync(WORKER_MANIFEST, 'utf8')) as { builtBy?: string })
			: undefined;
		const builtHere = !custom && manifest?.builtBy === 'tools/offline-worker';
		const libraries = execFileSync('ldd', [binary], { encoding: 'utf8' });
		const names = libraries.match(/^\s*\S+/gm)?.map((l) => l.trim()) ?? [];
		t.diagnostic(`${binary} (${builtHere ? 'tools/offline-worker' : custom ? 'MEDIASOUP_WORKER_BIN' : 'prebuilt'}) links: ${names.join(' ')}`);
		assert.doesNotMatch(libraries, /libnss3|libnssutil3|libsrtp2\.so/);
		if (builtHere) {
			// libsrtp is linked in statically, built with crypto-library=openssl.
			assert.match(libraries, /libcrypto\.so\.3/);
			assert.ok(readFileSync(binary).includes('AES-128 counter mode using openssl'), 'libsrtp\'s OpenSSL cipher is inside');
		}
	});

	it('the running workers are separate mediasoup-worker processes of that binary', (t) => {
		const pids = workers.map((w) => w.pid);
		assert.equal(new Set(pids).size, 2);
		for (const pid of pids) {
			assert.ok(Number.isInteger(pid) && pid > 0);
			const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
			assert.match(cmdline[0] ?? '', /mediasoup-worker$/);
		}
		if (process.env.MEDIASOUP_WORKER_BIN) {
			t.diagnostic('MEDIASOUP_WORKER_BIN is set; not comparing the executable path');
			return;
		}
		for (const pid of pids) {
			assert.equal(readlinkSync(`/proc/${pid}/exe`), realpathSync(WORKER_BINARY));
		}
	});

	it('routers offer Opus, VP8 and H264', () => {
		for (const router of routers) {
			const mimeTypes = (router.rtpCapabilities.codecs ?? []).map((c) => c.mimeType.toLowerCase());
			assert.ok(mimeTypes.includes('audio/opus'));
			assert.ok(mimeTypes.includes('video/vp8'));
			assert.ok(mimeTypes.includes('video/h264'));
		}
	});

	it('worker.getResourceUsage() returns numbers', async () => {
		for (const worker of workers) {
			const usage = await worker.getResourceUsage();
			for (const key of ['ru_utime', 'ru_stime', 'ru_maxrss'] as const) {
				assert.equal(typeof usage[key], 'number', key);
				assert.ok(Number.isFinite(usage[key]) && usage[key] >= 0, key);
			}
			assert.ok(usage.ru_maxrss > 0);
		}
	});

	it('a WebRtcTransport on each worker gets ICE candidates inside that worker\'s port range', async () => {
		for (let i = 0; i < 2; i++) {
			const transport = await routerAt(i).createWebRtcTransport({
				listenInfos: [
					{ protocol: 'udp', ip: '127.0.0.1', portRange: range(i) },
					{ protocol: 'tcp', ip: '127.0.0.1', portRange: range(i) },
				],
			});
			try {
				assert.equal(transport.iceCandidates.length, 2);
				for (const candidate of transport.iceCandidates) {
					assert.equal(candidate.address, '127.0.0.1');
					assert.ok(inRange(candidate.port, range(i)), `worker ${i}: port ${candidate.port} in ${JSON.stringify(range(i))}`);
				}
			} finally {
				transport.close();
			}
		}
	});

	it('pipeToRouter with SRTP between the two workers', async () => {
		const [routerA, routerB] = [routerAt(0), routerAt(1)];
		const transport = await routerA.createPlainTransport({
			listenInfo: { protocol: 'udp', ip: '127.0.0.1', portRange: range(0) },
			comedia: true,
			rtcpMux: true,
		});
		try {
			const producer = await transport.produce({
				kind: 'audio',
				rtpParameters: {
					codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2 }],
					encodings: [{ ssrc: PRODUCER_SSRC + 1 }],
				},
			});
			const { pipeConsumer, pipeProducer } = await routerA.pipeToRouter({
				producerId: producer.id,
				router: routerB,
				enableSrtp: true,
			});
			assert.ok(pipeConsumer);
			assert.ok(pipeProducer);
			assert.equal(pipeProducer.id, producer.id);
			assert.equal(pipeProducer.kind, 'audio');
			assert.ok(routerB.canConsume({ producerId: producer.id, rtpCapabilities: routerB.rtpCapabilities }));

			const dumpA = await routerA.dump();
			const dumpB = await routerB.dump();
			assert.ok(dumpA.transportIds.length >= 2, 'router A has the plain and the pipe transport');
			assert.ok(dumpB.transportIds.length >= 1, 'router B has the pipe transport');
		} finally {
			transport.close();
		}
	});

	it('plain RTP into a producer on worker 0 arrives at a consumer on worker 1', async (t) => {
		const [routerA, routerB] = [routerAt(0), routerAt(1)];
		const sender = await bindSocket();
		sockets.push(sender);
		const receiver = await bindSocket();
		sockets.push(receiver);

		const sendTransport = await routerA.createPlainTransport({
			listenInfo: { protocol: 'udp', ip: '127.0.0.1', portRange: range(0) },
			comedia: true,
			rtcpMux: true,
		});
		const recvTransport = await routerB.createPlainTransport({
			listenInfo: { protocol: 'udp', ip: '127.0.0.1', portRange: range(1) },
			comedia: false,
			rtcpMux: true,
		});
		try {
			assert.ok(inRange(sendTransport.tuple.localPort, range(0)));
			assert.ok(inRange(recvTransport.tuple.localPort, range(1)));

			const producer = await sendTransport.produce({
				kind: 'audio',
				rtpParameters: {
					codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2 }],
					encodings: [{ ssrc: PRODUCER_SSRC }],
				},
			});
			await routerA.pipeToRouter({ producerId: producer.id, router: routerB, enableSrtp: true });

			await recvTransport.connect({ ip: '127.0.0.1', port: receiver.address().port });
			const consumer = await recvTransport.consume({
				producerId: producer.id,
				rtpCapabilities: routerB.rtpCapabilities,
				paused: false,
			});
			assert.equal(consumer.kind, 'audio');
			const consumerSsrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
			const consumerPt = consumer.rtpParameters.codecs[0]?.payloadType;
			assert.ok(consumerSsrc !== undefined && consumerPt !== undefined);

			let rtpReceived = 0;
			let matching = 0;
			receiver.on('message', (msg) => {
				if (msg.length < 12 || (msg[0]! & 0xc0) !== 0x80 || isRtcp(msg) || isBweProbe(msg)) return;
				const pt = msg[1]! & 0x7f;
				rtpReceived += 1;
				if (pt === consumerPt && msg.readUInt32BE(8) === consumerSsrc) matching += 1;
			});

			// Send 50 packets (20 ms of Opus each), then keep sending slowly until
			// something arrives; all of it bounded to about 5 s.
			const port = sendTransport.tuple.localPort;
			let seq = 1000;
			let timestamp = 960_000;
			const deadline = Date.now() + 5000;
			let sent = 0;
			while (Date.now() < deadline && (sent < 50 || rtpReceived === 0) && sent < 500) {
				await sendTo(sender, rtpPacket(seq, timestamp, PRODUCER_SSRC, OPUS_PT), port);
				seq += 1;
				timestamp += 960;
				sent += 1;
				await sleep(10);
			}
			// Let in-flight packets land (bounded).
			for (let i = 0; i < 20 && rtpReceived < sent / 2; i++) await sleep(10);

			t.diagnostic(`sent ${sent} RTP packets, received ${rtpReceived}`);
			assert.ok(rtpReceived > 0, `received ${rtpReceived} RTP packets after sending ${sent}`);
			assert.equal(matching, rtpReceived, 'every RTP packet carries the consumer\'s SSRC and payload type');

			const stats = await producer.getStats();
			assert.ok(stats.some((s) => s.packetCount > 0), 'the producer counted the packets it received');
		} finally {
			sendTransport.close();
			recvTransport.close();
		}
	});

	it('workers are independent processes: closing one leaves the other working', async () => {
		const extra = await mediasoup.createWorker({ logLevel: 'warn' });
		workers.push(extra);
		const router = await extra.createRouter({ mediaCodecs: MEDIA_CODECS });
		extra.close();
		assert.ok(extra.closed);
		assert.ok(router.closed);
		const usage = await workerAt(0).getResourceUsage();
		assert.equal(typeof usage.ru_utime, 'number');
		assert.ok(!workerAt(0).closed && !workerAt(1).closed);
	});
});
