// One measurement window of a running load: loss per consumer, forwarded
// packets per worker, and the CPU of each process. At each edge of the window
// the processes are sampled server, clients, server, and the mean of the two
// server samples stands for the moment the clients were sampled.
import type { ClientSample } from './clientChild.ts';
import type { ChildHandle } from './ipc.ts';
import { coreTimes, coreUseBetween, cpuBetween } from './procStats.ts';
import type { ServerSample } from './serverChild.ts';
import type { SinkSample } from './sinkChild.ts';

export type LossTally = { consumers: number; stalled: number; sent: number; received: number; lost: number; worst: number };

export type WindowResult = {
	seconds: number;
	/** All consumers measured: wrtc subscribers' and light (sink) subscribers'. */
	all: LossTally;
	/** The wrtc subscribers' consumers alone (real ICE/DTLS/SRTP clients). */
	wrtc: LossTally;
	/** Sequence-gap loss over all consumers; a consumer that received nothing counts as losing what was sent. */
	loss: number;
	wrtcLoss: number;
	/**
	 * 1 - received / sent over all consumers: packets that did not arrive within
	 * the window, lost or still queued. It grows when a worker falls behind
	 * before its socket buffers overflow; negative while a backlog drains.
	 */
	lossVsSent: number;
	wrtcLossVsSent: number;
	/** Packets/s delivered to subscribers, per worker id. */
	forwardedPps: Record<string, number>;
	/** CPU of each worker process, fraction of one core. */
	workerCpu: Record<string, number>;
	/** The server's Node process (Tureen or the raw baseline, plus the replayers). */
	serverNodeCpu: number;
	clientCpu: number;
	sinkCpu: number;
	keyFrameRequests: number;
	/** Each CPU of the machine: share busy, and in softirq (loopback delivery is accounted there, not to the sender). */
	cores: { busy: number; softirq: number }[];
};

/** Where each light subscriber's packets come from: `${port}:${ssrc}` -> producer id. */
export type SinkMap = Map<string, string>;

type Edge = { before: ServerSample; client: ClientSample; sink: SinkSample; after: ServerSample };

async function edge(server: ChildHandle, client: ChildHandle, sink: ChildHandle): Promise<Edge> {
	const before = await server.request<ServerSample>('sample');
	const [clientSample, sinkSample] = await Promise.all([
		client.request<ClientSample>('sample', {}, 120_000),
		sink.request<SinkSample>('sample', {}, 60_000),
	]);
	const after = await server.request<ServerSample>('sample');
	return { before, client: clientSample, sink: sinkSample, after };
}

function sentAt(e: Edge, producerId: string): number {
	return ((e.before.sent[producerId] ?? 0) + (e.after.sent[producerId] ?? 0)) / 2;
}

function emptyTally(): LossTally {
	return { consumers: 0, stalled: 0, sent: 0, received: 0, lost: 0, worst: 0 };
}

function tallyLoss(t: LossTally): number {
	return t.received + t.lost > 0 ? t.lost / (t.received + t.lost) : t.consumers > 0 ? 1 : 0;
}

/** Measures for `windowMs`. */
export async function measureWindow(
	processes: { server: ChildHandle; client: ChildHandle; sink: ChildHandle },
	windowMs: number,
	workerOfProducer: Map<string, number>,
	sinkMap: SinkMap,
): Promise<WindowResult> {
	const { server, client, sink } = processes;
	const start = await edge(server, client, sink);
	const coresBefore = coreTimes();
	await new Promise((resolve) => setTimeout(resolve, windowMs));
	const cores = coreUseBetween(coresBefore, coreTimes());
	const end = await edge(server, client, sink);
	const seconds = (end.client.atMs - start.client.atMs) / 1000;
	const all = emptyTally();
	const wrtc = emptyTally();
	const forwarded: Record<string, number> = {};

	const add = (tallies: LossTally[], producerId: string, dReceived: number, dLost: number): void => {
		const dSent = sentAt(end, producerId) - sentAt(start, producerId);
		const stalled = dReceived === 0 && dSent > 0;
		const lost = stalled ? dSent : Math.max(0, dLost);
		for (const t of tallies) {
			t.consumers += 1;
			t.sent += dSent;
			t.received += dReceived;
			t.lost += lost;
			if (stalled) t.stalled += 1;
			t.worst = Math.max(t.worst, stalled ? 1 : lost / Math.max(1, dReceived + lost));
		}
		const workerId = String(workerOfProducer.get(producerId) ?? 0);
		forwarded[workerId] = (forwarded[workerId] ?? 0) + dReceived / seconds;
	};

	const firstClient = new Map(start.client.consumers.map((c) => [c.consumerId, c]));
	for (const c of end.client.consumers) {
		const b = firstClient.get(c.consumerId);
		if (b) add([all, wrtc], c.producerId, c.received - b.received, c.lost - b.lost);
	}
	// A light subscriber first seen during the window counts from zero; one never seen, as stalled.
	const firstSink = new Map(start.sink.counts.map((c) => [`${c.port}:${c.ssrc}`, c]));
	const seen = new Set<string>();
	for (const c of end.sink.counts) {
		const key = `${c.port}:${c.ssrc}`;
		const producerId = sinkMap.get(key);
		if (!producerId) continue;
		seen.add(key);
		const b = firstSink.get(key) ?? { received: 0, expected: 0 };
		const dReceived = c.received - b.received;
		add([all], producerId, dReceived, c.expected - b.expected - dReceived);
	}
	for (const [key, producerId] of sinkMap) if (!seen.has(key)) add([all], producerId, 0, 0);

	const workerCpu: Record<string, number> = {};
	for (const w of end.before.workers) {
		const b = start.before.workers.find((x) => x.workerId === w.workerId && x.pid === w.pid);
		if (b) workerCpu[String(w.workerId)] = cpuBetween({ atMs: start.before.atMs, cpuMs: b.cpuMs }, { atMs: end.before.atMs, cpuMs: w.cpuMs });
	}
	return {
		seconds,
		all,
		wrtc,
		loss: tallyLoss(all),
		wrtcLoss: tallyLoss(wrtc),
		lossVsSent: all.sent > 0 ? 1 - all.received / all.sent : 0,
		wrtcLossVsSent: wrtc.sent > 0 ? 1 - wrtc.received / wrtc.sent : 0,
		forwardedPps: forwarded,
		workerCpu,
		serverNodeCpu: cpuBetween(
			{ atMs: start.before.atMs, cpuMs: start.before.nodeCpuMs },
			{ atMs: end.before.atMs, cpuMs: end.before.nodeCpuMs },
		),
		clientCpu: cpuBetween({ atMs: start.client.atMs, cpuMs: start.client.cpuMs }, { atMs: end.client.atMs, cpuMs: end.client.cpuMs }),
		sinkCpu: cpuBetween({ atMs: start.sink.atMs, cpuMs: start.sink.cpuMs }, { atMs: end.sink.atMs, cpuMs: end.sink.cpuMs }),
		keyFrameRequests: end.after.keyFrameRequests - start.before.keyFrameRequests,
		cores,
	};
}
