// Replays a capture (rtpCapture.ts) in a loop into one PlainTransport, as a
// live encoder would: every packet gets the publisher's SSRC, a continuous
// sequence number, a timestamp from the replay clock and (video) a continuous
// 15-bit VP8 picture id. A PLI or FIR from mediasoup makes the video jump to
// the next key frame of the capture, like an encoder answering a key-frame
// request (unless answerKeyFrameRequests is off: then only the capture's own
// key frames, every 2 s). Packets are counted per kind: the "sent" side of loss.
import type dgram from 'node:dgram';

import { bindLoopbackUdp } from './loopbackUdp.ts';
import type { Capture, CapturedPacket } from './rtpCapture.ts';

type Kind = 'audio' | 'video';

/** One frame (video) or packet (audio) of the capture, at its nominal time. */
type Frame = { packets: Buffer[]; offsetUs: number; keyFrame: boolean };

type Track = { kind: Kind; clockRate: number; frames: Frame[]; periodUs: number; frameUs: number; keyFrames: number[] };

export type PreparedCapture = { audio: Track; video: Track };

const MIN_KEYFRAME_GAP_US = 500_000;

/** Length of the VP8 payload descriptor (RFC 7741) at the start of `payload`. */
function vp8DescriptorLength(payload: Buffer): number {
	let n = 1;
	const first = payload[0] ?? 0;
	if (first & 0x80) {
		const ext = payload[1] ?? 0;
		n = 2;
		if (ext & 0x80) n += (payload[n] ?? 0) & 0x80 ? 2 : 1;
		if (ext & 0x40) n += 1;
		if (ext & 0x30) n += 1;
	}
	return n;
}

function rtpHeaderLength(packet: Buffer): number {
	const cc = (packet[0] ?? 0) & 0x0f;
	let n = 12 + 4 * cc;
	if ((packet[0] ?? 0) & 0x10) n += 4 + 4 * packet.readUInt16BE(n + 2);
	return n;
}

function isVp8KeyFrameStart(packet: Buffer): boolean {
	const payload = packet.subarray(rtpHeaderLength(packet));
	const startOfPartition0 = ((payload[0] ?? 0) & 0x10) !== 0 && ((payload[0] ?? 0) & 0x0f) === 0;
	if (!startOfPartition0) return false;
	const header = payload[vp8DescriptorLength(payload)] ?? 1;
	return (header & 0x01) === 0;
}

function prepareTrack(kind: Kind, packets: CapturedPacket[], clockRate: number): Track {
	const frames: Frame[] = [];
	let lastTs: number | undefined;
	let ts0 = 0;
	for (const { data } of packets) {
		const ts = data.readUInt32BE(4);
		if (lastTs === undefined) ts0 = ts;
		if (kind === 'audio' || ts !== lastTs) {
			const offsetUs = Math.round((((ts - ts0) >>> 0) / clockRate) * 1e6);
			frames.push({ packets: [], offsetUs, keyFrame: kind === 'video' && isVp8KeyFrameStart(data) });
		}
		frames.at(-1)!.packets.push(data);
		lastTs = ts;
	}
	const gaps = frames.slice(1).map((f, i) => f.offsetUs - frames[i]!.offsetUs).sort((a, b) => a - b);
	const frameUs = gaps[Math.floor(gaps.length / 2)] ?? 20_000;
	const periodUs = (frames.at(-1)?.offsetUs ?? 0) + frameUs;
	const keyFrames = frames.flatMap((f, i) => (f.keyFrame ? [i] : []));
	return { kind, clockRate, frames, periodUs, frameUs, keyFrames };
}

/**
 * Frames of the capture, from its first key frame after the encoder's
 * warm-up (the first, huge key frame and the rate control settling): the
 * loop then has a steady rate and starts on a key frame. Audio is trimmed
 * to the same instant (both sources start at time 0).
 */
