// Which simulcast layer each video consumer forwards now, counted per label.
// The labels are a fixed list, so the series stay bounded however many rooms,
// peers or layers there are.
import type { ConsumerLayerState } from '../protocol/messages.ts';

/** Spatial layer forwarded: 0, 1, 2, 3 or above, none (paused or no layer available). */
export const FORWARDED_LAYER_LABELS = ['0', '1', '2', '3+', 'none'] as const;
export type ForwardedLayerLabel = (typeof FORWARDED_LAYER_LABELS)[number];

export function forwardedLayerLabel(state: ConsumerLayerState): ForwardedLayerLabel {
	const spatial = state.currentLayers?.spatialLayer;
	if (spatial === undefined || state.paused || state.producerPaused) return 'none';
	return spatial >= 3 ? '3+' : (String(spatial) as ForwardedLayerLabel);
}

/** Video consumers with layers (simulcast, SVC) per label; every label present. */
export function countForwardedLayers(states: Iterable<ConsumerLayerState>): Record<ForwardedLayerLabel, number> {
	const counts = Object.fromEntries(FORWARDED_LAYER_LABELS.map((l) => [l, 0])) as Record<ForwardedLayerLabel, number>;
	for (const state of states) {
		if (state.kind === 'video' && (state.type === 'simulcast' || state.type === 'svc')) counts[forwardedLayerLabel(state)] += 1;
	}
	return counts;
}
