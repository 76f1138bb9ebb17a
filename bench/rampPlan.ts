// Where a ramp measures next: strides from a start point until one step is
// carried and one is not, then bisection between them (finer steps near
// saturation). Pure: a function of the steps tried so far.

export type RampPlan = {
	/** First step, in the ramp's unit of load (subscribers per worker, or peers of one room). */
	start: number;
	/** Factor between steps while the ramp has not yet found both a carried and a failed step. */
	stride: number;
	maxStrides: number;
	/** Bisections between the highest carried and the lowest failed step, at most this many, down to `resolution` (relative). */
	bisections: number;
	resolution: number;
};

export type Tried = { load: number; good: boolean };

/** The highest carried step below the lowest failed one, and that failed one. */
export function bracket(tried: readonly Tried[]): { lo: number | undefined; hi: number | undefined } {
	const bad = tried.filter((t) => !t.good).map((t) => t.load);
	const hi = bad.length ? Math.min(...bad) : undefined;
	const good = tried.filter((t) => t.good && (hi === undefined || t.load < hi)).map((t) => t.load);
	return { lo: good.length ? Math.max(...good) : undefined, hi };
}

/** The next step (a load), or undefined when the ramp is done. */
export function nextRampStep(tried: readonly Tried[], plan: RampPlan): number | undefined {
	if (tried.length === 0) return Math.max(1, Math.round(plan.start));
	const { lo, hi } = bracket(tried);
	if (lo === undefined || hi === undefined) {
		if (tried.length > plan.maxStrides) return undefined;
		if (hi === undefined) return Math.max(lo! + 1, Math.round(lo! * plan.stride));
		const down = Math.min(hi - 1, Math.round(hi / plan.stride));
		return down >= 1 ? down : undefined;
	}
	const bracketedAt = tried.findIndex((_, i) => {
		const b = bracket(tried.slice(0, i + 1));
		return b.lo !== undefined && b.hi !== undefined;
	});
	const bisected = tried.length - 1 - bracketedAt;
	if (bisected >= plan.bisections || hi - lo <= Math.max(1, plan.resolution * lo)) return undefined;
	return Math.round((lo + hi) / 2);
}