export function prepareCapture(capture: Capture): PreparedCapture {
	const video = prepareTrack('video', capture.packets.filter((p) => p.kind === 'video'), 90000);
	const audio = prepareTrack('audio', capture.packets.filter((p) => p.kind === 'audio'), 48000);
	const warmupUs = capture.params.warmupSeconds * 1e6;
	const first = video.frames.findIndex((f) => f.keyFrame && f.offsetUs >= warmupUs - video.frameUs / 2);
	const startUs = first > 0 ? video.frames[first]!.offsetUs : 0;
	const trim = (track: Track, from: number): Track => {
		const frames = track.frames.slice(from).map((f) => ({ ...f, offsetUs: f.offsetUs - (track.frames[from]?.offsetUs ?? 0) }));
		const periodUs = (frames.at(-1)?.offsetUs ?? 0) + track.frameUs;
		return { ...track, frames, periodUs, keyFrames: frames.flatMap((f, i) => (f.keyFrame ? [i] : [])) };
	};
	const audioFrom = Math.max(0, audio.frames.findIndex((f) => f.offsetUs >= startUs));
	return { video: trim(video, Math.max(0, first)), audio: trim(audio, audioFrom) };
}

/** Packet and bitrate figures of a prepared capture. */
export function captureRates(prepared: PreparedCapture): { videoPps: number; audioPps: number; videoKbps: number } {
	const rate = (t: Track) => t.frames.reduce((n, f) => n + f.packets.length, 0) / (t.periodUs / 1e6);
	const bytes = prepared.video.frames.reduce((n, f) => n + f.packets.reduce((m, p) => m + p.length, 0), 0);
	return {
		videoPps: rate(prepared.video),
		audioPps: rate(prepared.audio),
		videoKbps: (bytes * 8) / (prepared.video.periodUs / 1e3),
	};
}

class StreamState {
	readonly track: Track;
	readonly ssrc: number;
	readonly payloadType: number;
	sent = 0;
	bytes = 0;
	/** Index into track.frames of the next frame to send. */
	position: number;
	/** Replay-clock time (us since the replay started) at which the next frame is due. */
	dueUs: number;
	seq: number;
	tsBase: number;
	pictureId: number;
	keyFrameRequested = false;
	lastKeyFrameUs = -Infinity;
	/** A simulcast layer the publisher has stopped sending (setMaxVideoLayer). */
	paused = false;

	constructor(track: Track, ssrc: number, payloadType: number, position: number, dueUs: number) {
		this.track = track;
		this.ssrc = ssrc;
		this.payloadType = payloadType;
		this.position = position;
		this.dueUs = dueUs;
		this.seq = (ssrc * 7) & 0xffff;
		this.tsBase = (ssrc * 13) >>> 0;
		this.pictureId = ssrc & 0x7fff;
	}
}

export type ReplayTarget = { ip: string; port: number };
export type ReplayStreams = { videoSsrc: number; audioSsrc: number; videoPt: number; audioPt: number };

/**
 * One publisher: a UDP socket sending looping streams to a PlainTransport:
 * one video and one audio stream, or (createSimulcast) one video stream per
 * simulcast layer.
 */
export class RtpReplayer {
	readonly #socket: dgram.Socket;
	readonly #target: ReplayTarget;
	readonly #streams: StreamState[];
	/** Video streams, smallest simulcast layer first (one without simulcast). */
	readonly #videos: StreamState[];
	/** Sub-frame offset of this publisher's frames (spreads many publishers' sends). */
	readonly #delayUs: number;
	keyFrameRequests = 0;
	/** Jump to a key frame when asked (an encoder would); off = natural key frames only. */
	answerKeyFrameRequests = true;
	#closed = false;

