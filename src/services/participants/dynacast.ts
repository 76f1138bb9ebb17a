// Dynacast mechanism for one simulcast producer: gathers what its consumers
// want when told something changed, applies the policy
// (dynacastPolicy.ts) and tells the publisher, and re-checks
// when a pending drop's hold-off ends.
import type { types as ms } from 'mediasoup';

import {
	decideDynacast,
	initialDynacastState,
	type ConsumerWant,
	type DynacastState,
} from './dynacastPolicy.ts';

/** Lowering waits this long: a tile resized or scrolled past must not make the publisher re-encode. */
export const DYNACAST_HOLD_OFF_MS = 1500;

export type ProducerDynacastDeps = {
	spatialLayers: number;
	/** What every consumer of the producer wants now. */
	wants(): ConsumerWant[];
	/** Tell the publisher (producerLayersWanted). */
	tell(maxSpatialLayer: number): void;
	holdOffMs?: number;
	now?: () => number;
};

export class ProducerDynacast {
	readonly #deps: ProducerDynacastDeps;
	#state: DynacastState;
	#timer: NodeJS.Timeout | undefined;
	#closed = false;

	constructor(deps: ProducerDynacastDeps) {
		this.#deps = deps;
		this.#state = initialDynacastState(deps.spatialLayers);
	}

	get maxSpatialLayer(): number {
		return this.#state.maxSpatialLayer;
	}

	/** Something about the consumers changed (one added, closed, paused, resumed, or a new preference). */
	review(): void {
		if (this.#closed) return;
		clearTimeout(this.#timer);
		this.#timer = undefined;
		const now = (this.#deps.now ?? Date.now)();
		const decision = decideDynacast(this.#deps.wants(), this.#deps.spatialLayers, this.#state, now, {
			holdOffMs: this.#deps.holdOffMs ?? DYNACAST_HOLD_OFF_MS,
		});
		this.#state = decision.state;
		if (decision.changed) this.#deps.tell(decision.state.maxSpatialLayer);
		if (decision.recheckAt !== undefined) {
			this.#timer = setTimeout(() => this.review(), Math.max(0, decision.recheckAt - now));
			this.#timer.unref();
		}
	}

	close(): void {
		this.#closed = true;
		clearTimeout(this.#timer);
	}
}

/** Dynacast for a simulcast video producer (none otherwise): `wants` gathers the room's consumers of it, `tell` reaches its publisher. */
export function dynacastFor(
	producer: Pick<ms.Producer, 'kind' | 'rtpParameters'>,
	{ wants, tell }: { wants: (spatialLayers: number) => ConsumerWant[]; tell: (maxSpatialLayer: number) => void },
): ProducerDynacast | undefined {
	const spatialLayers = producer.rtpParameters.encodings?.length ?? 1;
	if (producer.kind !== 'video' || spatialLayers < 2) return undefined;
	// Nobody consumes it yet: after the hold-off the publisher may keep only its smallest layer.
	return new ProducerDynacast({ spatialLayers, wants: () => wants(spatialLayers), tell });
}
