// Node-side WebRTC for tests and benchmarks: mediasoup-client running on
// @roamhq/wrtc (libwebrtc compiled into a Node addon), so media goes through
// real ICE, DTLS and SRTP exactly like a browser's. Deliberately free of any
// Tureen signalling: callers wire Transport 'connect'/'produce' themselves.
//
// Why globals and not a handlerFactory: mediasoup-client's Chrome111 handler
// does `new RTCPeerConnection(...)` and `new MediaStream()` on free (global)
// identifiers; a custom handlerFactory cannot hand it other constructors.
// Only those two globals are needed; everything else (tracks, sources, sinks)
// comes from the wrtc module directly.
//
// Process exit: @roamhq/wrtc 0.10.0 segfaults during Node's environment
// teardown when RTCAudioSource/RTCVideoSource objects (or PCs that carried
// their tracks) are still alive: their finalizers unref napi references
// that were already finalized. An explicit process.exit() skips that teardown,
// so installNodeWebRtc() (by default) makes a natural exit end with
// process.exit(code) from the last 'exit' listener.
import { performance } from 'node:perf_hooks';

import wrtc from '@roamhq/wrtc';
import { Device } from 'mediasoup-client';
import type { RtpCapabilities, Transport } from 'mediasoup-client/types';

/** The @roamhq/wrtc module, for anything not wrapped here. */
export { wrtc };

export type NodeWebRtc = {
	/** A new, unloaded mediasoup-client Device using the Chrome111 handler. */
	createDevice(): Device;
	/** createDevice() followed by device.load({ routerRtpCapabilities }). */
	createLoadedDevice(routerRtpCapabilities: RtpCapabilities): Promise<Device>;
};

export type InstallOptions = {
	/**
	 * End a natural process exit with process.exit(code) so wrtc's native
	 * finalizers never run (they crash with SIGSEGV, turning a passing run
	 * into exit code 139). Default true.
	 */
	exitGuard?: boolean;
};

const HANDLER_NAME = 'Chrome111';

let exitGuardInstalled = false;

function onProcessExit(code: number): void {
	// Inside an 'exit' listener process.exit() goes straight to reallyExit():
	// no second 'exit' event, and no environment teardown (no finalizers).
	process.exit(code);
}

function installExitGuard(): void {
	if (exitGuardInstalled) return;
	exitGuardInstalled = true;
	// Listeners run in registration order and process.exit() here skips the
	// ones after ours, so on a natural exit move ours to the end first.
	// (Uncaught-exception exits skip 'beforeExit' and keep the early slot.)
	process.on('exit', onProcessExit);
	process.once('beforeExit', () => {
		process.removeListener('exit', onProcessExit);
		process.on('exit', onProcessExit);
	});
}

function installGlobal(name: 'RTCPeerConnection' | 'MediaStream', value: unknown): void {
	const globals = globalThis as Record<string, unknown>;
	const current = globals[name];
	if (current === undefined) {
		globals[name] = value;
	} else if (current !== value) {
		throw new Error(`globalThis.${name} is already defined by something other than @roamhq/wrtc`);
	}
}

/**
 * Makes mediasoup-client usable in this Node process (idempotent). Puts
 * wrtc's RTCPeerConnection and MediaStream on globalThis (throws if another
 * implementation is already there) and returns Device factories.
 */
export function installNodeWebRtc(options: InstallOptions = {}): NodeWebRtc {
	installGlobal('RTCPeerConnection', wrtc.RTCPeerConnection);
	installGlobal('MediaStream', wrtc.MediaStream);
	if (options.exitGuard ?? true) installExitGuard();

	// Device.factory() would try user-agent detection, which has nothing to
	// detect in Node: always name the handler.
	const createDevice = (): Device => new Device({ handlerName: HANDLER_NAME });
	return {
		createDevice,
		async createLoadedDevice(routerRtpCapabilities) {
			const device = createDevice();
			await device.load({ routerRtpCapabilities });
			return device;
		},
	};
}

export type SyntheticTrack = {
	/** Pass to transport.produce({ track }). */
	readonly track: MediaStreamTrack;
	/** Frames (video) or 10 ms chunks (audio) handed to the source so far. */
	readonly framesSent: number;
	/** Stops the feeding timer and the track (idempotent). */
	stop(): void;
};

export type SyntheticVideoOptions = {
	width?: number;
	height?: number;
	fps?: number;
};

/**
 * A video track fed from wrtc's RTCVideoSource with I420 frames: a scrolling
 * diagonal gradient plus a moving bright square, so VP8 has real work to do.
 * Width and height must be even.
 */
