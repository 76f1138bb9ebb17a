// Whether a load step was carried: judged per consumer, not only over all of
// them, so one stalled consumer among a hundred fails the step.

/** What one consumer did during a window: packets its producer sent, packets it received, and the sequence range it covered. */
export type ConsumerWindow = { key: string; sent: number; received: number; expected: number };

export type VerdictLimits = {
	/** Highest sequence-gap loss of any single consumer. */
	lossThreshold: number;
	/** Highest received-vs-sent deficit over all consumers (a backlog building up). */
	backlogThreshold: number;
	/** A consumer that received less than this share of what its producer sent has stalled. */
	stallShare: number;
};

export type StepVerdict = {
	good: boolean;
	/** Why the step failed (empty when good). */
	reasons: string[];
	consumers: number;
	stalled: number;
	/** Consumers whose sequence-gap loss exceeded the threshold. */
	lossy: number;
	worstLoss: number;
	/** 1 - received / sent over all consumers: grows while a worker falls behind, negative while a backlog drains. */
	deficit: number;
};

/** 1 - received / sent over all consumers (0 when nothing was sent). */
export function deficitOf(consumers: readonly ConsumerWindow[]): number {
	const sent = consumers.reduce((n, c) => n + c.sent, 0);
	const received = consumers.reduce((n, c) => n + c.received, 0);
	return sent > 0 ? 1 - received / sent : 0;
}

function lossOf(c: ConsumerWindow): number {
	return c.expected > 0 ? Math.max(0, c.expected - c.received) / c.expected : 0;
}

export function judgeStep(consumers: readonly ConsumerWindow[], limits: VerdictLimits): StepVerdict {
	const reasons: string[] = [];
	const stalled = consumers.filter((c) => c.sent > 0 && c.received < limits.stallShare * c.sent);
	const lossy = consumers.filter((c) => lossOf(c) > limits.lossThreshold);
	const worstLoss = Math.max(0, ...consumers.map(lossOf));
	const deficit = deficitOf(consumers);
	const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
	if (consumers.length === 0) reasons.push('no consumer was measured');
	if (stalled.length) reasons.push(`${stalled.length} consumer(s) stalled (e.g. ${stalled[0]!.key}: ${stalled[0]!.received} of ${stalled[0]!.sent} packets)`);
	if (lossy.length) reasons.push(`${lossy.length} consumer(s) lost more than ${pct(limits.lossThreshold)} (worst ${pct(worstLoss)})`);
	if (deficit > limits.backlogThreshold) reasons.push(`received ${pct(deficit)} less than sent over all consumers (falling behind)`);
	return { good: reasons.length === 0, reasons, consumers: consumers.length, stalled: stalled.length, lossy: lossy.length, worstLoss, deficit };
}
