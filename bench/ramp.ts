// A ramp to saturation: steps planned by rampPlan.ts, run one after the
// other, until the highest carried load below the lowest failed one is found.
import { bracket, nextRampStep, type RampPlan, type Tried } from './rampPlan.ts';
import type { StepResult } from './step.ts';

export type RampOutcome =
	/** `lo`: the highest carried load below the lowest failed one, `hi`; `best`: the carried step at `lo`. */
	| { saturated: true; tried: StepResult[]; lo: number; hi: number; best: StepResult }
	/** Why the ramp found no such pair, with the loads it tried. */
	| { saturated: false; tried: StepResult[]; why: string };

export async function rampToSaturation(step: (load: number) => Promise<StepResult>, plan: RampPlan): Promise<RampOutcome> {
	const tried: StepResult[] = [];
	const judged = (): Tried[] => tried.map((s) => ({ load: s.load, good: s.verdict.good }));
	for (let load = nextRampStep([], plan); load !== undefined; load = nextRampStep(judged(), plan)) tried.push(await step(load));
	const { lo, hi } = bracket(judged());
	const best = lo === undefined ? undefined : tried.find((s) => s.load === lo && s.verdict.good);
	if (lo !== undefined && hi !== undefined && best) return { saturated: true, tried, lo, hi, best };
	return { saturated: false, tried, why: `${lo === undefined ? 'no step was carried' : 'never saturated'} (tried ${tried.map((s) => s.load).join(', ')})` };
}
