// Records a real encoder's RTP once (ffmpeg: libvpx VP8 + libopus Opus, sent
// to two loopback UDP sockets) and caches it under bench/.cache/, so every
// run replays the same packets. A capture is a list of packets (with their
// arrival time, for the record); rtpReplay.ts turns it into frames by RTP
// timestamp and loops it.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { bindLoopbackUdp } from './loopbackUdp.ts';

export type CapturedPacket = { kind: 'audio' | 'video'; atUs: number; data: Buffer };
export type Capture = { packets: CapturedPacket[]; durationUs: number; params: CaptureParams };

export type CaptureParams = {
	/** Recorded length; the first `warmupSeconds` (the encoder's start-up, a huge first key frame) are not replayed. */
	seconds: number;
	warmupSeconds: number;
	width: number;
	height: number;
	fps: number;
	videoBitrate: string;
	audioBitrate: string;
	gop: number;
};

export const DEFAULT_CAPTURE: CaptureParams = {
	seconds: 12,
	warmupSeconds: 2,
	width: 640,
	height: 480,
	fps: 30,
	videoBitrate: '1M',
	audioBitrate: '48k',
	gop: 60,
};

export const VIDEO_PT = 96;
export const AUDIO_PT = 111;
const CAPTURE_VIDEO_SSRC = 11111111;
const CAPTURE_AUDIO_SSRC = 22222222;
const FFMPEG = process.env.FFMPEG ?? '/usr/bin/ffmpeg';
const CACHE_DIR = join(dirname(fileURLToPath(import.meta.url)), '.cache');
const CAPTURE_TIMEOUT_MS = 60_000;

function ffmpegArgs(p: CaptureParams, videoPort: number, audioPort: number, rtcpPort: number): string[] {
	const rtp = (port: number) => `rtp://127.0.0.1:${port}?pkt_size=1200&rtcpport=${rtcpPort}`;
	return [
		'-hide_banner', '-loglevel', 'error', '-nostdin',
		// No -re: encoding runs as fast as it can (the rate control follows the
		// stream's timestamps, not the wall clock), and the replay paces packets
		// by their RTP timestamps, so a 12 s capture takes a few seconds.
		'-f', 'lavfi', '-i', `testsrc2=size=${p.width}x${p.height}:rate=${p.fps},noise=alls=12:allf=t`,
		'-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
		'-map', '0:v', '-t', String(p.seconds), '-c:v', 'libvpx', '-b:v', p.videoBitrate, '-deadline', 'realtime',
		'-cpu-used', '8', '-g', String(p.gop), '-payload_type', String(VIDEO_PT), '-ssrc', String(CAPTURE_VIDEO_SSRC),
		'-f', 'rtp', rtp(videoPort),
		'-map', '1:a', '-t', String(p.seconds), '-c:a', 'libopus', '-b:a', p.audioBitrate, '-ac', '2',
		'-payload_type', String(AUDIO_PT), '-ssrc', String(CAPTURE_AUDIO_SSRC),
		'-f', 'rtp', rtp(audioPort),
	];
}

function cacheKey(p: CaptureParams): string {
	return createHash('sha256').update(JSON.stringify(p)).digest('hex').slice(0, 12);
}

