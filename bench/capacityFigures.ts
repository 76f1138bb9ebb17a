// Runs the capacity ramps of figures 1 and 2 and derives the ratios.
//   tureen-1w      Tureen, 1 worker, CPU budget B          (predicts the knee)
//   tureen-2w      Tureen, 2 workers, budget B each        (same steps per worker)
//   raw-1w         raw mediasoup, 1 worker, budget B       (same steps)
//   tureen-1w-wrtc Tureen, 1 worker, a whole core, wrtc subscribers only
// and in the full run also, on a whole core with the mixed load:
//   tureen-1w-core, raw-1w-core
import { CpuBudget } from './cpuBudget.ts';
import { CONSUMERS_PER_SUBSCRIBER, kneeSearch, runRamp, type CapacityConfig, type LoadProcesses, type RampResult, type StepResult } from './capacity.ts';
import type { ChildHandle } from './ipc.ts';
import type { BenchSettings } from './settings.ts';

export type CapacityFigures = {
	budget: number | undefined;
	budgetUnavailable: string | undefined;
	/** Cores of the 2-worker ramps' workers (undefined: both on the server's core). */
	twoWorkerCores: number[] | undefined;
	/** How many times the budgeted ramps ran; the figures below are means over rounds. */
	rounds: number;
	ramps: RampResult[];
	/** Consumers per worker at <= 1% loss under the budget: Tureen 1 worker, 2 workers, raw mediasoup. */
	tureen1w: number | undefined;
	tureen2w: number | undefined;
	raw1w: number | undefined;
	/** Tureen 2 workers / 1 worker, total consumers carried at <= 1% loss (goal >= 1.9). */
	scaling: number | undefined;
	/** Tureen 1 worker / raw mediasoup, consumers carried at <= 1% loss (goal >= 0.9). */
	vsRaw: number | undefined;
	/** The same two ratios from the saturation throughput (finer than the step grid), when both ramps saturated. */
	scalingAtSaturation: number | undefined;
	vsRawAtSaturation: number | undefined;
	/** Same ratio on a whole core (full run only). */
	vsRawWholeCore: number | undefined;
	/** Consumers one worker on a whole core would carry at the CPU per packet measured under the budget. */
	estimatedConsumersPerCore: number | undefined;
	packetsPerSubscriber: number;
};

function ratio(a: number | undefined, b: number | undefined): number | undefined {
	return a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
}

/** Mean of the defined values; undefined if there are none. */
function meanOf(values: (number | undefined)[]): number | undefined {
	const xs = values.filter((v): v is number => v !== undefined);
	return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
}

function times2(x: number | undefined): number | undefined {
	return x === undefined ? undefined : x * 2;
}

function describeStep(s: StepResult): string {
	const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
	return (
		`  ${s.good ? 'ok ' : 'BAD'} ${s.subscribersPerWorker} subscribers/worker (${s.wrtcPerWorker} wrtc): loss ${pct(s.window.loss)} (vs sent ${pct(s.window.lossVsSent)}),` +
		` wrtc ${pct(s.window.wrtcLoss)} (vs sent ${pct(s.window.wrtcLossVsSent)}); ${Math.round(Object.values(s.window.forwardedPps).reduce((a, b) => a + b, 0))} pkt/s; workers ${Object.values(s.window.workerCpu).map(pct).join('/')}` +
		`${s.throttledShare ? ` throttled ${s.throttledShare.map(pct).join('/')}` : ''}; server node ${pct(s.window.serverNodeCpu)}; client ${pct(s.window.clientCpu)}, sink ${pct(s.window.sinkCpu)}; cores ${s.window.cores.map((c) => `${pct(c.busy)} (softirq ${pct(c.softirq)})`).join(' ')}; ${(s.tookMs / 1000).toFixed(1)} s`
	);
}

