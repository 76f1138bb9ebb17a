// npm run bench -- simulcast: what simulcast with adaptive quality and dynacast
// saves. One room, 9 publishers of replayed three-layer VP8 simulcast (a real
// encoder's RTP at 320x180, 640x360 and 1280x720, the client library's
// bitrates), one subscriber consuming all nine over a PlainTransport into a
// counting UDP socket. Each round measures three views, in rotated order:
//   full       every tile at the top layer (no adaptation);
//   grid       a 3x3 grid filling a 1280x720 window (426x240 tiles);
//   thumbnails nine 320x180 tiles (a filmstrip, or a grid in a small window).
// The layer each view asks for comes from the client library's own choice
// (client/layerChoice.ts), and the publishers stop the layers nobody wants
// as the dynacast policy says (src/services/participants/dynacastPolicy.ts).
// Each publisher's layers are three single-encoding producers, and the
// subscriber consumes the one its view needs: the worker forwards exactly the
// packets a simulcast consumer at that layer forwards. (A replay cannot drive
// mediasoup's simulcast layer switching: moving a consumer up needs the
// layers' capture times from RTCP sender reports, which mediasoup did not
// derive from the replay's reports for its high-rate layers. The switching
// itself is tested with Chromium in test/e2e/simulcast.test.ts.)
// Figures: bytes/s and packets/s the subscriber receives, packets/s the
// worker forwards (consumers) and receives (producers), and worker CPU per
// forwarded packet; median and spread over rounds, ratios paired per round.
import type dgram from 'node:dgram';
import { parseArgs } from 'node:util';

import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';

import { chooseLayer, type StreamView } from '../client/layerChoice.ts';
import { LAYER_SCALES, SIMULCAST_ENCODINGS } from '../client/simulcast.ts';
import { decideDynacast, initialDynacastState } from '../src/services/participants/dynacastPolicy.ts';
import { bindLoopbackUdp, isRtp } from './loopbackUdp.ts';
import { defaultWorkerBin, describeMachine, describeWorkerBinary, workerBinaryLine } from './machineInfo.ts';
import { processCpuMs } from './procStats.ts';
import { REPLAY_VP8 } from './publisher.ts';
import { DEFAULT_CAPTURE, loadCapture, VIDEO_PT } from './rtpCapture.ts';
import { captureRates, prepareCapture, ReplayScheduler, RtpReplayer, type PreparedCapture } from './rtpReplay.ts';
import { pairedRatios, spreadOf, type Spread } from './stats.ts';

const { values } = parseArgs({
	options: {
		publishers: { type: 'string', default: '9' },
		rounds: { type: 'string', default: '3' },
		'window-s': { type: 'string', default: '4' },
		help: { type: 'boolean', short: 'h', default: false },
	},
	strict: true,
});
if (values.help) {
	console.log('usage: npm run bench -- simulcast [--publishers 9] [--rounds 3] [--window-s 4]');
	process.exit(0);
}
const PUBLISHERS = Math.max(1, Number(values.publishers));
const ROUNDS = Math.max(1, Number(values.rounds));
const WINDOW_MS = Math.max(1, Number(values['window-s'])) * 1000;
/** After a view changes: layer switches wait for a key frame, the dropped layers' scores fall. */
const SETTLE_MS = 3000;
const TOP = { width: 1280, height: 720 };

const log = (line: string) => process.stderr.write(`[bench simulcast] ${line}\n`);

type View = { name: 'full' | 'grid' | 'thumbnails'; what: string; tile: { width: number; height: number } | undefined };
const VIEWS: View[] = [
	{ name: 'full', what: 'every tile at the top layer (no adaptation)', tile: undefined },
	{ name: 'grid', what: '3x3 grid in a 1280x720 window (426x240 tiles)', tile: { width: 1280 / 3, height: 720 / 3 } },
	{ name: 'thumbnails', what: 'nine 320x180 thumbnails', tile: { width: 320, height: 180 } },
];

/** The spatial layer the client library asks for in this view. */
function layerFor(view: View): number {
	const top = SIMULCAST_ENCODINGS.length - 1;
	if (!view.tile) return top;
	const stream: StreamView = { spatialLayers: SIMULCAST_ENCODINGS.length, topWidth: TOP.width, aspect: TOP.width / TOP.height, scales: LAYER_SCALES };
	const target = chooseLayer({ visible: true, boxWidth: view.tile.width, boxHeight: view.tile.height, devicePixelRatio: 1, cover: false }, stream);
	return target.paused ? 0 : target.spatialLayer;
}