/** Runs ffmpeg for `seconds` and records every RTP packet it sends. */
async function record(p: CaptureParams): Promise<Capture> {
	const video = await bindLoopbackUdp(4 * 1024 * 1024);
	const audio = await bindLoopbackUdp(4 * 1024 * 1024);
	const rtcp = await bindLoopbackUdp(4 * 1024 * 1024);
	const packets: CapturedPacket[] = [];
	const t0 = process.hrtime.bigint();
	const onPacket = (kind: 'audio' | 'video') => (data: Buffer) => {
		// RTCP (payload type 200-204 in the second byte) goes to its own port; skip any stray one.
		const pt = (data[1] ?? 0) & 0x7f;
		if (data.length < 12 || (pt !== VIDEO_PT && pt !== AUDIO_PT)) return;
		packets.push({ kind, atUs: Number((process.hrtime.bigint() - t0) / 1000n), data: Buffer.from(data) });
	};
	video.on('message', onPacket('video'));
	audio.on('message', onPacket('audio'));
	rtcp.on('message', () => undefined);
	const args = ffmpegArgs(p, video.address().port, audio.address().port, rtcp.address().port);
	try {
		await new Promise<void>((resolve, reject) => {
			const child = spawn(FFMPEG, args, { stdio: ['ignore', 'ignore', 'pipe'] });
			let stderr = '';
			child.stderr.on('data', (chunk: Buffer) => {
				stderr += chunk.toString();
			});
			const timer = setTimeout(() => child.kill('SIGKILL'), CAPTURE_TIMEOUT_MS);
			child.once('error', (error) => {
				clearTimeout(timer);
				reject(new Error(`cannot run ${FFMPEG}: ${error.message}`));
			});
			child.once('exit', (code, signal) => {
				clearTimeout(timer);
				if (code === 0) resolve();
				else reject(new Error(`ffmpeg exited with ${code ?? signal}: ${stderr.trim().slice(-500)}`));
			});
		});
		// Let the last datagrams arrive.
		await new Promise((resolve) => setTimeout(resolve, 200));
	} finally {
		video.close();
		audio.close();
		rtcp.close();
	}
	if (packets.length === 0) throw new Error('ffmpeg sent no RTP packets');
	for (const kind of ['audio', 'video'] as const) {
		const seqs = packets.filter((x) => x.kind === kind).map((x) => x.data.readUInt16BE(2));
		const gaps = seqs.slice(1).filter((seq, i) => seq !== ((seqs[i]! + 1) & 0xffff)).length;
		if (seqs.length === 0 || gaps > 0) throw new Error(`the ${kind} capture is incomplete (${seqs.length} packets, ${gaps} gaps)`);
	}
	const first = packets[0]!.atUs;
	for (const packet of packets) packet.atUs -= first;
	return { packets, durationUs: p.seconds * 1e6, params: p };
}

// File format: JSON header line, then per packet: u8 kind (0 audio, 1 video), u32 atUs, u16 length, bytes.
function encode(capture: Capture): Buffer {
	const header = Buffer.from(`${JSON.stringify({ durationUs: capture.durationUs, params: capture.params })}\n`);
	const parts: Buffer[] = [header];
	for (const packet of capture.packets) {
		const head = Buffer.alloc(7);
		head.writeUInt8(packet.kind === 'video' ? 1 : 0, 0);
		head.writeUInt32BE(packet.atUs, 1);
		head.writeUInt16BE(packet.data.length, 5);
		parts.push(head, packet.data);
	}
	return Buffer.concat(parts);
}

function decode(file: Buffer): Capture {
	const newline = file.indexOf(10);
	const header = JSON.parse(file.subarray(0, newline).toString()) as { durationUs: number; params: CaptureParams };
	const packets: CapturedPacket[] = [];
	let offset = newline + 1;
	while (offset + 7 <= file.length) {
		const kind = file.readUInt8(offset) === 1 ? 'video' : 'audio';
		const atUs = file.readUInt32BE(offset + 1);
		const length = file.readUInt16BE(offset + 5);
		packets.push({ kind, atUs, data: Buffer.from(file.subarray(offset + 7, offset + 7 + length)) });
		offset += 7 + length;
	}
	return { packets, durationUs: header.durationUs, params: header.params };
}

/** DEFAULT_CAPTURE, with BENCH_VIDEO_SIZE=<w>x<h> and BENCH_VIDEO_BITRATE (ffmpeg syntax) applied. */
export function captureParamsFromEnv(env: Record<string, string | undefined> = process.env): CaptureParams {
	const params = { ...DEFAULT_CAPTURE };
	const size = /^(\d+)x(\d+)$/.exec(env.BENCH_VIDEO_SIZE ?? '');
	if (size) {
		params.width = Number(size[1]);
		params.height = Number(size[2]);
	}
	if (env.BENCH_VIDEO_BITRATE && /^\d+[kM]?$/.test(env.BENCH_VIDEO_BITRATE)) params.videoBitrate = env.BENCH_VIDEO_BITRATE;
	return params;
}

/** The cached capture for these parameters, recorded now (about `seconds` s) if missing. */
export async function loadCapture(p: CaptureParams = captureParamsFromEnv()): Promise<{ capture: Capture; cached: boolean; path: string }> {
	const path = join(CACHE_DIR, `capture-${cacheKey(p)}.bin`);
	try {
		return { capture: decode(await readFile(path)), cached: true, path };
	} catch {
		// not cached yet
	}
	const capture = await record(p);
	await mkdir(CACHE_DIR, { recursive: true });
	await writeFile(`${path}.tmp`, encode(capture));
	await rename(`${path}.tmp`, path);
	return { capture, cached: false, path };
}
