// One load step, built from scratch on a fresh server: rooms with one replayed
// publisher each and N light subscribers per worker (a PlainTransport each,
// consuming the room's audio and video, sending to the sink process), or one
// all-to-all room of N peers (each a replayed publisher and a light
// subscriber of every other peer); then the media starts; the step settles
// until no backlog remains, then measures one window and is judged per
// consumer (stepVerdict.ts). Fresh each time: an overloaded worker does not
// fully recover when the load drops, and a big batch of transports created
// while media flows can itself tip a budgeted worker over.
import { setTimeout as sleep } from 'node:timers/promises';

import { CpuBudget } from './cpuBudget.ts';
import type { ChildHandle } from './ipc.ts';
import { consumersBetween, sampleEdge, sum, windowBetween, type Edge, type SinkMap, type WindowResult } from './loadWindow.ts';
import type { RoomPlaced, ServerMode, SinkSubscriberPlaced, StartResult } from './serverChild.ts';
import { deficitOf, judgeStep, type StepVerdict, type VerdictLimits } from './stepVerdict.ts';

/**
 * What runs: which binary, Tureen or raw mediasoup (upstream default worker
 * settings), how many workers, SRTP or not, and the load's shape: `rooms`
 * of one publisher each, whose load is subscribers per worker; or one
 * all-to-all `mesh` room over the workers, whose load is its peer count.
 */
export type StepConfig = { label: string; binary: 'main' | 'other'; mode: ServerMode; workers: number; srtp: boolean; shape: 'rooms' | 'mesh' };

/** How a step is built, settled, measured and judged (VerdictLimits). */
export type StepTiming = VerdictLimits & {
	roomsPerWorker: number;
	settleMs: number;
	settleIntervalMs: number;
	maxSettleMs: number;
	windowMs: number;
	rtcBasePort: number;
	/** Per-worker CPU budget (fraction of a core). */
	budget: number;
};

export type StepResult = {
	label: string;
	shape: StepConfig['shape'];
	round: number;
	/** Subscribers per worker (`rooms`) or peers of the room (`mesh`). */
	load: number;
	/** Consumers measured, all workers together (one per producer a subscriber receives). */
	consumers: number;
	/** Packets/s forwarded to subscribers, all workers together. */
	forwardedPps: number;
	/** Worker CPU (all workers) per forwarded packet, microseconds. */
	usPerPacket: number;
	/** Share of cgroup periods in which each worker ran out of its budget. */
	throttledShare: number[];
	settledAfterMs: number;
	verdict: StepVerdict;
	window: Omit<WindowResult, 'consumers'>;
	tookMs: number;
};

/** Rooms of one publisher each, `perWorker` subscribers per worker spread round robin over them. */
async function deployRooms(server: ChildHandle, sink: ChildHandle, config: StepConfig, perWorker: number, t: StepTiming): Promise<SinkMap> {
	const rooms = await server.request<RoomPlaced[]>('addRooms', {
		rooms: Array.from({ length: t.roomsPerWorker * config.workers }, (_, i) => ({ roomId: `${config.label}-${i}`, publishers: 1, startReplay: false })),
	});
	const perWorkerRooms = new Map<number, number>();
	for (const r of rooms) perWorkerRooms.set(r.workerId, (perWorkerRooms.get(r.workerId) ?? 0) + 1);
	if (perWorkerRooms.size !== config.workers || [...perWorkerRooms.values()].some((n) => n !== t.roomsPerWorker)) {
		throw new Error(`${config.label}: rooms not spread evenly over the workers (${JSON.stringify([...perWorkerRooms])})`);
	}
	const total = perWorker * config.workers;
	const { ports } = await sink.request<{ ports: number[] }>('open', { count: total });
	// Round robin over the rooms, so every worker carries the same load.
	const subs = ports.map((port, i) => ({ roomId: rooms[i % rooms.length]!.roomId, port, srtp: config.srtp }));
	return sinkMapOf(await server.request<SinkSubscriberPlaced[]>('addSinkSubscribers', { subs }, 120_000));
}

/**
 * One all-to-all room of `peers` peers, each a replayed publisher and a
 * subscriber of every other peer, placed by Tureen over `config.workers`
 * workers: ROOM_MAX_PEERS_PER_ROUTER splits it evenly (set at start).
 */
async function deployMeshRoom(server: ChildHandle, sink: ChildHandle, config: StepConfig, peers: number): Promise<SinkMap> {
	const { ports } = await sink.request<{ ports: number[] }>('open', { count: peers });
	const placed = await server.request<SinkSubscriberPlaced[]>('addMeshRoom', { roomId: `${config.label}-mesh`, ports, srtp: config.srtp }, 120_000);
	const onWorkers = new Set(placed.map((p) => p.workerId));
	if (onWorkers.size !== config.workers) throw new Error(`${config.label}: the room spans ${onWorkers.size} workers, not ${config.workers}`);
	return sinkMapOf(placed);
}

function sinkMapOf(placed: readonly SinkSubscriberPlaced[]): SinkMap {
	const sinkMap: SinkMap = new Map();
	for (const p of placed) for (const c of p.consumers) sinkMap.set(`${p.port}:${c.ssrc}`, { producerId: c.producerId, workerId: p.workerId });
	return sinkMap;
}

