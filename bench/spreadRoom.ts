// The largest all-to-all room (every peer publishes video + audio and
// receives every other peer) carried at <= 1% loss per consumer, on 1 worker
// against the same room spread over 2 workers by Tureen's own peer placement
// (ROOM_MAX_PEERS_PER_ROUTER at half the room, media piped between the
// routers). Each round ramps both, in alternating order, with the same
// per-worker budget (its own, settings.spreadRoomBudget) and cores, so the
// 2-worker / 1-worker ratio is paired inside a round. The ramp's unit is one peer: the room's consumers
// grow as N(N - 1) x 2.
import type { ChildHandle } from './ipc.ts';
import { rampToSaturation } from './ramp.ts';
import type { BenchSettings } from './settings.ts';
import { recordingSteps, type StepConfig, type StepResult, type StepTiming } from './step.ts';

export type SpreadRoomRound = {
	round: number;
	/** Per layout: peers and consumers of the largest room carried, undefined when its ramp failed. */
	peers: { oneWorker: number | undefined; twoWorkers: number | undefined };
	consumers: { oneWorker: number | undefined; twoWorkers: number | undefined };
	/** Packets/s forwarded to subscribers at that room, all workers together. */
	forwardedPps: { oneWorker: number | undefined; twoWorkers: number | undefined };
};

export type SpreadRoomFigures = { budget: number; calibrationUsPerPacket: number; rounds: SpreadRoomRound[]; steps: StepResult[]; errors: string[] };

const LAYOUTS: { key: 'oneWorker' | 'twoWorkers'; config: StepConfig }[] = [1, 2].map((workers) => ({
	key: workers === 1 ? 'oneWorker' : 'twoWorkers',
	config: { label: `room-${workers}w`, binary: 'main', mode: 'tureen', workers, srtp: true, shape: 'mesh' },
}));

/** Small enough for any budget the bench allows (30 subscriber pairs, about 5,000 pkt/s). */
const CALIBRATION_PEERS = 6;

/** Peers of an all-to-all room whose forwarding is `ppsPerWorker` on each of `workers` workers (N(N - 1) subscriber pairs). */
export function peersForLoad(ppsPerWorker: number, workers: number, packetsPerSubscriber: number): number {
	const pairs = (ppsPerWorker * workers) / packetsPerSubscriber;
	return Math.max(2, Math.round((1 + Math.sqrt(1 + 4 * pairs)) / 2));
}

export async function runSpreadRoomRounds(
	settings: BenchSettings,
	processes: { server: ChildHandle; sink: ChildHandle },
	packetsPerSubscriber: number,
	budgetPrefix: string,
	log: (line: string) => void,
): Promise<SpreadRoomFigures> {
	const timing: StepTiming = { ...settings, budget: settings.spreadRoomBudget };
	const { steps, run } = recordingSteps(timing, budgetPrefix, log);
	const errors: string[] = [];
	const step = (config: StepConfig, load: number, round: number) => run(processes, config, load, round);
	// Where to start: a room that would fill the budget at the cost per packet of a small room on one worker.
	const calibration = await step(LAYOUTS[0]!.config, CALIBRATION_PEERS, 0);
	const budgetPps = (settings.spreadRoomBudget * 1e6) / calibration.usPerPacket;
	const lastKnee = new Map<string, number>();
	const rounds: SpreadRoomRound[] = [];
	for (let round = 1; round <= settings.rounds; round++) {
		const got: SpreadRoomRound = { round, peers: { oneWorker: undefined, twoWorkers: undefined }, consumers: { oneWorker: undefined, twoWorkers: undefined }, forwardedPps: { oneWorker: undefined, twoWorkers: undefined } };
		const order = round % 2 === 1 ? LAYOUTS : [...LAYOUTS].reverse();
		for (const { key, config } of order) {
			const start = lastKnee.get(config.label) ?? peersForLoad(budgetPps, config.workers, packetsPerSubscriber);
			// Strides as the capacity ramps (at least one peer), then bisection down to one peer. The
			// small calibration room's cost per packet overestimates a saturated worker's, so the
			// first round may climb further: allow more strides.
			const plan = { start, stride: settings.stride, maxStrides: settings.maxStrides + 4, bisections: 3, resolution: 0 };
			const ramp = await rampToSaturation((n) => step(config, n, round), plan);
			if (!ramp.saturated) {
				errors.push(`spread room ${config.label}, round ${round}: ${ramp.why}`);
				continue;
			}
			const { lo, hi, best } = ramp;
			lastKnee.set(config.label, lo);
			got.peers[key] = lo;
			got.consumers[key] = best.consumers;
			got.forwardedPps[key] = best.forwardedPps;
			log(`  => ${config.label} round ${round}: carried ${lo} peers (${best.consumers} consumers, ${Math.round(best.forwardedPps)} pkt/s), failed at ${hi}`);
		}
		rounds.push(got);
	}
	return { budget: settings.spreadRoomBudget, calibrationUsPerPacket: calibration.usPerPacket, rounds, steps, errors };
}
