// One measurement window of a running load: what each light subscriber's
// consumer received against what its producer sent, packets forwarded per
// worker, and the CPU of each process. At each edge of the window the server
// is sampled before and after the sink, and the mean of the two server
// samples stands for the moment the sink was sampled.
import type { ChildHandle } from './ipc.ts';
import { coreTimes, coreUseBetween, cpuBetween, udpReceiveBufferErrors } from './procStats.ts';
import type { ServerSample } from './serverChild.ts';
import type { SinkSample } from './sinkChild.ts';
import type { ConsumerWindow } from './stepVerdict.ts';

/** Where each light subscriber's packets come from: `${port}:${ssrc}` -> producer id, and that producer's worker. */
export type SinkMap = Map<string, { producerId: string; workerId: number }>;

export type Edge = { before: ServerSample; sink: SinkSample; after: ServerSample; cores: ReturnType<typeof coreTimes>; udpRcvbufErrors: number };

export type WindowResult = {
	seconds: number;
	consumers: ConsumerWindow[];
	/** Packets/s delivered to subscribers, per worker id. */
	forwardedPps: Record<string, number>;
	/** CPU of each worker process, fraction of one core. */
	workerCpu: Record<string, number>;
	/** The server's Node process (Tureen or the raw baseline, plus the replayers). */
	serverNodeCpu: number;
	sinkCpu: number;
	/** Each CPU of the machine: share busy, and in softirq (loopback delivery is accounted there). */
	cores: { busy: number; softirq: number }[];
	/** UDP datagrams the kernel dropped for full receive buffers (machine-wide): where loss came from when no worker was at its budget. */
	udpRcvbufErrors: number;
};

export async function sampleEdge(server: ChildHandle, sink: ChildHandle): Promise<Edge> {
	const before = await server.request<ServerSample>('sample');
	const sinkSample = await sink.request<SinkSample>('sample', {}, 60_000);
	const after = await server.request<ServerSample>('sample');
	return { before, sink: sinkSample, after, cores: coreTimes(), udpRcvbufErrors: udpReceiveBufferErrors() };
}

function sentAt(e: Edge, producerId: string): number {
	return ((e.before.sent[producerId] ?? 0) + (e.after.sent[producerId] ?? 0)) / 2;
}

/** Every mapped consumer between two edges; one the sink never saw counts as receiving nothing. */
export function consumersBetween(start: Edge, end: Edge, sinkMap: SinkMap): ConsumerWindow[] {
	const first = new Map(start.sink.counts.map((c) => [`${c.port}:${c.ssrc}`, c]));
	const last = new Map(end.sink.counts.map((c) => [`${c.port}:${c.ssrc}`, c]));
	return [...sinkMap].map(([key, { producerId }]) => {
		const a = first.get(key) ?? { received: 0, expected: 0 };
		const b = last.get(key) ?? a;
		return { key, sent: sentAt(end, producerId) - sentAt(start, producerId), received: b.received - a.received, expected: b.expected - a.expected };
	});
}

/** Everything measured between two edges. */
export function windowBetween(start: Edge, end: Edge, sinkMap: SinkMap): WindowResult {
	const seconds = (end.sink.atMs - start.sink.atMs) / 1000;
	const consumers = consumersBetween(start, end, sinkMap);
	const forwardedPps: Record<string, number> = {};
	for (const c of consumers) {
		const workerId = String(sinkMap.get(c.key)!.workerId);
		forwardedPps[workerId] = (forwardedPps[workerId] ?? 0) + c.received / seconds;
	}
	const workerCpu: Record<string, number> = {};
	for (const w of end.before.workers) {
		const b = start.before.workers.find((x) => x.workerId === w.workerId && x.pid === w.pid);
		if (!b) throw new Error(`worker ${w.workerId} changed during the window (pid ${w.pid})`);
		workerCpu[String(w.workerId)] = cpuBetween({ atMs: start.before.atMs, cpuMs: b.cpuMs }, { atMs: end.before.atMs, cpuMs: w.cpuMs });
	}
	return {
		seconds,
		consumers,
		forwardedPps,
		workerCpu,
		serverNodeCpu: cpuBetween({ atMs: start.before.atMs, cpuMs: start.before.nodeCpuMs }, { atMs: end.before.atMs, cpuMs: end.before.nodeCpuMs }),
		sinkCpu: cpuBetween({ atMs: start.sink.atMs, cpuMs: start.sink.cpuMs }, { atMs: end.sink.atMs, cpuMs: end.sink.cpuMs }),
		cores: coreUseBetween(start.cores, end.cores),
		udpRcvbufErrors: end.udpRcvbufErrors - start.udpRcvbufErrors,
	};
}

export function sum(record: Record<string, number>): number {
	return Object.values(record).reduce((a, b) => a + b, 0);
}