	private constructor(socket: dgram.Socket, target: ReplayTarget, streams: StreamState[], delayUs: number) {
		this.#socket = socket;
		this.#target = target;
		this.#streams = streams;
		this.#videos = streams.filter((s) => s.track.kind === 'video');
		this.#delayUs = delayUs;
		socket.on('message', (message) => this.#onRtcp(message));
		socket.on('error', () => undefined);
	}

	/**
	 * `phase` (0..1) picks where in the capture this publisher starts (at a key
	 * frame) and how far into the first frame interval it sends, so many
	 * publishers do not send their frames at the same instant.
	 */
	static async create(prepared: PreparedCapture, target: ReplayTarget, streams: ReplayStreams, phase: number): Promise<RtpReplayer> {
		const socket = await bindLoopbackUdp();
		const { start, delayUs } = startPoint(prepared.video, phase);
		const video = new StreamState(prepared.video, streams.videoSsrc, streams.videoPt, start, 0);
		const audioStart = Math.floor((prepared.video.frames[start]?.offsetUs ?? 0) / prepared.audio.frameUs);
		const audio = new StreamState(prepared.audio, streams.audioSsrc, streams.audioPt, audioStart % prepared.audio.frames.length, 0);
		return new RtpReplayer(socket, target, [video, audio], delayUs);
	}

	/** Video only, one stream per layer (`layers[i]` with `ssrcs[i]`, smallest first), all from one socket; no audio. */
	static async createSimulcast(layers: PreparedCapture[], target: ReplayTarget, ssrcs: number[], payloadType: number, phase: number): Promise<RtpReplayer> {
		const socket = await bindLoopbackUdp();
		const streams = layers.map((layer, i) => new StreamState(layer.video, ssrcs[i]!, payloadType, startPoint(layer.video, phase).start, 0));
		return new RtpReplayer(socket, target, streams, startPoint(layers[0]!.video, phase).delayUs);
	}

	/** Starts the clock: the first frames (a key frame for video) are due at `nowUs` plus this publisher's offset. */
	start(nowUs: number): void {
		for (const stream of this.#streams) stream.dueUs = nowUs + this.#delayUs;
	}

	get counts(): { videoSent: number; audioSent: number; videoBytes: number; audioBytes: number } {
		const sum = (kind: Kind, field: 'sent' | 'bytes') =>
			this.#streams.reduce((n, s) => n + (s.track.kind === kind ? s[field] : 0), 0);
		return { videoSent: sum('video', 'sent'), audioSent: sum('audio', 'sent'), videoBytes: sum('video', 'bytes'), audioBytes: sum('audio', 'bytes') };
	}

	/** Sends simulcast layers 0..layer only (as a publisher told by dynacast); a layer turned back on starts at a key frame. */
	setMaxVideoLayer(layer: number): void {
		for (const [i, stream] of this.#videos.entries()) {
			if (stream.paused && i <= layer) stream.keyFrameRequested = true;
			stream.paused = i > layer;
		}
	}

	/** Sends every frame due by `nowUs` (replay clock, microseconds). */
	pump(nowUs: number): void {
		if (this.#closed) return;
		for (const stream of this.#streams) {
			// After a long stall (or while a layer is off), skip ahead instead of bursting the backlog.
			if (nowUs - stream.dueUs > 200_000 || stream.paused) stream.dueUs = nowUs;
			if (stream.paused) continue;
			while (stream.dueUs <= nowUs) this.#sendFrame(stream);
		}
	}

	#sendFrame(stream: StreamState): void {
		const { track } = stream;
		if (track.kind === 'video' && stream.keyFrameRequested && stream.dueUs - stream.lastKeyFrameUs >= MIN_KEYFRAME_GAP_US) {
			stream.keyFrameRequested = false;
			const next = track.keyFrames.find((i) => i >= stream.position) ?? track.keyFrames[0];
			if (next !== undefined) stream.position = next;
		}
		const frame = track.frames[stream.position]!;
		if (frame.keyFrame) stream.lastKeyFrameUs = stream.dueUs;
		const timestamp = (stream.tsBase + Math.round((stream.dueUs * track.clockRate) / 1e6)) >>> 0;
		for (const original of frame.packets) {
			const packet = Buffer.from(original);
			packet[1] = (packet[1]! & 0x80) | stream.payloadType;
			packet.writeUInt16BE(stream.seq, 2);
			packet.writeUInt32BE(timestamp, 4);
			packet.writeUInt32BE(stream.ssrc >>> 0, 8);
			if (track.kind === 'video') {
				const at = rtpHeaderLength(packet);
				// X bit, then I bit, then M bit: a 15-bit picture id.
				if ((packet[at]! & 0x80) && (packet[at + 1]! & 0x80) && (packet[at + 2]! & 0x80)) {
					packet.writeUInt16BE(0x8000 | stream.pictureId, at + 2);
				}
			}
			stream.seq = (stream.seq + 1) & 0xffff;
			stream.sent += 1;
			stream.bytes += packet.length;
			this.#socket.send(packet, this.#target.port, this.#target.ip);
		}
		if (track.kind === 'video') stream.pictureId = (stream.pictureId + 1) & 0x7fff;
		stream.position = (stream.position + 1) % track.frames.length;
		stream.dueUs += track.frameUs;
	}

	/**
	 * RTCP from mediasoup (rtcp-mux): PLI (PT 206 FMT 1) or FIR (PT 206 FMT 4)
	 * asks the video stream it names (media SSRC; FIR: in its FCI) for a key frame.
	 */
	#onRtcp(message: Buffer): void {
		let offset = 0;
		while (offset + 4 <= message.length) {
			const fmt = message[offset]! & 0x1f;
			const pt = message[offset + 1]!;
			const length = (message.readUInt16BE(offset + 2) + 1) * 4;
			if (pt === 206 && (fmt === 1 || fmt === 4)) {
				const at = offset + (fmt === 1 ? 8 : 12);
				const ssrc = at + 4 <= message.length ? message.readUInt32BE(at) : undefined;
				const stream = this.#videos.find((s) => s.ssrc >>> 0 === ssrc) ?? this.#videos[0];
				if (this.answerKeyFrameRequests && stream) stream.keyFrameRequested = true;
				this.keyFrameRequests += 1;
			}
			offset += length;
		}
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#socket.close();
	}
}

/** Where a publisher with this `phase` starts in the track (a key frame), and its sub-frame offset. */
function startPoint(video: Track, phase: number): { start: number; delayUs: number } {
	const keys = video.keyFrames;
	const start = keys[Math.floor(phase * keys.length) % Math.max(1, keys.length)] ?? 0;
	return { start, delayUs: Math.floor(phase * 1000 * video.frameUs) % video.frameUs };
}

/**
 * Drives many replayers from one timer (every `tickMs`): cheaper than a timer
 * per publisher, and it keeps them on one replay clock.
 */
export class ReplayScheduler {
	readonly #replayers = new Set<RtpReplayer>();
	readonly #startedAt = process.hrtime.bigint();
	readonly #timer: NodeJS.Timeout;

	constructor(tickMs = 5) {
		this.#timer = setInterval(() => this.#tick(), tickMs);
	}

	nowUs(): number {
		return Number((process.hrtime.bigint() - this.#startedAt) / 1000n);
	}

	/** Starts `replayer` now (see RtpReplayer.start) and keeps it going. */
	add(replayer: RtpReplayer): void {
		this.#replayers.add(replayer);
		replayer.start(this.nowUs());
		replayer.pump(this.nowUs());
	}

	remove(replayer: RtpReplayer): void {
		this.#replayers.delete(replayer);
		replayer.close();
	}

	#tick(): void {
		const now = this.nowUs();
		for (const replayer of this.#replayers) replayer.pump(now);
	}

	close(): void {
		clearInterval(this.#timer);
		for (const replayer of this.#replayers) replayer.close();
		this.#replayers.clear();
	}
}
