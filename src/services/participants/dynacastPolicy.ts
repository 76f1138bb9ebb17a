// Dynacast policy: which simulcast encodings a publisher should keep sending.
// A pure function of one producer's consumers and the previous decision, so
// every rule is tested without a worker or a browser; the mechanism (who
// gathers the wants, keeps the timers and tells the publisher) lives in
// dynacast.ts beside it.

/** What one consumer of the producer asks for right now. */
export type ConsumerWant = {
	/** The subscriber's preferred spatial layer (0 = smallest). */
	preferredSpatialLayer: number;
	/** Paused by its subscriber (hidden tile): it wants nothing. */
	paused: boolean;
};

/** What was last decided for a producer. */
export type DynacastState = {
	/** Highest spatial layer the publisher was told to send. */
	maxSpatialLayer: number;
	/** Epoch ms since when every consumer has wanted less than maxSpatialLayer; undefined while not. */
	lowerSince: number | undefined;
};

export type DynacastOptions = {
	/** How long a lower want must hold before the publisher drops layers (a resize must not flap). */
	holdOffMs: number;
};

export type DynacastDecision = {
	state: DynacastState;
	/** The publisher must be told (maxSpatialLayer differs from the previous state). */
	changed: boolean;
	/** Epoch ms when the decision may change without any new input (a pending lowering); undefined if never. */
	recheckAt: number | undefined;
};

/**
 * The highest spatial layer any live consumer wants, within [0, spatialLayers - 1].
 * Layer 0 always stays on, even when nobody watches: a new subscriber sees
 * video at once, and the smallest encoding costs the publisher little.
 */
export function wantedSpatialLayer(consumers: readonly ConsumerWant[], spatialLayers: number): number {
	const top = Math.max(0, spatialLayers - 1);
	let wanted = 0;
	for (const c of consumers) {
		if (!c.paused) wanted = Math.max(wanted, Math.min(Math.max(0, Math.floor(c.preferredSpatialLayer)), top));
	}
	return wanted;
}

/** Before the first decision the publisher sends every encoding (that is what it starts with). */
export function initialDynacastState(spatialLayers: number): DynacastState {
	return { maxSpatialLayer: Math.max(0, spatialLayers - 1), lowerSince: undefined };
}

/**
 * Rules: a higher want is granted at once; a lower want is granted only once
 * it has held for `holdOffMs` (measured from when the wants first dropped
 * below the current layer, so steps down within the hold-off go straight to
 * the latest want); a want equal to the current layer cancels a pending drop.
 */
export function decideDynacast(
	consumers: readonly ConsumerWant[],
	spatialLayers: number,
	previous: DynacastState,
	now: number,
	{ holdOffMs }: DynacastOptions,
): DynacastDecision {
	const wanted = wantedSpatialLayer(consumers, spatialLayers);
	const current = previous.maxSpatialLayer;
	if (wanted >= current) {
		const state = { maxSpatialLayer: wanted, lowerSince: undefined };
		return { state, changed: wanted !== current, recheckAt: undefined };
	}
	const lowerSince = previous.lowerSince ?? now;
	const dueAt = lowerSince + holdOffMs;
	if (now >= dueAt) {
		return { state: { maxSpatialLayer: wanted, lowerSince: undefined }, changed: true, recheckAt: undefined };
	}
	return { state: { maxSpatialLayer: current, lowerSince }, changed: false, recheckAt: dueAt };
}
