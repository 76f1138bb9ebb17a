// Requests of the subscriber about its own consumers' layers (the simulcast
// part of the protocol, src/protocol/layers.ts). Each acts only on a consumer
// of the calling peer; the participant tells the producer's owner when what
// the consumer wants changed (dynacast).
import type { LayerResponseData } from '../protocol/layers.ts';
import { EMPTY, type Handlers } from './handlerTypes.ts';

export const layerHandlers: Pick<Handlers, keyof LayerResponseData> = {
	async setConsumerPreferredLayers({ peer }, { consumerId, spatialLayer, temporalLayer }) {
		await peer.setConsumerPreferredLayers(consumerId, { spatialLayer, ...(temporalLayer === undefined ? {} : { temporalLayer }) });
		return EMPTY;
	},

	async setConsumerPriority({ peer }, { consumerId, priority }) {
		await peer.setConsumerPriority(consumerId, priority);
		return EMPTY;
	},

	async requestKeyFrame({ deps, peer }, { consumerId }) {
		await peer.requestKeyFrame(consumerId, deps.keyFrames);
		return EMPTY;
	},

	async pauseConsumer({ peer }, { consumerId }) {
		await peer.pauseConsumer(consumerId);
		return EMPTY;
	},
};
