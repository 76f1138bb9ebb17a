// Subscribing: every other peer's track on the receive transport. Producers
// the server announces wait as pending until there is a receive transport
// (at join, or mid-move), then become consumers; each consumer is one
// RemoteTrack. The subscriber's own control of what it receives (layers,
// priority, its own pause, adaptive quality per video element) is here too.
import type { Device, types as msc } from 'mediasoup-client';

import type { ProducerInfo, RoomState } from '../src/protocol/messages.ts';
import { AdaptiveQuality } from './adaptiveQuality.ts';
import { asError, type EmitClientEvent, type RemoteTrack } from './clientTypes.ts';
import type { NotificationHandlers, Request } from './signallingSession.ts';
import { spatialLayersOf } from './simulcast.ts';
import { createWebRtcTransport, type IcePolicy, type TransportWatch } from './webRtcTransport.ts';

export type SubscribingDeps = {
	request: Request;
	device(): Device | undefined;
	watch: TransportWatch;
	ice: IcePolicy;
	emit: EmitClientEvent;
	/** Resolves once no entry into the room is under way (a move re-creates the receive transport). */
	settled(): Promise<void>;
	adaptiveQuality: boolean;
};

type SubscribingNotifications =
	| 'newProducer'
	| 'producerClosed'
	| 'producerPaused'
	| 'producerResumed'
	| 'consumerClosed'
	| 'consumerPaused'
	| 'consumerResumed'
	| 'consumerLayersChanged'
	| 'consumerScore';

export class Subscribing {
	readonly #deps: SubscribingDeps;
	#transport: msc.Transport | undefined;
	readonly #remotes = new Map<string, RemoteTrack>();
	/** Producers announced while no receive transport existed yet (join, or mid-move). */
	readonly #pending = new Map<string, ProducerInfo>();
	#adaptive: AdaptiveQuality | undefined;

	constructor(deps: SubscribingDeps) {
		this.#deps = deps;
	}

	get transport(): msc.Transport | undefined {
		return this.#transport;
	}

