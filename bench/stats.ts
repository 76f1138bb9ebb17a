// Small statistics helpers: percentiles, the summary of a figure over rounds
// (median and min-max), and ratios paired inside a round.

/** The p-th percentile (0-100) by linear interpolation; undefined for no values. */
export function percentile(values: readonly number[], p: number): number | undefined {
	if (values.length === 0) return undefined;
	const sorted = [...values].sort((a, b) => a - b);
	const rank = (p / 100) * (sorted.length - 1);
	const low = Math.floor(rank);
	const high = Math.ceil(rank);
	return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function mean(values: readonly number[]): number | undefined {
	return values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
}

/** One figure over the rounds of a run: every round's value, its median and its spread. */
export type Spread = { median: number; min: number; max: number; rounds: number[] };

/** Median and min-max of one value per round; throws on no values or a non-finite one (no silent gaps). */
export function spreadOf(rounds: readonly number[]): Spread {
	if (rounds.length === 0) throw new Error('no rounds to summarise');
	const bad = rounds.find((x) => !Number.isFinite(x));
	if (bad !== undefined) throw new Error(`not a finite figure: ${bad}`);
	return { median: percentile(rounds, 50)!, min: Math.min(...rounds), max: Math.max(...rounds), rounds: [...rounds] };
}

/**
 * Ratio numerator[i] / denominator[i] for every round i: both figures of a
 * ratio always come from the same round, never from different ones.
 */
export function pairedRatios(numerator: readonly number[], denominator: readonly number[]): number[] {
	if (numerator.length !== denominator.length) {
		throw new Error(`cannot pair ${numerator.length} rounds with ${denominator.length}`);
	}
	return numerator.map((n, i) => {
		const d = denominator[i]!;
		if (!(d > 0) || !Number.isFinite(n)) throw new Error(`round ${i + 1}: cannot divide ${n} by ${d}`);
		return n / d;
	});
}

export { seededRandom } from '../test/support/random.ts';
