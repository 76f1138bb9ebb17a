// Figures 1 and 2: consumers carried per worker at <= 1% loss. Publishers are
// replayed real RTP (rtpReplay.ts) on Tureen rooms' routers (or the raw
// baseline's router). Subscribers, each consuming every producer of its room:
//   - wrtc subscribers: Tureen's client library on @roamhq/wrtc, real ICE,
//     DTLS, SRTP and decoding, in the client process;
//   - light subscribers: an SRTP PlainTransport per subscriber sending to a
//     counting UDP socket in the sink process (cheap enough that the server
//     side, not the load generator, saturates first).
// Each step starts a fresh server, sets up subscribers (round robin over the
// rooms), starts the media, waits until every consumer receives, lets things
// settle, then measures a window.
import { spawnSync } from 'node:child_process';

import { CpuBudget } from './cpuBudget.ts';
import type { ChildHandle } from './ipc.ts';
import type { JoinResult, SubscriberSpec } from './clientChild.ts';
import { measureWindow, type SinkMap, type WindowResult } from './loadWindow.ts';
import type { RoomPlaced, ServerMode, SinkSubscriberPlaced, StartResult } from './serverChild.ts';

export type CapacityConfig = {
	label: string;
	mode: ServerMode;
	workers: number;
	/** Fraction of one core each worker may use (cgroup quota); undefined = a whole core. */
	budget: number | undefined;
	/** wrtc subscribers per worker; in 'wrtc' load every step adds wrtc subscribers only. */
	wrtcPerWorker: number;
	load: 'mixed' | 'wrtc';
};

export type StepResult = {
	subscribersPerWorker: number;
	wrtcPerWorker: number;
	consumersPerWorker: number;
	/** Share of cgroup periods in which each worker ran out of its budget (undefined without a budget). */
	throttledShare: number[] | undefined;
	joinFailures: number;
	/** Loss (sequence gaps, and received vs sent) within the threshold for all and for the wrtc consumers. */
	good: boolean;
	/** Wall time the step took (joins, settling, window). */
	tookMs: number;
	window: WindowResult;
};

export type Limit = 'server' | 'client' | 'not reached' | 'unclear';

export type RampResult = {
	config: CapacityConfig;
	roomsPerWorker: number;
	publishersPerRoom: number;
	steps: StepResult[];
	/** Highest step with loss <= threshold, consumers per worker; undefined if even the first step lost more. */
	consumersPerWorker: number | undefined;
	/** What stopped the ramp. */
	limitedBy: Limit;
	/**
	 * Packets/s one worker forwarded at the lowest failed step, when that step
	 * failed because the worker was saturated (deficit >= 2x the threshold, at
	 * its CPU limit, no overflow yet): its capacity, finer than the step grid.
	 */
	saturationPpsPerWorker: number | undefined;
	/** The same in consumers (at the load's mean packets per consumer). */
	carriedAtSaturation: number | undefined;
	/** Worker CPU per forwarded packet at the highest good step (microseconds). */
	workerUsPerPacket: number | undefined;
	/** Client process CPU per wrtc subscriber (fraction of a core), at the highest good step. */
	clientCpuPerWrtcSubscriber: number | undefined;
	notes: string[];
};

export type LoadProcesses = { client: ChildHandle; sink: ChildHandle };

export type RampOptions = {
	processes: LoadProcesses;
	startServer: () => ChildHandle;
	config: CapacityConfig;
	/** Next subscribers-per-worker count given the steps so far, or undefined to stop. */
	nextStep: (steps: StepResult[]) => number | undefined;
	roomsPerWorker: number;
	windowMs: number;
	settleMs: number;
	rtcBasePort: number;
	lossThreshold: number;
	/** Stop before a step that would put the client or sink process above this CPU (fraction of its core). */
	loadCpuCeiling: number;
	/** Pin worker i to workerCores[i] (default: they stay on the server's core). */
	workerCores?: number[];
	/** A shorter window for the first step (when it only calibrates). */
	firstWindowMs?: number;
	/** Packets per second one subscriber receives (all its consumers). */
	packetsPerSubscriber: number;
};

export const CONSUMERS_PER_SUBSCRIBER = 2;
const PUBLISHERS_PER_ROOM = 1;

function busiestWorker(step: StepResult): number {
	return Math.max(0, ...Object.values(step.window.workerCpu));
}

