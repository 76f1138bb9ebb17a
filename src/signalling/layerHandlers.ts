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

	async requestKeyFrame({ peer }, { consumerId }) {
		const consumer = peer.ownConsumer(consumerId);
		if (consumer.kind !== 'video') throw new TureenError('BAD_REQUEST', `consumer ${consumerId} is not video`);
		await consumer.requestKeyFrame();
		return EMPTY;
	},

	async pauseConsumer({ peer }, { consumerId }) {
		const consumer = peer.ownConsumer(consumerId);
		await consumer.pause();
		peer.noteConsumerDemand(consumer);
		return EMPTY;
	},
};
