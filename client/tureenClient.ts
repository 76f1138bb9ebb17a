// Tureen's client library: join a room, publish tracks, get every remote
// track as an event. It wraps mediasoup-client and the shared protocol, and
// recovers by itself when the server moves the room to another worker or, in
// a cluster, when the room's node sends it elsewhere or goes away.
//
// This class composes the parts and keeps the public API: the signalling
// session (signallingSession.ts), publishing (publishing.ts), subscribing
// (subscribing.ts), data channels (dataChannels.ts) and the one path into
// the room that join, room moves and rehoming share (roomEntry.ts).
import type { types as msc } from 'mediasoup-client';

import type { MediaSource, RoomState } from '../src/protocol/messages.ts';
import {
	asError,
	type JoinOptions,
	type JoinResult,
	type PublishedProducer,
	type RemoteTrack,
	type TureenClientEvents,
	type TureenClientOptions,
} from './clientTypes.ts';
import { connectionStateOf, type ConnectionState } from './connectionState.ts';
import { DataChannels, type DataSender } from './dataChannels.ts';
import { Emitter } from './events.ts';
import { Publishing } from './publishing.ts';
import { RoomEntry } from './roomEntry.ts';
import { dispatchNotification, SignallingSession, type NotificationHandlers } from './signallingSession.ts';
import { Subscribing } from './subscribing.ts';
import { restartIce, waitConnected, type TransportWatch } from './webRtcTransport.ts';

export { SignallingError } from './signallingChannel.ts';
export { NoTurnServerError } from './webRtcTransport.ts';
export type { ConnectionState } from './connectionState.ts';
export type { DataMessage, DataSender } from './dataChannels.ts';
export type {
	ClientError,
	JoinOptions,
	JoinResult,
	PublishedProducer,
	RemoteTrack,
	TureenClientEvents,
	TureenClientOptions,
} from './clientTypes.ts';

export class TureenClient extends Emitter<TureenClientEvents> {
	readonly #recoveryTimeoutMs: number;
	readonly #session: SignallingSession;
	readonly #entry: RoomEntry;
	readonly #publishing: Publishing;
	readonly #subscribing: Subscribing;
	readonly #data: DataChannels;
	readonly #handlers: NotificationHandlers;
	#connectionState: ConnectionState | undefined;