function classify(step: StepResult, config: CapacityConfig, ceiling: number): Limit {
	if (step.window.clientCpu >= ceiling || step.window.sinkCpu >= ceiling) return 'client';
	const throttled = Math.max(0, ...(step.throttledShare ?? []));
	const serverBound = config.budget !== undefined ? throttled >= 0.5 || busiestWorker(step) >= 0.9 * config.budget : busiestWorker(step) >= 0.85;
	return serverBound ? 'server' : 'unclear';
}

/** Load-side CPU per subscriber of each kind, from the last step (for the ceiling check). */
function loadCpuPerSubscriber(steps: StepResult[], workers: number): { wrtc: number; light: number } {
	const last = steps.at(-1);
	if (!last) return { wrtc: 0, light: 0 };
	const wrtcSubs = last.wrtcPerWorker * workers;
	const lightSubs = (last.subscribersPerWorker - last.wrtcPerWorker) * workers;
	return {
		wrtc: wrtcSubs > 0 ? last.window.clientCpu / wrtcSubs : 0,
		light: lightSubs > 0 ? last.window.sinkCpu / lightSubs : 0,
	};
}

/** The highest good step below the lowest bad one, what limited it, and its costs. */
function summarize(result: RampResult, options: RampOptions): void {
	const { steps, config } = result;
	const firstBad = steps.filter((s) => !s.good).sort((a, b) => a.subscribersPerWorker - b.subscribersPerWorker)[0];
	const bestGood = steps
		.filter((s) => s.good && (!firstBad || s.subscribersPerWorker < firstBad.subscribersPerWorker))
		.sort((a, b) => b.subscribersPerWorker - a.subscribersPerWorker)[0];
	if (firstBad) {
		result.limitedBy = classify(firstBad, config, options.loadCpuCeiling);
		// Only while nothing overflowed yet (sequence loss within the threshold): past
		// that, an overloaded worker's throughput sags and no longer measures capacity.
		const clean = firstBad.window.loss <= options.lossThreshold;
		if (result.limitedBy === 'server' && clean && firstBad.window.lossVsSent >= 2 * options.lossThreshold) {
			const pps = Object.values(firstBad.window.forwardedPps);
			result.saturationPpsPerWorker = pps.reduce((a, b) => a + b, 0) / Math.max(1, pps.length);
			result.carriedAtSaturation = result.saturationPpsPerWorker / (options.packetsPerSubscriber / CONSUMERS_PER_SUBSCRIBER);
		}
	} else if (bestGood && Math.max(bestGood.window.clientCpu, bestGood.window.sinkCpu) >= options.loadCpuCeiling) {
		result.limitedBy = 'client';
	}
	if (!bestGood) return;
	result.consumersPerWorker = bestGood.consumersPerWorker;
	const pps = Object.values(bestGood.window.forwardedPps).reduce((a, b) => a + b, 0);
	const cpu = Object.values(bestGood.window.workerCpu).reduce((a, b) => a + b, 0);
	result.workerUsPerPacket = pps > 0 ? (cpu * 1e6) / pps : undefined;
	const wrtcTotal = bestGood.wrtcPerWorker * config.workers;
	result.clientCpuPerWrtcSubscriber = wrtcTotal > 0 ? bestGood.window.clientCpu / wrtcTotal : undefined;
}

/** One step's server-side set-up: rooms and what maps producers and light subscribers to them. */
type Deployment = {
	baseUrl: string;
	rooms: RoomPlaced[];
	workerOfProducer: Map<string, number>;
	sinkMap: SinkMap;
	join: JoinResult;
};

/**
 * Builds one step from scratch on a freshly started server: rooms with their
 * publishers (not sending yet), the wrtc and light subscribers, then the
 * media. Every step is independent of the ones before: an overloaded worker
 * does not fully recover when the load drops (its throughput stays lower for
 * a while), and a big batch of transports created while media flows can
 * itself tip a budgeted worker over.
 */