/** One capture per simulcast layer, at the client library's scale and bitrate. */
async function loadLayers(): Promise<PreparedCapture[]> {
	const layers: PreparedCapture[] = [];
	for (const encoding of SIMULCAST_ENCODINGS) {
		const scale = encoding.scaleResolutionDownBy ?? 1;
		const params = {
			...DEFAULT_CAPTURE,
			width: TOP.width / scale,
			height: TOP.height / scale,
			videoBitrate: `${Math.round((encoding.maxBitrate ?? 1_000_000) / 1000)}k`,
		};
		const { capture, cached } = await loadCapture(params);
		const prepared = prepareCapture(capture);
		const rates = captureRates(prepared);
		log(`layer ${params.width}x${params.height}: ${rates.videoPps.toFixed(0)} packets/s, ${rates.videoKbps.toFixed(0)} kbit/s${cached ? ' (cached)' : ' (recorded)'}`);
		layers.push(prepared);
	}
	return layers;
}

/** One publisher: one producer per simulcast layer (see the file comment), fed from one socket. */
type Publisher = { layers: ms.Producer[]; replayer: RtpReplayer };

let nextSsrc = 300_000;

async function createPublisher(router: ms.Router, layers: PreparedCapture[], phase: number): Promise<Publisher> {
	const transport = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
	const ssrcs = layers.map(() => nextSsrc++);
	const producers: ms.Producer[] = [];
	for (const ssrc of ssrcs) {
		producers.push(
			await transport.produce({
				kind: 'video',
				rtpParameters: {
					codecs: [REPLAY_VP8],
					encodings: [{ ssrc }],
				},
			}),
		);
	}
	const replayer = await RtpReplayer.createSimulcast(layers, { ip: '127.0.0.1', port: transport.tuple.localPort }, ssrcs, VIDEO_PT, phase);
	producers[0]!.observer.once('close', () => transport.close());
	return { layers: producers, replayer };
}

/** The subscriber's end: one UDP socket counting what its PlainTransport sends. */
async function openSink(): Promise<{ socket: dgram.Socket; counts: { packets: number; bytes: number } }> {
	const socket = await bindLoopbackUdp(4 * 1024 * 1024);
	const counts = { packets: 0, bytes: 0 };
	socket.on('message', (packet) => {
		if (!isRtp(packet)) return; // RTCP on the muxed socket
		counts.packets += 1;
		counts.bytes += packet.length;
	});
	return { socket, counts };
}

async function packetCount(entities: { getStats(): Promise<unknown[]> }[], type: 'inbound-rtp' | 'outbound-rtp'): Promise<number> {
	let total = 0;
	for (const entity of entities) {
		for (const s of (await entity.getStats()) as { type: string; packetCount?: number }[]) {
			if (s.type === type) total += s.packetCount ?? 0;
		}
	}
	return total;
}

/** The subscriber's counts and the worker's CPU at one instant (from /proc: asking the worker would cost it CPU). */
type Edge = { atMs: number; cpuMs: number; sinkBytes: number; sinkPackets: number };
type Rates = { bytesPerS: number; packetsPerS: number; forwardedPerS: number; receivedPerS: number; cpuUsPerForwarded: number };

type Setup = {
	router: ms.Router;
	scheduler: ReplayScheduler;
	layers: PreparedCapture[];
	subscriber: ms.PlainTransport;
	sink: Awaited<ReturnType<typeof openSink>>;
	worker: ms.Worker;
};

/**
 * One view, from scratch: every publisher sends the layers dynacast tells it
 * to, and the subscriber consumes each publisher's layer for the view.
 */
async function measureView(view: View, { router, scheduler, layers, subscriber, sink, worker }: Setup): Promise<Rates> {
	const layer = layerFor(view);
	// Every consumer of each publisher wants `layer`: dynacast (hold-off over) lets it send up to that.
	const wants = [{ preferredSpatialLayer: layer, paused: false }];
	const { maxSpatialLayer } = decideDynacast(wants, layers.length, initialDynacastState(layers.length), 0, { holdOffMs: 0 }).state;
	const publishers: Publisher[] = [];
	const consumers: ms.Consumer[] = [];
	try {
		for (let i = 0; i < PUBLISHERS; i++) {
			const publisher = await createPublisher(router, layers, i / PUBLISHERS);
			publisher.replayer.setMaxVideoLayer(maxSpatialLayer);
			publishers.push(publisher);
			consumers.push(await subscriber.consume({ producerId: publisher.layers[layer]!.id, rtpCapabilities: router.rtpCapabilities }));
		}
		for (const { replayer } of publishers) scheduler.add(replayer);
		await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
		// The worker's packet counters come from getStats, which the worker answers: the CPU
		// window lies inside the two getStats edges, so it holds none of that work.
		const workerCounts = async () => ({
			forwarded: await packetCount(consumers, 'outbound-rtp'),
			received: await packetCount(publishers.flatMap((p) => p.layers), 'inbound-rtp'),
		});
		const edge = (): Edge => ({ atMs: performance.now(), cpuMs: processCpuMs(worker.pid) ?? NaN, sinkBytes: sink.counts.bytes, sinkPackets: sink.counts.packets });
		const countsBefore = await workerCounts();
		const a = edge();
		await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
		const b = edge();
		const countsAfter = await workerCounts();
		const seconds = (b.atMs - a.atMs) / 1000;
		const forwarded = countsAfter.forwarded - countsBefore.forwarded;
		return {
			bytesPerS: (b.sinkBytes - a.sinkBytes) / seconds,
			packetsPerS: (b.sinkPackets - a.sinkPackets) / seconds,
			forwardedPerS: forwarded / seconds,
			receivedPerS: (countsAfter.received - countsBefore.received) / seconds,
			cpuUsPerForwarded: forwarded > 0 ? ((b.cpuMs - a.cpuMs) * 1000) / forwarded : NaN,
		};
	} finally {
		for (const { replayer, layers: producers } of publishers) {
			scheduler.remove(replayer);
			for (const producer of producers) producer.close();
		}
	}
}