	constructor(options: TureenClientOptions) {
		super();
		this.#recoveryTimeoutMs = options.recoveryTimeoutMs ?? 20_000;
		const emit = this.emit.bind(this);
		const session = new SignallingSession(options.createWebSocket, options.requestTimeoutMs);
		this.#session = session;
		const { request } = session;
		const watch: TransportWatch = {
			onStateChange: () => this.#updateConnectionState(),
			onFailed: (transport) => void this.#restartIce(transport),
		};
		const device = () => this.#entry.device;
		this.#entry = new RoomEntry({
			url: options.url,
			session,
			createDevice: options.createDevice,
			emit,
			media: {
				expect: (state) => this.#expect(state),
				close: () => this.#closeMedia(),
				open: (waitForMedia) => this.#openMedia(waitForMedia),
			},
		});
		const ice = { iceServers: () => this.#entry.iceServers, relay: options.iceTransportPolicy === 'relay' };
		this.#publishing = new Publishing({
			request,
			device,
			ice,
			simulcast: options.simulcast ?? true,
			watch,
			onTransport: (transport) => this.#data.attachSendTransport(transport),
		});
		this.#subscribing = new Subscribing({
			request,
			device,
			ice,
			watch,
			emit,
			settled: () => this.#entry.settled(),
			adaptiveQuality: options.adaptiveQuality !== false,
		});
		this.#data = new DataChannels({
			request,
			sendTransport: () => this.#publishing.sendTransport(),
			recvTransport: () => this.#subscribing.transport,
			maxMessageSize: () => this.#publishing.maxDataMessageSize,
			onData: (message) => this.emit('data', message),
			onError: (dataProducerId, peerId, error) => this.emit('error', { during: 'consumeData', dataProducerId, peerId, error }),
		});
		this.#handlers = this.#notificationHandlers();
		session.on('notification', (message) => dispatchNotification(this.#handlers, message));
		session.on('lost', ({ code, reason }) => {
			this.#updateConnectionState();
			if (this.#entry.rehomesAfter(code)) this.#entry.reenter({ kind: 'rehome', reason: 'connection lost' });
			else this.emit('closed', { reason: reason || 'connection closed' });
		});
	}

	get peerId(): string | undefined {
		return this.#entry.peerId;
	}

	/** The worker currently hosting this client's media (a room may span several; it changes on roomMoved). */
	get workerId(): number | undefined {
		return this.#entry.workerId;
	}

	/** In a cluster, the node currently hosting the room; undefined on a single server. */
	get nodeId(): string | undefined {
		return this.#entry.nodeId;
	}

	get remoteTracks(): RemoteTrack[] {
		return this.#subscribing.remoteTracks;
	}

	get publishedProducers(): PublishedProducer[] {
		return this.#publishing.producers;
	}

	get sendTransport(): msc.Transport | undefined {
		return this.#publishing.transport;
	}

	get recvTransport(): msc.Transport | undefined {
		return this.#subscribing.transport;
	}

	join(options: JoinOptions): Promise<JoinResult> {
		return this.#entry.join(options);
	}

	/**
	 * Sends these tracks to the room; they are re-sent by themselves if the
	 * room moves. `source` tags them (default: microphone for audio, camera
	 * for video); a screen is sent as one high-resolution encoding.
	 */
	async publish(tracks: MediaStreamTrack[], { source }: { source?: MediaSource } = {}): Promise<void> {
		await this.#entry.settled();
		await this.#publishing.publish(tracks, source);
	}

	/** Stops sending a published track (the track itself keeps running; stop it if done with it). */
	async unpublish(track: MediaStreamTrack): Promise<void> {
		await this.#entry.settled();
		await this.#publishing.unpublish(track);
	}

	/** Pauses (mute, camera off) or resumes a published track; everyone else is told. */
	async setPaused(track: MediaStreamTrack, paused: boolean): Promise<void> {
		await this.#entry.settled();
		await this.#publishing.setPaused(track, paused);
	}

	/** This peer's data channel for `label` (made on first use, re-made after a room move). */
	async openDataChannel(label: string): Promise<DataSender> {
		await this.#entry.settled();
		return this.#data.open(label);
	}

	async leave(): Promise<void> {
		this.#entry.leave();
		if (!this.#session.open) return;
		await this.#session.request('leave', {}).catch(() => undefined);
		this.#closeMedia();
		this.#session.close();
	}

	/**
	 * New ICE credentials from the server for every open transport (also done
	 * by itself when a transport fails); an app may call it on a network change.
	 */
	async restartIce(): Promise<void> {
		await Promise.all(this.#openTransports().map((t) => this.#restartIce(t)));
	}

	/** Receive at most these layers of a remote video (the server picks the best available up to them). */
	setPreferredLayers(consumerId: string, spatialLayer: number, temporalLayer?: number): Promise<void> {
		return this.#subscribing.setPreferredLayers(consumerId, spatialLayer, temporalLayer);
	}

	/** Stop receiving a remote track (e.g. its tile is hidden); independent of the publisher's own pause. */
	pauseConsumer(consumerId: string): Promise<void> {
		return this.#subscribing.pauseConsumer(consumerId);
	}

	resumeConsumer(consumerId: string): Promise<void> {
		return this.#subscribing.resumeConsumer(consumerId);
	}

	/** Share of the receive bandwidth when it is short: 1 (default) to 255. */
	setConsumerPriority(consumerId: string, priority: number): Promise<void> {
		return this.#subscribing.setConsumerPriority(consumerId, priority);
	}

	requestKeyFrame(consumerId: string): Promise<void> {
		return this.#subscribing.requestKeyFrame(consumerId);
	}

	/**
	 * Adaptive quality for a remote video shown in `element`: the smallest
	 * layer that covers its rendered size, paused while it is hidden. Does
	 * nothing when adaptiveQuality is off or the page has no ResizeObserver.
	 */
	attachVideo(consumerId: string, element: HTMLVideoElement): void {
		this.#subscribing.attachVideo(consumerId, element);
	}

	detachVideo(consumerId: string): void {
		this.#subscribing.detachVideo(consumerId);
	}

	#notificationHandlers(): NotificationHandlers {
		return {
			...this.#subscribing.notificationHandlers,
			...this.#publishing.notificationHandlers,
			newDataProducer: (info) => {
				this.#data.announce(info);
				void this.#entry.settled().then(() => this.#data.consumePending());
			},
			dataProducerClosed: ({ dataProducerId }) => this.#data.closed(dataProducerId),
			dataThrottled: (state) => this.emit('dataThrottled', state),
			peerJoined: (peer) => this.emit('peerJoined', peer),
			peerLeft: (peer) => this.emit('peerLeft', peer),
			activeSpeaker: (speaker) => this.emit('activeSpeaker', speaker),
			audioLevels: (levels) => this.emit('audioLevels', levels),
			roomMoved: ({ workerId, reason }) => this.#entry.reenter({ kind: 'moved', workerId, reason }),
			serverDraining: (draining) => {
				this.emit('serverDraining', draining);
				// A cluster node names where to go: move now rather than at the deadline.
				if (draining.signallingUrl && this.#entry.inCluster) this.#entry.reenter({ kind: 'rehome', reason: 'server draining', preferredUrl: draining.signallingUrl });
			},
			roomClosed: ({ reason }) => this.#roomEnded(reason),
			sessionEnded: ({ reason }) => this.#roomEnded(reason),
		};
	}

	#roomEnded(reason: string): void {
		this.#closeMedia();
		this.emit('closed', { reason });
	}

	#expect({ producers, dataProducers }: Pick<RoomState, 'producers' | 'dataProducers'>): void {
		this.#subscribing.expect(producers);
		this.#data.setPending(dataProducers);
	}

	async #openMedia(waitForMedia: boolean): Promise<void> {
		await this.#subscribing.openTransport();
		await this.#publishing.republish();
		await this.#data.reopen();
		await this.#consumePending();
		if (waitForMedia) await this.#mediaConnected();
	}

	async #consumePending(): Promise<void> {
		await this.#data.consumePending();
		await this.#subscribing.consumePending();
	}

	/** Resolves once every transport that carries media is connected (DTLS done: media flows). */
	async #mediaConnected(): Promise<void> {
		const carrying = [
			this.#publishing.producing ? this.#publishing.transport : undefined,
			this.#subscribing.consuming ? this.#subscribing.transport : undefined,
		].filter((t): t is msc.Transport => t !== undefined);
		await Promise.all(carrying.map((t) => waitConnected(t, this.#recoveryTimeoutMs)));
	}

	#closeMedia(): void {
		this.#subscribing.close();
		this.#publishing.close();
		this.#data.reset();
		this.#updateConnectionState();
	}

	async #restartIce(transport: msc.Transport): Promise<void> {
		try {
			await restartIce(transport, this.#session.request);
		} catch (error) {
			this.emit('error', { during: 'iceRestart', transportId: transport.id, error: asError(error) });
		}
	}

	#openTransports(): msc.Transport[] {
		return [this.#publishing.transport, this.#subscribing.transport].filter((t): t is msc.Transport => t !== undefined && !t.closed);
	}

	#updateConnectionState(): void {
		const state = connectionStateOf(this.#session.open, this.#openTransports().map((t) => t.connectionState));
		if (state === this.#connectionState) return;
		this.#connectionState = state;
		this.emit('connectionState', state);
	}
}