export async function runCapacityFigures(
	settings: BenchSettings,
	processes: LoadProcesses,
	startServer: () => ChildHandle,
	packetsPerSubscriber: number,
	log: (line: string) => void,
	/** Cores for the 2-worker ramps' workers (one each, as in production); undefined: the server's core. */
	twoWorkerCores?: number[],
): Promise<CapacityFigures> {
	const budgetUnavailable = CpuBudget.unavailableReason();
	const budget = budgetUnavailable ? undefined : settings.workerBudget;
	const ramps: RampResult[] = [];
	const base = {
		processes,
		startServer,
		roomsPerWorker: settings.roomsPerWorker,
		windowMs: settings.windowMs,
		settleMs: settings.settleMs,
		rtcBasePort: settings.rtcBasePort,
		lossThreshold: settings.lossThreshold,
		loadCpuCeiling: settings.loadCpuCeiling,
		packetsPerSubscriber,
	};
	const ramp = async (
		config: CapacityConfig,
		nextStep: (steps: StepResult[]) => number | undefined,
		calibrates = false,
		workerCores?: number[],
	): Promise<RampResult> => {
		log(`capacity ${config.label}: ${config.mode}, ${config.workers} worker(s), ${config.budget ? `budget ${config.budget} core each` : 'whole core'}, ${config.load} load`);
		const result = await runRamp({ ...base, config, nextStep, workerCores, firstWindowMs: calibrates ? settings.calibrationWindowMs : undefined });
		for (const s of result.steps) log(describeStep(s));
		const sat = result.saturationPpsPerWorker ? `; saturated at ${Math.round(result.saturationPpsPerWorker)} pkt/s/worker` : '';
		log(`  => ${result.consumersPerWorker ?? 'none'} consumers/worker at <= 1% loss; limited by: ${result.limitedBy}${sat}${result.notes.length ? `; ${result.notes.join('; ')}` : ''}`);
		ramps.push(result);
		return result;
	};
	const planner = (b: number, knee?: number) =>
		kneeSearch(
			{
				first: settings.firstStep,
				budget: b,
				packetsPerSubscriber,
				fractions: settings.kneeFractions,
				extra: settings.extraSteps,
				bisect: settings.bisectSteps,
				resolution: settings.resolution,
			},
			knee,
		);

	// The budgeted ramps, `rounds` times over (A B C A B C: slow drifts of the
	// machine hit every configuration alike); figures are means over rounds.
	const tureen1: RampResult[] = [];
	const tureen2: RampResult[] = [];
	const raw: RampResult[] = [];
	if (budget !== undefined) {
		const mixed = { budget, wrtcPerWorker: settings.wrtcPerWorker, load: 'mixed' as const };
		if (twoWorkerCores) log(`capacity: with 2 workers, worker i runs on core ${twoWorkerCores.join(', ')}`);
		let knee: number | undefined;
		for (let round = 1; round <= settings.rounds; round++) {
			const suffix = round > 1 ? `#${round}` : '';
			const calibrating = planner(budget, knee);
			tureen1.push(await ramp({ label: `tureen-1w${suffix}`, mode: 'tureen', workers: 1, ...mixed }, calibrating.next, knee === undefined));
			knee ??= calibrating.knee();
			tureen2.push(await ramp({ label: `tureen-2w${suffix}`, mode: 'tureen', workers: 2, ...mixed }, planner(budget, knee).next, false, twoWorkerCores));
			raw.push(await ramp({ label: `raw-1w${suffix}`, mode: 'raw', workers: 1, ...mixed }, planner(budget, knee).next));
		}
	} else {
		log(`capacity: no CPU budgets (${budgetUnavailable}); only whole-core ramps`);
	}

	// Real clients only: as many wrtc subscribers as the client process can carry.
	// Each step re-aims at the CPU ceiling from the client's measured cost per subscriber.
	const aim = (perSubscriber: number) => Math.floor((settings.loadCpuCeiling * 0.95) / Math.max(perSubscriber, 0.001));
	const firstGuess = ramps.map((r) => r.clientCpuPerWrtcSubscriber).find((c) => c !== undefined) ?? 0.03;
	const wrtcOnly = await ramp({ label: 'tureen-1w-wrtc', mode: 'tureen', workers: 1, budget: undefined, wrtcPerWorker: 0, load: 'wrtc' }, (steps) => {
		const last = steps.at(-1);
		if (!last) return Math.max(1, Math.round(aim(firstGuess) * (settings.wrtcOnlySteps > 1 ? 0.6 : 1)));
		if (steps.length >= settings.wrtcOnlySteps || !last.good) return undefined;
		const next = aim(last.window.clientCpu / last.subscribersPerWorker);
		return next > last.subscribersPerWorker + 1 ? next : undefined;
	});
	if (wrtcOnly.limitedBy === 'not reached') wrtcOnly.limitedBy = 'client';

	let tureenCore: RampResult | undefined;
	let rawCore: RampResult | undefined;
	if (settings.wholeCoreRamps) {
		const mixed = { budget: undefined, wrtcPerWorker: settings.wrtcPerWorker, load: 'mixed' as const };
		const calibrating = planner(1);
		tureenCore = await ramp({ label: 'tureen-1w-core', mode: 'tureen', workers: 1, ...mixed }, calibrating.next, true);
		rawCore = await ramp({ label: 'raw-1w-core', mode: 'raw', workers: 1, ...mixed }, planner(1, calibrating.knee()).next);
	}

	const consumers = (rs: RampResult[]) => meanOf(rs.map((r) => r.consumersPerWorker));
	const saturated = (rs: RampResult[]) => meanOf(rs.map((r) => r.saturationPpsPerWorker));
	const usPerPacket = meanOf(tureen1.map((r) => r.workerUsPerPacket));
	return {
		budget,
		budgetUnavailable,
		twoWorkerCores,
		rounds: tureen1.length,
		ramps,
		tureen1w: consumers(tureen1),
		tureen2w: consumers(tureen2),
		raw1w: consumers(raw),
		scaling: ratio(times2(consumers(tureen2)), consumers(tureen1)),
		vsRaw: ratio(consumers(tureen1), consumers(raw)),
		scalingAtSaturation: ratio(times2(saturated(tureen2)), saturated(tureen1)),
		vsRawAtSaturation: ratio(saturated(tureen1), saturated(raw)),
		vsRawWholeCore: ratio(tureenCore?.consumersPerWorker, rawCore?.consumersPerWorker),
		estimatedConsumersPerCore: usPerPacket ? (1e6 / usPerPacket / packetsPerSubscriber) * CONSUMERS_PER_SUBSCRIBER : undefined,
		packetsPerSubscriber,
	};
}