export function createSyntheticVideoTrack(options: SyntheticVideoOptions = {}): SyntheticTrack {
	const width = options.width ?? 320;
	const height = options.height ?? 240;
	const fps = options.fps ?? 30;
	if (width % 2 !== 0 || height % 2 !== 0 || width <= 0 || height <= 0) {
		throw new RangeError(`I420 needs positive even dimensions, got ${width}x${height}`);
	}
	if (!(fps > 0 && fps <= 120)) throw new RangeError(`fps out of range: ${fps}`);

	const source = new wrtc.nonstandard.RTCVideoSource();
	const track = source.createTrack();
	const lumaSize = width * height;
	const chromaSize = lumaSize / 4;
	const data = new Uint8Array(lumaSize + 2 * chromaSize);
	const box = Math.max(8, Math.floor(Math.min(width, height) / 6));
	const frameIntervalMs = 1000 / fps;
	const startedAt = performance.now();
	let framesSent = 0;
	let stopped = false;

	// ramp[i] = i & 0xff, so row y of the gradient is ramp[(y + shift) & 0xff ...].
	const ramp = Uint8Array.from({ length: width + 256 }, (_, i) => i & 0xff);

	const drawFrame = (n: number): void => {
		const shift = (n * 3) & 0xff;
		for (let y = 0; y < height; y++) {
			const offset = (y + shift) & 0xff;
			data.set(ramp.subarray(offset, offset + width), y * width);
		}
		const boxX = (n * 4) % Math.max(1, width - box);
		const boxY = Math.floor(height / 2 - box / 2 + (height / 4) * Math.sin(n / 15));
		for (let y = Math.max(0, boxY); y < Math.min(height, boxY + box); y++) {
			data.fill(235, y * width + boxX, y * width + boxX + box);
		}
		data.fill((n * 2) & 0xff, lumaSize, lumaSize + chromaSize);
		data.fill(255 - ((n * 2) & 0xff), lumaSize + chromaSize);
	};

	const tick = (): void => {
		// Catch up on timer lateness by skipping frames, never by bursting.
		const due = Math.floor((performance.now() - startedAt) / frameIntervalMs) + 1;
		if (due <= framesSent) return;
		framesSent = due;
		drawFrame(due);
		source.onFrame({ width, height, data });
	};
	tick();
	const timer = setInterval(tick, Math.max(1, Math.floor(frameIntervalMs / 2)));
	timer.unref();

	return {
		track,
		get framesSent() {
			return framesSent;
		},
		stop() {
			if (stopped) return;
			stopped = true;
			clearInterval(timer);
			track.stop();
		},
	};
}

export type SyntheticAudioOptions = {
	/** Tone frequency in Hz. Default 440. */
	frequency?: number;
	/** Default 48000. */
	sampleRate?: number;
	/** Peak amplitude, 0..32767. Default 8000. */
	amplitude?: number;
};

/**
 * A mono 16-bit audio track fed from wrtc's RTCAudioSource with a sine tone in
 * 10 ms chunks (libwebrtc's frame size), paced by the clock, not the timer.
 */
export function createSyntheticAudioTrack(options: SyntheticAudioOptions = {}): SyntheticTrack {
	const frequency = options.frequency ?? 440;
	const sampleRate = options.sampleRate ?? 48000;
	const amplitude = options.amplitude ?? 8000;
	const numberOfFrames = sampleRate / 100;
	if (!Number.isInteger(numberOfFrames)) throw new RangeError(`sampleRate must be a multiple of 100: ${sampleRate}`);

	const source = new wrtc.nonstandard.RTCAudioSource();
	const track = source.createTrack();
	const samples = new Int16Array(numberOfFrames);
	const startedAt = performance.now();
	const maxBurst = 5;
	let chunksSent = 0;
	let phase = 0;
	let stopped = false;
	const phaseStep = (2 * Math.PI * frequency) / sampleRate;

	const sendChunk = (): void => {
		for (let i = 0; i < numberOfFrames; i++) {
			samples[i] = Math.round(amplitude * Math.sin(phase));
			phase += phaseStep;
		}
		phase %= 2 * Math.PI;
		source.onData({ samples, sampleRate, bitsPerSample: 16, channelCount: 1, numberOfFrames });
		chunksSent++;
	};

	const tick = (): void => {
		const due = Math.floor((performance.now() - startedAt) / 10) + 1;
		// After a long stall, drop the backlog instead of flooding the encoder.
		if (due - chunksSent > maxBurst) chunksSent = due - maxBurst;
		while (chunksSent < due) sendChunk();
	};
	tick();
	const timer = setInterval(tick, 10);
	timer.unref();

	return {
		track,
		get framesSent() {
			return chunksSent;
		},
		stop() {
			if (stopped) return;
			stopped = true;
			clearInterval(timer);
			track.stop();
		},
	};
}

export type InboundRtpCount = {
	ssrc: number;
	kind: 'audio' | 'video';
	/** MID of the m-section; equals consumer.rtpParameters.mid. */
	mid: string | undefined;
	/** The receiving track's id; mediasoup-client makes it the consumer id. */
	trackIdentifier: string | undefined;
	packetsReceived: number;
	bytesReceived: number;
	packetsLost: number;
	/** Video only. */
	framesDecoded: number | undefined;
};