async function deploy(
	server: ChildHandle,
	budgets: CpuBudget[],
	options: RampOptions,
	result: RampResult,
	wrtcTotal: number,
	lightTotal: number,
): Promise<Deployment> {
	const { config } = options;
	const { client, sink } = options.processes;
	const started = await server.request<StartResult>('start', {
		mode: config.mode,
		workers: config.workers,
		rtcBasePort: options.rtcBasePort,
		answerKeyFrameRequests: false,
	});
	for (const [i, pid] of started.workerPids.entries()) {
		budgets[i]?.add(pid);
		const core = options.workerCores?.[i];
		if (core !== undefined) spawnSync('/usr/bin/taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
	}
	const label = config.label.replace(/[^A-Za-z0-9_-]/g, '_');
	const rooms = await server.request<RoomPlaced[]>('addRooms', {
		rooms: Array.from({ length: options.roomsPerWorker * config.workers }, (_, i) => ({
			roomId: `cap-${label}-${i}`,
			publishers: PUBLISHERS_PER_ROOM,
			startReplay: false,
		})),
	});
	const workersUsed = new Set(rooms.map((r) => r.workerId)).size;
	if (workersUsed < config.workers && !result.notes.some((n) => n.startsWith('placement'))) {
		result.notes.push(`placement put the rooms on ${workersUsed} of ${config.workers} workers`);
	}
	// Round robin over the rooms, so rooms (and, through placement, workers) get equal shares.
	const specs: SubscriberSpec[] = Array.from({ length: wrtcTotal }, (_, k) => ({ roomId: rooms[k % rooms.length]!.roomId, name: `sub-${k}` }));
	const join = specs.length
		? await client.request<JoinResult>('join', { baseUrl: started.baseUrl, specs, concurrency: 4 }, 180_000)
		: { joined: 0, failed: 0, errors: [], joinMs: [] };
	const sinkMap: SinkMap = new Map();
	if (lightTotal > 0) {
		const { ports } = await sink.request<{ ports: number[] }>('open', { count: lightTotal });
		const subs = ports.map((port, i) => ({ roomId: rooms[(wrtcTotal + i) % rooms.length]!.roomId, port }));
		const placed = await server.request<SinkSubscriberPlaced[]>('addSinkSubscribers', { subs }, 120_000);
		for (const p of placed) for (const c of p.consumers) sinkMap.set(`${p.port}:${c.ssrc}`, c.producerId);
	}
	await server.request('startReplay');
	return {
		baseUrl: started.baseUrl,
		rooms,
		workerOfProducer: new Map(rooms.flatMap((r) => r.producers.map((p) => [p.producerId, r.workerId] as const))),
		sinkMap,
		join,
	};
}

/** Ends a step: subscribers leave, sink sockets close, the server closes (its process stays). */
async function undeploy(server: ChildHandle, options: RampOptions): Promise<void> {
	const { client, sink } = options.processes;
	await client.request('leaveAll', {}, 120_000).catch(() => undefined);
	await sink.request('closeAll', {}).catch(() => undefined);
	await server.request('stop', {}, 60_000).catch(() => undefined);
}

export async function runRamp(options: RampOptions): Promise<RampResult> {
	const { processes, config } = options;
	const { client, sink } = processes;
	const result: RampResult = {
		config,
		roomsPerWorker: options.roomsPerWorker,
		publishersPerRoom: PUBLISHERS_PER_ROOM,
		steps: [],
		consumersPerWorker: undefined,
		limitedBy: 'not reached',
		saturationPpsPerWorker: undefined,
		carriedAtSaturation: undefined,
		workerUsPerPacket: undefined,
		clientCpuPerWrtcSubscriber: undefined,
		notes: [],
	};
	const server = options.startServer();
	const budgets: CpuBudget[] = [];
	try {
		if (config.budget !== undefined) {
			for (let i = 0; i < config.workers; i++) budgets.push(CpuBudget.create(`tureen-bench-${process.pid}-w${i}`, config.budget));
		}
		for (;;) {
			const perWorker = options.nextStep(result.steps);
			if (perWorker === undefined) break;
			const stepStarted = performance.now();
			const wrtcPerWorker = config.load === 'wrtc' ? perWorker : Math.min(perWorker, config.wrtcPerWorker);
			const wrtcTotal = wrtcPerWorker * config.workers;
			const lightTotal = perWorker * config.workers - wrtcTotal;
			const cost = loadCpuPerSubscriber(result.steps, config.workers);
			const predicted = Math.max(cost.wrtc * wrtcTotal, cost.light * lightTotal);
			if (predicted > options.loadCpuCeiling) {
				result.limitedBy = 'client';
				result.notes.push(`stopped before ${perWorker} subscribers/worker: the load generators would need ~${Math.round(predicted * 100)}% of a core`);
				break;
			}
			let step: StepResult;
			try {
				const d = await deploy(server, budgets, options, result, wrtcTotal, lightTotal);
				if (wrtcTotal > 0) await client.request('waitFlowing', { timeoutMs: 10_000 }, 60_000);
				await new Promise((resolve) => setTimeout(resolve, options.settleMs));
				const throttledBefore = budgets.map((b) => b.throttled());
				const windowMs = result.steps.length === 0 && options.firstWindowMs ? options.firstWindowMs : options.windowMs;
				const window = await measureWindow({ server, client, sink }, windowMs, d.workerOfProducer, d.sinkMap);
				const throttledShare = budgets.length
					? budgets.map((b, i) => {
							const now = b.throttled();
							const was = throttledBefore[i]!;
							return (now.throttledPeriods - was.throttledPeriods) / Math.max(1, now.periods - was.periods);
						})
					: undefined;
				// Sequence-gap loss (all consumers, and the wrtc ones alone) and the deficit
				// of received vs sent over all consumers (a worker falling behind shows
				// there long before its socket buffers overflow). The wrtc consumers'
				// own received-vs-sent is reported, not judged: a few consumers, ±1% noise.
				const good = d.join.failed === 0 && Math.max(window.loss, window.lossVsSent, window.wrtcLoss) <= options.lossThreshold;
				step = {
					subscribersPerWorker: perWorker,
					wrtcPerWorker,
					consumersPerWorker: perWorker * CONSUMERS_PER_SUBSCRIBER * PUBLISHERS_PER_ROOM,
					throttledShare,
					joinFailures: d.join.failed,
					good,
					tookMs: performance.now() - stepStarted,
					window,
				};
				if (d.join.failed > 0) result.notes.push(`${d.join.failed} wrtc joins failed at ${perWorker}/worker: ${d.join.errors[0] ?? ''}`);
			} finally {
				await undeploy(server, options);
			}
			result.steps.push(step);
			const { window } = step;
			if (window.clientCpu >= options.loadCpuCeiling || window.sinkCpu >= options.loadCpuCeiling) {
				result.notes.push(`the load generators reached ${Math.round(Math.max(window.clientCpu, window.sinkCpu) * 100)}% of a core at ${perWorker}/worker`);
				if (step.good) break;
			}
		}
		summarize(result, options);
	} finally {
		await server.stop();
		for (const budget of budgets) {
			try {
				await budget.remove();
			} catch (error) {
				result.notes.push(`could not remove cgroup ${budget.path}: ${(error as Error).message}`);
			}
		}
	}
	return result;
}

/**
 * Where to measure next. A first step at `first` subscribers per worker
 * measures the worker's CPU per forwarded packet, which predicts the knee
 * (the budget's worth of packets); then `fractions` of that knee, then 20%
 * strides (at most `extra`) until a step fails; then bisection between the
 * best good and the lowest failed step (at most `bisect` steps, or until
 * they are within `resolution` of each other). Ramps that reuse a knee
 * (`knownKnee`) skip the first step.
 */
export function kneeSearch(
	options: { first: number; budget: number; packetsPerSubscriber: number; fractions: number[]; extra: number; bisect: number; resolution: number },
	knownKnee?: number,
): { next: (steps: StepResult[]) => number | undefined; knee: () => number | undefined } {
	let knee = knownKnee;
	let planned = 0;
	let strides = 0;
	let bisections = 0;
	const next = (steps: StepResult[]): number | undefined => {
		if (knee === undefined) {
			const first = steps[0];
			if (!first) return options.first;
			const pps = Math.max(...Object.values(first.window.forwardedPps), 1);
			const usPerPacket = (busiestWorker(first) * 1e6) / pps;
			knee = (options.budget * 1e6) / usPerPacket / options.packetsPerSubscriber;
		}
		const good = steps.filter((s) => s.good).map((s) => s.subscribersPerWorker);
		const bad = steps.filter((s) => !s.good).map((s) => s.subscribersPerWorker);
		const lo = Math.max(0, ...good);
		const hi = bad.length ? Math.min(...bad) : undefined;
		if (hi === undefined) {
			while (planned < options.fractions.length) {
				const n = Math.round(knee * options.fractions[planned++]!);
				if (n > lo) return n;
			}
			if (strides++ < options.extra) return Math.max(lo + 1, Math.round(lo * 1.2));
			return undefined;
		}
		if (bisections >= options.bisect || hi - lo <= Math.max(1, options.resolution * lo)) return undefined;
		bisections += 1;
		return Math.round((lo + hi) / 2);
	};
	return { next, knee: () => knee };
}
