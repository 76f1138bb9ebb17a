// Figure for rooms spanning workers: what a consumer costs the workers when
// its producer lives on another worker (piped) against the same consumer on
// the producer's own router. Replayed publishers on worker A; subscribers (a
// PlainTransport with SRTP each, consuming every producer, sending to a UDP
// socket here that counts) either on A's router, or on a router of worker B
// fed by router.pipeToRouter. Both layouts are measured in every round, in
// alternating order, so the ratio is paired inside a round.
import type { Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';

import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';

import { MEDIA_CODECS } from '../src/services/rooms/codecs.ts';
import { bindLoopbackUdp, isRtp } from './loopbackUdp.ts';
import { processCpuMs } from './procStats.ts';
import { createPublisher, createSinkTransport, type RouterPublisher } from './publisher.ts';
import { loadCapture } from './rtpCapture.ts';
import { prepareCapture, ReplayScheduler } from './rtpReplay.ts';

export type PipeCostParams = { rounds: number; publishers: number; subscribers: number; settleMs: number; windowMs: number };

export type PipeCostRound = {
	/** Worker CPU (both workers) per packet delivered to a subscriber, microseconds. */
	localUsPerPacket: number;
	pipedUsPerPacket: number;
	/** Extra worker CPU of the piped layout per packet crossing the pipe, microseconds. */
	usPerPipedPacket: number;
	deliveredPps: number;
	pipedPps: number;
};

type Layout = 'local' | 'piped';

async function openSink(): Promise<{ socket: Socket; port: number; count: () => number }> {
	let packets = 0;
	const socket = await bindLoopbackUdp();
	// Media only: the consumers' sender reports share the socket (rtcp-mux).
	socket.on('message', (packet) => {
		if (isRtp(packet)) packets += 1;
	});
	return { socket, port: socket.address().port, count: () => packets };
}

async function subscribe(router: ms.Router, port: number, producers: ms.Producer[]): Promise<void> {
	const transport = await createSinkTransport(router, port, true);
	for (const producer of producers) await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
}

/** One layout on fresh routers: set up, settle, measure a window, tear down. */
async function measureLayout(
	layout: Layout,
	workers: [ms.Worker, ms.Worker],
	scheduler: ReplayScheduler,
	prepared: ReturnType<typeof prepareCapture>,
	p: PipeCostParams,
): Promise<{ usPerPacket: number; cpuUs: number; deliveredPps: number; pipedPps: number }> {
	const home = await workers[0].createRouter({ mediaCodecs: MEDIA_CODECS });
	const far = await workers[1].createRouter({ mediaCodecs: MEDIA_CODECS });
	const publishers: RouterPublisher[] = [];
	const sinks: Awaited<ReturnType<typeof openSink>>[] = [];
	try {
		for (let i = 0; i < p.publishers; i++) publishers.push(await createPublisher(home, scheduler, prepared, (i * 0.618) % 1, true));
		const producers = publishers.flatMap((pub) => [pub.video, pub.audio]);
		if (layout === 'piped') for (const producer of producers) await home.pipeToRouter({ producerId: producer.id, router: far });
		const target = layout === 'piped' ? far : home;
		for (let i = 0; i < p.subscribers; i++) {
			const sink = await openSink();
			sinks.push(sink);
			await subscribe(target, sink.port, producers);
		}
		await sleep(p.settleMs);
		const cpuBefore = workers.map((w) => processCpuMs(w.pid) ?? 0);
		const sentBefore = publishers.reduce((sum, pub) => sum + pub.replayer.counts.videoSent + pub.replayer.counts.audioSent, 0);
		const deliveredBefore = sinks.reduce((sum, s) => sum + s.count(), 0);
		const startedAt = performance.now();
		await sleep(p.windowMs);
		const seconds = (performance.now() - startedAt) / 1000;
		const cpuMs = workers.reduce((sum, w, i) => sum + (processCpuMs(w.pid) ?? 0) - cpuBefore[i]!, 0);
		const sent = publishers.reduce((sum, pub) => sum + pub.replayer.counts.videoSent + pub.replayer.counts.audioSent, 0) - sentBefore;
		const delivered = sinks.reduce((sum, s) => sum + s.count(), 0) - deliveredBefore;
		if (delivered <= 0) throw new Error(`${layout}: no packet reached a subscriber`);
		return {
			usPerPacket: (cpuMs * 1000) / delivered,
			cpuUs: (cpuMs * 1000) / seconds,
			deliveredPps: delivered / seconds,
			pipedPps: layout === 'piped' ? sent / seconds : 0,
		};
	} finally {
		for (const pub of publishers) pub.close();
		home.close();
		far.close();
		for (const sink of sinks) sink.socket.close();
	}
}

/** Every round measures both layouts (order alternating); ratios and differences are taken inside a round. */
export async function measurePipeCost(p: PipeCostParams, log: (line: string) => void = () => undefined): Promise<PipeCostRound[]> {
	const prepared = prepareCapture((await loadCapture()).capture);
	const scheduler = new ReplayScheduler();
	const workers: [ms.Worker, ms.Worker] = [await mediasoup.createWorker({ logLevel: 'error' }), await mediasoup.createWorker({ logLevel: 'error' })];
	const rounds: PipeCostRound[] = [];
	try {
		for (let round = 0; round < p.rounds; round++) {
			const order: Layout[] = round % 2 === 0 ? ['local', 'piped'] : ['piped', 'local'];
			const got = new Map<Layout, Awaited<ReturnType<typeof measureLayout>>>();
			for (const layout of order) got.set(layout, await measureLayout(layout, workers, scheduler, prepared, p));
			const local = got.get('local')!;
			const piped = got.get('piped')!;
			rounds.push({
				localUsPerPacket: local.usPerPacket,
				pipedUsPerPacket: piped.usPerPacket,
				usPerPipedPacket: (piped.cpuUs - (local.cpuUs * piped.deliveredPps) / local.deliveredPps) / piped.pipedPps,
				deliveredPps: piped.deliveredPps,
				pipedPps: piped.pipedPps,
			});
			log(`pipe cost round ${round + 1}: local ${local.usPerPacket.toFixed(1)} us/pkt, piped ${piped.usPerPacket.toFixed(1)} us/pkt`);
		}
	} finally {
		scheduler.close();
		for (const worker of workers) worker.close();
	}
	return rounds;
}