/** mediasoup's bandwidth probation stream (fixed SSRC, mid 'probator'). */
const PROBATOR_SSRC = 1234;
const PROBATOR_MID = 'probator';

function toNumber(value: unknown): number {
	return typeof value === 'number' ? value : 0;
}

/**
 * One entry per 'inbound-rtp' stat of a mediasoup-client receive Transport
 * (its RTCPeerConnection's getStats()). Use this rather than
 * consumer.getStats(): RTCRtpReceiver/RTCRtpSender.getStats() are not
 * implemented in @roamhq/wrtc and throw. mediasoup's probation stream is
 * left out unless includeProbator is set.
 */
export async function getInboundRtpCounts(
	transport: Transport,
	options: { includeProbator?: boolean } = {},
): Promise<InboundRtpCount[]> {
	const report = await transport.getStats();
	const counts: InboundRtpCount[] = [];
	report.forEach((value: unknown) => {
		const stat = value as Record<string, unknown>;
		if (stat.type !== 'inbound-rtp') return;
		const ssrc = toNumber(stat.ssrc);
		const mid = typeof stat.mid === 'string' ? stat.mid : undefined;
		if (!options.includeProbator && (mid === PROBATOR_MID || ssrc === PROBATOR_SSRC)) return;
		const kind = stat.kind === 'audio' || stat.mediaType === 'audio' ? 'audio' : 'video';
		counts.push({
			ssrc,
			kind,
			mid,
			trackIdentifier: typeof stat.trackIdentifier === 'string' ? stat.trackIdentifier : undefined,
			packetsReceived: toNumber(stat.packetsReceived),
			bytesReceived: toNumber(stat.bytesReceived),
			packetsLost: toNumber(stat.packetsLost),
			framesDecoded: kind === 'video' ? toNumber(stat.framesDecoded) : undefined,
		});
	});
	return counts;
}

/** packetsReceived per consumer id (trackIdentifier), probation left out. */
export async function getInboundPacketsByTrack(transport: Transport): Promise<Map<string, number>> {
	const byTrack = new Map<string, number>();
	for (const count of await getInboundRtpCounts(transport)) {
		if (count.trackIdentifier === undefined) continue;
		byTrack.set(count.trackIdentifier, (byTrack.get(count.trackIdentifier) ?? 0) + count.packetsReceived);
	}
	return byTrack;
}

/**
 * Polls getInboundRtpCounts() until `done` returns true; rejects after
 * timeoutMs (default 10 s) with the last counts in the message.
 */
export async function waitForInboundRtp(
	transport: Transport,
	done: (counts: InboundRtpCount[]) => boolean,
	{ timeoutMs = 10_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<InboundRtpCount[]> {
	const deadline = performance.now() + timeoutMs;
	for (;;) {
		const counts = await getInboundRtpCounts(transport);
		if (done(counts)) return counts;
		if (performance.now() >= deadline) {
			throw new Error(`inbound RTP condition not met within ${timeoutMs} ms: ${JSON.stringify(counts)}`);
		}
		await new Promise<void>(resolve => setTimeout(resolve, intervalMs));
	}
}

export type MediaSinkCounter = {
	/** Decoded video frames, or 10 ms audio chunks, delivered to the sink. */
	readonly count: number;
	/** Last decoded video frame size (video only). */
	readonly lastFrameSize: { width: number; height: number } | undefined;
	stop(): void;
};

type VideoSinkFrameEvent = { frame: { width: number; height: number; data: Uint8Array } };

/**
 * Counts what actually comes out of the decoder for a received track (e.g.
 * consumer.track), through wrtc's RTCVideoSink / RTCAudioSink. Audio sinks
 * deliver libwebrtc's playout format (observed: 16 kHz mono, 10 ms chunks).
 * Call stop() before closing the transport.
 */
export function countDecodedMedia(track: MediaStreamTrack): MediaSinkCounter {
	let count = 0;
	let lastFrameSize: { width: number; height: number } | undefined;
	let stopSink: () => void;
	if (track.kind === 'video') {
		const sink = new wrtc.nonstandard.RTCVideoSink(track);
		sink.onframe = (event: VideoSinkFrameEvent) => {
			count++;
			lastFrameSize = { width: event.frame.width, height: event.frame.height };
		};
		stopSink = () => sink.stop();
	} else {
		const sink = new wrtc.nonstandard.RTCAudioSink(track);
		sink.ondata = () => {
			count++;
		};
		stopSink = () => sink.stop();
	}
	let stopped = false;
	return {
		get count() {
			return count;
		},
		get lastFrameSize() {
			return lastFrameSize;
		},
		stop() {
			if (stopped) return;
			stopped = true;
			stopSink();
		},
	};
}
