// Small statistics helpers.

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

export { seededRandom } from '../test/support/random.ts';
