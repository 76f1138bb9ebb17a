/**
 * A peer consumes a given producer (or data producer) at most once per
 * transport: a second consumer of the same stream on the same transport only
 * multiplies what the worker sends (issue 21, finding 2). Each consumer is
 * tagged at creation with what it consumes and where; this decides from the
 * tags of the peer's consumers now.
 */
export const CONSUMERS_PER_PRODUCER_PER_TRANSPORT = 1;

/** What a consumer carries in its appData: the transport it is on and the (client-visible) id it consumes. */
export type ConsumerTag = { transportId: string; consumes: string };

/** How many of `held` consume `wanted.consumes` on `wanted.transportId`. */
export function consumersOf(held: Iterable<{ appData: Record<string, unknown> }>, wanted: ConsumerTag): number {
	let count = 0;
	for (const { appData } of held) {
		if (appData.transportId === wanted.transportId && appData.consumes === wanted.consumes) count += 1;
	}
	return count;
}