async function deploy(server: ChildHandle, sink: ChildHandle, config: StepConfig, load: number, t: StepTiming, budgets: CpuBudget[]): Promise<SinkMap> {
	const started = await server.request<StartResult>('start', {
		mode: config.mode,
		workers: config.workers,
		rtcBasePort: t.rtcBasePort,
		answerKeyFrameRequests: false,
		// The mesh room is split by the per-router cap alone (half the room each), never by CPU;
		// the other rooms stay whole (every subscriber on its publisher's router), whatever the budget.
		env: config.shape === 'mesh' ? { ROOM_MAX_PEERS_PER_ROUTER: String(Math.ceil(load / config.workers)), ROOM_SPREAD_CPU: '1' } : { ROOM_SPREAD_CPU: '1' },
	});
	if (started.workerPids.length !== config.workers) throw new Error(`${config.label}: ${started.workerPids.length} workers started, not ${config.workers}`);
	for (const [i, pid] of started.workerPids.entries()) budgets[i]!.add(pid);
	const sinkMap = config.shape === 'mesh' ? await deployMeshRoom(server, sink, config, load) : await deployRooms(server, sink, config, load, t);
	await server.request('startReplay');
	return sinkMap;
}

/**
 * Waits at least settleMs, then until one interval shows received matching
 * sent (within the backlog threshold) with no consumer stalled: a backlog
 * left from the start-up has drained. Returns the last edge (the window
 * starts there) and whether it settled.
 */
async function settle(server: ChildHandle, sink: ChildHandle, sinkMap: SinkMap, t: StepTiming): Promise<{ edge: Edge; settled: boolean; afterMs: number }> {
	const started = performance.now();
	await sleep(t.settleMs);
	let edge = await sampleEdge(server, sink);
	for (;;) {
		await sleep(t.settleIntervalMs);
		const next = await sampleEdge(server, sink);
		const consumers = consumersBetween(edge, next, sinkMap);
		edge = next;
		const quiet = Math.abs(deficitOf(consumers)) <= t.backlogThreshold && consumers.every((c) => c.received >= t.stallShare * c.sent);
		const afterMs = performance.now() - started;
		if (quiet || afterMs >= t.maxSettleMs) return { edge, settled: quiet, afterMs };
	}
}

export async function runStep(
	processes: { server: ChildHandle; sink: ChildHandle },
	config: StepConfig,
	load: number,
	round: number,
	t: StepTiming,
	budgetPrefix: string,
): Promise<StepResult> {
	const { server, sink } = processes;
	const started = performance.now();
	const budgets = Array.from({ length: config.workers }, (_, i) => CpuBudget.create(`${budgetPrefix}w${i}`, t.budget));
	try {
		const sinkMap = await deploy(server, sink, config, load, t, budgets);
		const settled = await settle(server, sink, sinkMap, t);
		const throttledBefore = budgets.map((b) => b.throttled());
		await sleep(t.windowMs);
		const end = await sampleEdge(server, sink);
		const throttledShare = budgets.map((b, i) => {
			const now = b.throttled();
			const was = throttledBefore[i]!;
			return (now.throttledPeriods - was.throttledPeriods) / Math.max(1, now.periods - was.periods);
		});
		const { consumers, ...window } = windowBetween(settled.edge, end, sinkMap);
		const verdict = judgeStep(consumers, t);
		if (!settled.settled) {
			verdict.good = false;
			verdict.reasons.push(`still not settled after ${(settled.afterMs / 1000).toFixed(1)} s`);
		}
		const forwardedPps = sum(window.forwardedPps);
		if (!(forwardedPps > 0)) throw new Error(`${config.label} at ${load}: no packet was forwarded`);
		return {
			label: config.label,
			shape: config.shape,
			round,
			load,
			consumers: sinkMap.size,
			forwardedPps,
			usPerPacket: (sum(window.workerCpu) * 1e6) / forwardedPps,
			throttledShare,
			settledAfterMs: settled.afterMs,
			verdict,
			window,
			tookMs: performance.now() - started,
		};
	} finally {
		await sink.request('closeAll', {}).catch(() => undefined);
		await server.request('stop', {}, 60_000).catch(() => undefined);
		for (const budget of budgets) await budget.remove();
	}
}

/** Runs steps at one timing, each logged (describeStep) and kept in `steps`, the order they ran. */
export function recordingSteps(timing: StepTiming, budgetPrefix: string, log: (line: string) => void) {
	const steps: StepResult[] = [];
	const run = async (processes: { server: ChildHandle; sink: ChildHandle }, config: StepConfig, load: number, round: number): Promise<StepResult> => {
		const result = await runStep(processes, config, load, round, timing, budgetPrefix);
		log(describeStep(result));
		steps.push(result);
		return result;
	};
	return { steps, run };
}

function describeStep(s: StepResult): string {
	const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
	const w = s.window;
	return (
		`  ${s.verdict.good ? 'ok ' : 'BAD'} ${s.label} r${s.round} ${s.shape === 'mesh' ? `${s.load} peers, ${s.consumers} consumers` : `${s.load}/worker`}: ${Math.round(s.forwardedPps)} pkt/s, ${s.usPerPacket.toFixed(1)} us/pkt;` +
		` workers ${Object.values(w.workerCpu).map(pct).join('/')} throttled ${s.throttledShare.map(pct).join('/')}; worst loss ${pct(s.verdict.worstLoss)}, deficit ${pct(s.verdict.deficit)}, stalled ${s.verdict.stalled};` +
		` node ${pct(w.serverNodeCpu)} sink ${pct(w.sinkCpu)}; UDP buffer drops ${w.udpRcvbufErrors}; settled ${(s.settledAfterMs / 1000).toFixed(1)} s; ${(s.tookMs / 1000).toFixed(1)} s` +
		(s.verdict.good ? '' : ` (${s.verdict.reasons.join('; ')})`)
	);
}
