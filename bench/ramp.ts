// A ramp to saturation: steps planned by rampPlan.ts, run one after the
// other, until the highest carried load below the lowest failed one is found.
import { bracket, nextRampStep, type RampPlan, type Tried } from './rampPlan.ts';
import type { StepResult } from './step.ts';

export type RampOutcome = {
	tried: StepResult[];
	/** Highest carried load below the lowest failed one, and that failed one (undefined when the ramp never found it). */
	lo: number | undefined;
	hi: number | undefined;
	/** The carried step at `lo`. */
	best: StepResult | undefined;
};

export async function rampToSaturation(step: (load: number) => Promise<StepResult>, plan: RampPlan): Promise<RampOutcome> {
	const tried: StepResult[] = [];
	const judged = (): Tried[] => tried.map((s) => ({ load: s.load, good: s.verdict.good }));
	for (let load = nextRampStep([], plan); load !== undefined; load = nextRampStep(judged(), plan)) tried.push(await step(load));
	const { lo, hi } = bracket(judged());
	const best = lo === undefined ? undefined : tried.find((s) => s.load === lo && s.verdict.good);
	return { tried, lo, hi, best };
}