	get remoteTracks(): RemoteTrack[] {
		return [...this.#remotes.values()];
	}

	get consuming(): boolean {
		return this.#remotes.size > 0;
	}

	/** The producers to consume are exactly these (their state as the server lists it now). */
	expect(producers: RoomState['producers']): void {
		this.#pending.clear();
		for (const producer of producers) this.#pending.set(producer.producerId, producer);
	}

	async openTransport(): Promise<void> {
		const device = this.#deps.device();
		if (!device) throw new Error('join first');
		const { transport } = await createWebRtcTransport(device, 'recv', this.#deps.request, this.#deps.watch, this.#deps.ice);
		this.#transport = transport;
	}

	async consumePending(): Promise<void> {
		const transport = this.#transport;
		if (!transport || transport.closed) return;
		const pending = [...this.#pending.values()];
		this.#pending.clear();
		for (const producer of pending) {
			await this.#consume(transport, producer).catch((error: unknown) => {
				this.#deps.emit('error', { during: 'consume', producerId: producer.producerId, peerId: producer.peerId, error: asError(error) });
			});
		}
	}

	/** The transport is gone with the room's router (moved, closed, left): every remote track ends. */
	close(): void {
		for (const consumerId of [...this.#remotes.keys()]) this.#end(consumerId);
		this.#transport?.close();
		this.#transport = undefined;
	}

	readonly notificationHandlers: Pick<NotificationHandlers, SubscribingNotifications> = {
		newProducer: (producer) => {
			this.#pending.set(producer.producerId, producer);
			// Mid-move the new receive transport picks it up when ready.
			void this.#deps.settled().then(() => this.consumePending());
		},
		producerClosed: ({ producerId }) => {
			this.#pending.delete(producerId);
			for (const remote of this.#remotesOf(producerId)) this.#end(remote.consumerId);
		},
		producerPaused: ({ producerId }) => this.#producerPaused(producerId, true),
		producerResumed: ({ producerId }) => this.#producerPaused(producerId, false),
		consumerClosed: ({ consumerId }) => this.#end(consumerId),
		// This client paused or resumed the consumer itself: nothing to learn.
		consumerPaused: () => undefined,
		consumerResumed: () => undefined,
		consumerLayersChanged: (layers) => {
			this.#adaptive?.noteCurrentLayer(layers.consumerId, layers.spatialLayer ?? undefined);
			this.#deps.emit('layersChanged', layers);
		},
		consumerScore: (score) => this.#deps.emit('consumerScore', score),
	};

	// Layer control: what a subscriber asks of its own consumers (docs/protocol.md, "Simulcast and layers").

	async setPreferredLayers(consumerId: string, spatialLayer: number, temporalLayer?: number): Promise<void> {
		await this.#deps.request('setConsumerPreferredLayers', { consumerId, spatialLayer, ...(temporalLayer === undefined ? {} : { temporalLayer }) });
	}

	async pauseConsumer(consumerId: string): Promise<void> {
		await this.#deps.request('pauseConsumer', { consumerId });
	}

	async resumeConsumer(consumerId: string): Promise<void> {
		await this.#deps.request('resumeConsumer', { consumerId });
	}

	async setConsumerPriority(consumerId: string, priority: number): Promise<void> {
		await this.#deps.request('setConsumerPriority', { consumerId, priority });
	}

	async requestKeyFrame(consumerId: string): Promise<void> {
		await this.#deps.request('requestKeyFrame', { consumerId });
	}

	attachVideo(consumerId: string, element: HTMLVideoElement): void {
		const remote = this.#remotes.get(consumerId);
		if (!remote || remote.kind !== 'video' || !this.#deps.adaptiveQuality) return;
		if (typeof ResizeObserver === 'undefined' || typeof IntersectionObserver === 'undefined') return;
		this.#adaptive ??= new AdaptiveQuality(this);
		this.#adaptive.attach(consumerId, element, spatialLayersOf(remote.consumer.rtpParameters));
	}

	detachVideo(consumerId: string): void {
		this.#adaptive?.detach(consumerId);
	}

	async #consume(transport: msc.Transport, producer: ProducerInfo): Promise<void> {
		const { request } = this.#deps;
		const answer = await request('consume', { producerId: producer.producerId, transportId: transport.id });
		const consumer = await transport.consume({
			id: answer.consumerId,
			producerId: answer.producerId,
			kind: answer.kind,
			rtpParameters: answer.rtpParameters as msc.RtpParameters,
		});
		const remote: RemoteTrack = {
			track: consumer.track,
			kind: answer.kind,
			peerId: answer.peerId,
			producerId: answer.producerId,
			consumerId: consumer.id,
			consumer,
			source: producer.source,
			paused: answer.paused,
		};
		this.#remotes.set(consumer.id, remote);
		await request('resumeConsumer', { consumerId: consumer.id });
		this.#deps.emit('track', remote);
	}

	#end(consumerId: string): void {
		const remote = this.#remotes.get(consumerId);
		if (!remote) return;
		this.#remotes.delete(consumerId);
		this.#adaptive?.detach(consumerId);
		remote.consumer.close();
		const { peerId, producerId, source, kind } = remote;
		this.#deps.emit('trackEnded', { consumerId, peerId, producerId, source, kind });
	}

	#remotesOf(producerId: string): RemoteTrack[] {
		return [...this.#remotes.values()].filter((remote) => remote.producerId === producerId);
	}

	#producerPaused(producerId: string, paused: boolean): void {
		const pending = this.#pending.get(producerId);
		if (pending) this.#pending.set(producerId, { ...pending, paused });
		for (const remote of this.#remotesOf(producerId)) {
			// The app holds this record (from `track`): it reads the publisher's state from it.
			remote.paused = paused;
			const { peerId, source, kind } = remote;
			this.#deps.emit('trackPaused', { peerId, producerId, source, kind, paused });
		}
	}
}
