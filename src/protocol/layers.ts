// The simulcast part of the signalling protocol: the subscriber's control of
// its own consumers (layers, priority, key frames, its own pause) and what
// the server tells about layers. messages.ts merges these into the one
// protocol; docs/protocol.md ("Simulcast and layers") says what they mean.
import { z } from 'zod';

const consumerId = z.string().min(1).max(64);
/** mediasoup counts layers from 0; 16 is far above any encoder's. */
const layer = z.number().int().min(0).max(15);

export const layerRequestSchemas = {
	/** The highest layers this consumer should receive; the server picks the best available up to them. */
	setConsumerPreferredLayers: z.object({ consumerId, spatialLayer: layer, temporalLayer: layer.optional() }).strict(),
	/** Share of the receive bandwidth when it is short (mediasoup: 1 to 255, default 1). */
	setConsumerPriority: z.object({ consumerId, priority: z.number().int().min(1).max(255) }).strict(),
	requestKeyFrame: z.object({ consumerId }).strict(),
	/** The subscriber stops receiving (hidden tile); independent of the producer's own pause. */
	pauseConsumer: z.object({ consumerId }).strict(),
} as const;

type Empty = Record<string, never>;
export type LayerResponseData = {
	setConsumerPreferredLayers: Empty;
	setConsumerPriority: Empty;
	requestKeyFrame: Empty;
	pauseConsumer: Empty;
};

export type LayerNotifications = {
	/** The layers now forwarded to this consumer; null when none is (paused, or no layer available). */
	consumerLayersChanged: { consumerId: string; spatialLayer: number | null; temporalLayer: number | null };
	/** Transmission quality 0-10: of this consumer's stream, and of the producer's stream it forwards. */
	consumerScore: { consumerId: string; score: number; producerScore: number };
	/**
	 * Dynacast, to the publisher: no subscriber wants layers above
	 * `maxSpatialLayer` of this producer, so encodings above it may stop
	 * (and must start again when a later notification raises it).
	 */
	producerLayersWanted: { producerId: string; maxSpatialLayer: number };
};

const forwardedLayers = z.object({ spatialLayer: z.int(), temporalLayer: z.int().nullable() }).nullable();

/** One consumer's layers, as GET /rooms/:roomId shows them. */
export const consumerLayerStateSchema = z.object({
	consumerId: z.string(),
	producerId: z.string(),
	kind: z.enum(['audio', 'video']),
	type: z.string().describe("mediasoup's consumer type: 'simulcast' (and 'svc') have layers, 'simple' does not"),
	paused: z.boolean().describe('paused by its subscriber (pauseConsumer, or not yet resumed)'),
	producerPaused: z.boolean(),
	currentLayers: forwardedLayers.describe('the layers forwarded now; null when none'),
	preferredLayers: forwardedLayers.describe('the highest layers the subscriber asked for'),
	priority: z.int(),
	score: z.int(),
});
export type ConsumerLayerState = z.infer<typeof consumerLayerStateSchema>;
