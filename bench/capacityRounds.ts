// The capacity figures, round by round. Every round measures every
// configuration (in an order rotated each round, so slow drifts of the
// machine hit all alike):
//   probes at one fixed load per worker (about probeLoad of the budget):
//     main       Tureen's worker settings, SRTP (AES_CM_128_HMAC_SHA1_80)
//     floor      the same with SRTP off
//     raw        raw mediasoup with upstream's default worker settings, SRTP
//     other      as main, on the --worker-bin binary
//   ramps to saturation under the same per-worker budget:
//     main-1w, main-2w (and other-1w, other-2w with --worker-bin)
// Every worker runs on the server's core under the same cgroup budget, the
// load generators on the other core, so 1- and 2-worker ramps see the same
// surroundings. Ratios are taken inside a round only.
import type { ChildHandle } from './ipc.ts';
import { rampToSaturation } from './ramp.ts';
import type { BenchSettings } from './settings.ts';
import { pairedRatios, spreadOf, type Spread } from './stats.ts';
import { recordingSteps, type StepConfig, type StepResult, type StepTiming } from './step.ts';

export type Binary = StepConfig['binary'];

const PROBES: StepConfig[] = [
	{ label: 'main', binary: 'main', mode: 'tureen', workers: 1, srtp: true, shape: 'rooms' },
	{ label: 'floor', binary: 'main', mode: 'tureen', workers: 1, srtp: false, shape: 'rooms' },
	{ label: 'raw', binary: 'main', mode: 'raw', workers: 1, srtp: true, shape: 'rooms' },
	{ label: 'other', binary: 'other', mode: 'tureen', workers: 1, srtp: true, shape: 'rooms' },
];
const RAMPS: StepConfig[] = [1, 2].flatMap((workers) =>
	(['main', 'other'] as const).map((binary) => ({ label: `${binary}-${workers}w`, binary, mode: 'tureen' as const, workers, srtp: true, shape: 'rooms' as const })),
);

/** One value per round, undefined where that round's measurement failed (the reason is in `errors`). */
export type PerRound = (number | undefined)[];

export type CapacityFigures = {
	budget: number;
	packetsPerSubscriber: number;
	probeSubscribersPerWorker: number;
	/** Worker CPU per forwarded packet (us) of each probe, per round. */
	usPerPacket: Record<string, PerRound>;
	/** Packets/s one worker forwarded at the highest carried step of each ramp, per round. */
	saturationPpsPerWorker: Record<string, PerRound>;
	steps: StepResult[];
	calibration: StepResult;
	errors: string[];
};

type Processes = { servers: Record<Binary, ChildHandle | undefined>; sink: ChildHandle };

function rotate<T>(list: T[], by: number): T[] {
	const k = by % Math.max(1, list.length);
	return [...list.slice(k), ...list.slice(0, k)];
}

export async function runCapacityRounds(
	settings: BenchSettings,
	processes: Processes,
	packetsPerSubscriber: number,
	budgetPrefix: string,
	log: (line: string) => void,
): Promise<CapacityFigures> {
	const timing: StepTiming = { ...settings, budget: settings.workerBudget };
	const withOther = processes.servers.other !== undefined;
	const probes = PROBES.filter((c) => withOther || c.binary === 'main');
	const ramps = RAMPS.filter((c) => withOther || c.binary === 'main');
	const { steps, run } = recordingSteps(timing, budgetPrefix, log);
	const errors: string[] = [];
	const step = (config: StepConfig, perWorker: number, round: number) => run({ server: processes.servers[config.binary]!, sink: processes.sink }, config, perWorker, round);
	/** Subscribers per worker a worker at `usPerPacket` carries at `share` of its budget. */
	const atShare = (usPerPacket: number, share: number) => (share * settings.workerBudget * 1e6) / usPerPacket / packetsPerSubscriber;

	// Calibration (also a warm-up): plans the probe load, figures nothing.
	const calibration = await step(probes[0]!, settings.calibrationSubscribers, 0);
	const probeSubscribers = Math.max(2, Math.round(atShare(calibration.usPerPacket, settings.probeLoad)));
	log(`capacity: probes at ${probeSubscribers} subscribers per worker (about ${settings.probeLoad} of the ${settings.workerBudget}-core budget)`);

	const usPerPacket: Record<string, PerRound> = Object.fromEntries(probes.map((c) => [c.label, []]));
	const saturation: Record<string, PerRound> = Object.fromEntries(ramps.map((c) => [c.label, []]));
	const lastKnee = new Map<string, number>();
	for (let round = 1; round <= settings.rounds; round++) {
		log(`capacity: round ${round} of ${settings.rounds}`);
		for (const config of rotate(probes, round - 1)) {
			let result = await step(config, probeSubscribers, round);
			// One retry: a probe is far below saturation, so a failure is a disturbance, not the load.
			if (!result.verdict.good) result = await step(config, probeSubscribers, round);
			if (result.verdict.good) usPerPacket[config.label]![round - 1] = result.usPerPacket;
			else errors.push(`probe ${config.label}, round ${round}: not carried twice at ${probeSubscribers}/worker (${result.verdict.reasons.join('; ')})`);
		}
		for (const config of rotate(ramps, round - 1)) {
			// The probe of the ramp's binary (each binary's SRTP probe is labelled by it).
			const probeUs = usPerPacket[config.binary]![round - 1] ?? calibration.usPerPacket;
			const start = lastKnee.get(config.label) ?? atShare(probeUs, settings.rampStart);
			const plan = { start, stride: settings.stride, maxStrides: settings.maxStrides, bisections: settings.bisections, resolution: settings.resolution };
			const ramp = await rampToSaturation((n) => step(config, n, round), plan);
			if (!ramp.saturated) {
				errors.push(`ramp ${config.label}, round ${round}: ${ramp.why}`);
				continue;
			}
			const { lo, hi, best } = ramp;
			saturation[config.label]![round - 1] = best.forwardedPps / config.workers;
			lastKnee.set(config.label, lo);
			log(`  => ${config.label} round ${round}: carried ${lo}/worker (${Math.round(best.forwardedPps / config.workers)} pkt/s per worker), failed at ${hi}`);
		}
	}
	return {
		budget: settings.workerBudget,
		packetsPerSubscriber,
		probeSubscribersPerWorker: probeSubscribers,
		usPerPacket,
		saturationPpsPerWorker: saturation,
		steps,
		calibration,
		errors,
	};
}

/** A figure over the rounds, or undefined when some round failed (the run reports why and exits non-zero). */
export function summary(values: PerRound | undefined, rounds: number): Spread | undefined {
	if (!values) return undefined;
	// A loop, not .some(): a round that never recorded a figure is a hole that .some() would skip.
	const complete: number[] = [];
	for (let i = 0; i < rounds; i++) {
		const v = values[i];
		if (v === undefined) return undefined;
		complete.push(v);
	}
	return spreadOf(complete);
}

/** numerator / denominator paired by round, or undefined when either misses a round. */
export function pairedSummary(numerator: PerRound | undefined, denominator: PerRound | undefined, rounds: number, scale = 1): Spread | undefined {
	const n = summary(numerator, rounds);
	const d = summary(denominator, rounds);
	return n && d ? spreadOf(pairedRatios(n.rounds, d.rounds).map((r) => r * scale)) : undefined;
}
