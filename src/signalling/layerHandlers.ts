// Requests of the subscriber about its own consumers' layers (the simulcast
// part of the protocol, src/protocol/layers.ts). Each acts only on a consumer
// of the calling peer, and tells the producer's owner when what the consumer
// wants changed (dynacast).
import type { types as ms } from 'mediasoup';

import { TureenError } from '../errors.ts';
import type { LayerResponseData } from '../protocol/layers.ts';
import type { Handlers } from './handlers.ts';

const EMPTY = {} as Record<string, never>;

function requireLayers(consumer: ms.Consumer): ms.Consumer {
	if (consumer.type === 'simple' || consumer.type === 'pipe') {
		throw new TureenError('BAD_REQUEST', `consumer ${consumer.id} has no layers (its producer is not simulcast or SVC)`);
	}
	return consumer;
}

/** The stream a consumer's key frame comes from: its producer, and the spatial layer it forwards (or wants). */
function keyFrameStream(consumer: ms.Consumer): string {
	const layer = consumer.currentLayers?.spatialLayer ?? consumer.preferredLayers?.spatialLayer ?? 0;
	return `${consumer.producerId}:${layer}`;
}

export const layerHandlers: Pick<Handlers, keyof LayerResponseData> = {
	async setConsumerPreferredLayers({ peer }, { consumerId, spatialLayer, temporalLayer }) {
		const consumer = requireLayers(peer.ownConsumer(consumerId));
		await consumer.setPreferredLayers({ spatialLayer, ...(temporalLayer === undefined ? {} : { temporalLayer }) });
		peer.noteConsumerDemand(consumer);
		return EMPTY;
	},

	async setConsumerPriority({ peer }, { consumerId, priority }) {
		await peer.ownConsumer(consumerId).setPriority(priority);
		return EMPTY;
	},

	async requestKeyFrame({ deps, peer }, { consumerId }) {
		const consumer = peer.ownConsumer(consumerId);
		if (consumer.kind !== 'video') throw new TureenError('BAD_REQUEST', `consumer ${consumerId} is not video`);
		// Issue 21 finding 8: coalesced per producer stream (src/limits/keyFramePolicy.ts).
		const ask = () => consumer.requestKeyFrame();
		await (deps.keyFrames ? deps.keyFrames.request(keyFrameStream(consumer), ask) : ask());
		return EMPTY;
	},

	async pauseConsumer({ peer }, { consumerId }) {
		const consumer = peer.ownConsumer(consumerId);
		await consumer.pause();
		peer.noteConsumerDemand(consumer);
		return EMPTY;
	},
};