async function main(): Promise<void> {
	const workerBin = defaultWorkerBin();
	const layers = await loadLayers();
	// The same port knob as `npm run bench` (bench/README.md).
	const rtcMinPort = Number(process.env.BENCH_RTC_BASE_PORT ?? 40000);
	const worker = await mediasoup.createWorker({ rtcMinPort, rtcMaxPort: rtcMinPort + 999, logLevel: 'error' });
	const router = await worker.createRouter({
		mediaCodecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }],
	});
	const scheduler = new ReplayScheduler();
	const sink = await openSink();
	try {
		const subscriber = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
		await subscriber.connect({ ip: '127.0.0.1', port: sink.socket.address().port });
		log(`${PUBLISHERS} publishers, 1 subscriber, ${ROUNDS} rounds of ${VIEWS.length} views, ${WINDOW_MS / 1000} s windows`);

		const results = new Map<View['name'], Rates[]>(VIEWS.map((v) => [v.name, []]));
		for (let round = 0; round < ROUNDS; round++) {
			const order = VIEWS.map((_, i) => VIEWS[(i + round) % VIEWS.length]!);
			for (const view of order) {
				const rates = await measureView(view, { router, scheduler, layers, subscriber, sink, worker });
				results.get(view.name)!.push(rates);
				log(`round ${round + 1} ${view.name} (layer ${layerFor(view)}): ${(rates.bytesPerS * 8e-3).toFixed(0)} kbit/s, ${rates.packetsPerS.toFixed(0)} packets/s received; worker forwards ${rates.forwardedPerS.toFixed(0)}/s, receives ${rates.receivedPerS.toFixed(0)}/s`);
			}
		}
		report(results, workerBin);
	} finally {
		scheduler.close();
		sink.socket.close();
		worker.close();
	}
}

function fmt(s: Spread, digits = 0): string {
	return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;
}

function report(results: Map<View['name'], Rates[]>, workerBin: string): void {
	const machine = describeMachine();
	const binary = describeWorkerBinary(workerBin);
	const lines: string[] = [];
	lines.push('# Simulcast benchmark: a subscriber of a 9-publisher room');
	lines.push('');
	lines.push(`Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.kernel}, load ${machine.loadAverage.start}; Node ${machine.node}, mediasoup ${machine.mediasoup}`);
	lines.push(`Worker binary: ${workerBinaryLine(binary)}; consumers on a PlainTransport without SRTP, one per publisher at the view's layer`);
	lines.push(`${PUBLISHERS} publishers, ${ROUNDS} rounds, ${WINDOW_MS / 1000} s windows; median (min-max) over rounds`);
	lines.push('');
	lines.push('| view | layer | subscriber kbit/s | subscriber packets/s | worker forwarded packets/s | worker received packets/s | worker CPU us (receiving included) / forwarded packet |');
	lines.push('|---|---|---|---|---|---|---|');
	for (const view of VIEWS) {
		const rounds = results.get(view.name)!;
		const pick = (f: (r: Rates) => number) => spreadOf(rounds.map(f));
		lines.push(
			`| ${view.name}: ${view.what} | ${layerFor(view)} | ${fmt(pick((r) => r.bytesPerS * 8e-3))} | ${fmt(pick((r) => r.packetsPerS))} | ${fmt(pick((r) => r.forwardedPerS))} | ${fmt(pick((r) => r.receivedPerS))} | ${fmt(pick((r) => r.cpuUsPerForwarded), 1)} |`,
		);
	}
	lines.push('');
	const full = results.get('full')!;
	for (const name of ['grid', 'thumbnails'] as const) {
		const rounds = results.get(name)!;
		const ratio = (f: (r: Rates) => number) => spreadOf(pairedRatios(rounds.map(f), full.map(f)));
		lines.push(
			`${name} / full, paired per round: bytes ${fmt(ratio((r) => r.bytesPerS), 3)}, packets ${fmt(ratio((r) => r.packetsPerS), 3)}, worker forwarded packets ${fmt(ratio((r) => r.forwardedPerS), 3)}, worker received packets ${fmt(ratio((r) => r.receivedPerS), 3)}`,
		);
	}
	console.log(lines.join('\n'));
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});
