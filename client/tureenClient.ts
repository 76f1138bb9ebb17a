// Tureen's client library: join a room, publish tracks, get every remote
// track as an event. It wraps mediasoup-client and the shared protocol, and
// recovers by itself when the server moves the room to another worker or, in
// a cluster, when the room's node sends it elsewhere or goes away.
import { Device, type types as msc } from 'mediasoup-client';

import type {
	MediaSource,
	NotificationMessage,
	Notifications,
	PeerInfo,
	ProducerInfo,
	ResponseData,
	RoomState,
	TransportInfo,
} from '../src/protocol/messages.ts';
import { defaultSource, MEDIA_SOURCES } from '../src/protocol/messages.ts';
import { AdaptiveQuality } from './adaptiveQuality.ts';
import { connectionStateOf, type ConnectionState } from './connectionState.ts';
import { DataChannels, type DataMessage, type DataSender } from './dataChannels.ts';
import { Emitter } from './events.ts';
import { screenProduceOptions } from './screenShare.ts';
import { candidateUrls, openRoomChannel, REHOME_ATTEMPTS, rehomeDelayMs, shouldRehome } from './nodeRoute.ts';
import { SignallingChannel, type WebSocketFactory } from './signallingChannel.ts';
import { produceOptions, spatialLayersOf } from './simulcast.ts';

export { SignallingError } from './signallingChannel.ts';
export type { ConnectionState } from './connectionState.ts';
export type { DataMessage, DataSender } from './dataChannels.ts';

export type RemoteTrack = {
	track: MediaStreamTrack;
	kind: 'audio' | 'video';
	peerId: string;
	producerId: string;
	consumerId: string;
	consumer: msc.Consumer;
	/** What the publisher said the track is. */
	source: MediaSource;
	/** Whether the publisher has paused it (muted microphone, camera off). */
	paused: boolean;
};

/** A published producer, as `publishedProducers` lists it. */
export type PublishedProducer = { producerId: string; source: MediaSource; encodings: number; paused: boolean };

export type TureenClientEvents = {
	/** A remote track is ready to play. */
	track: [RemoteTrack];
	/** A remote track ended (its producer closed, its peer left, or the room moved). */
	trackEnded: [{ consumerId: string; peerId: string; producerId: string; source: MediaSource; kind: 'audio' | 'video' }];
	/** The publisher paused or resumed a remote track (mute, camera off). */
	trackPaused: [{ peerId: string; producerId: string; source: MediaSource; kind: 'audio' | 'video'; paused: boolean }];
	/** The room's dominant speaker changed. */
	activeSpeaker: [{ peerId: string }];
	audioLevels: [Notifications['audioLevels']];
	/** A message on another peer's data channel. */
	data: [DataMessage];
	/** The server holds (paused) or releases this peer's data channels for going over its data rate. */
	dataThrottled: [Notifications['dataThrottled']];
	/** Signalling and media transports summed up in one word, on every change. */
	connectionState: [ConnectionState];
	peerJoined: [PeerInfo];
	peerLeft: [{ peerId: string }];
	/** The room moved to another worker; the client is re-creating its media. */
	roomMoved: [{ workerId: number; reason: string }];
	/**
	 * Cluster only: the connection to the room's node was lost (node died,
	 * drained, or the room went to another node); the client is joining the
	 * room again through another node. New peer id; `recovered` follows.
	 */
	reconnecting: [{ reason: string }];
	/** Media is flowing again after a move or a reconnection: transports re-created and connected, tracks re-published. */
	recovered: [{ workerId: number; tookMs: number }];
	/** Something the client could not do by itself; the app decides what to tell the user. */
	error: [ClientError];
	/** With `url` (cluster): the client moves to that node by itself (`reconnecting`, then `recovered`). */
	serverDraining: [{ deadlineMs: number; url?: string }];
	/** The server closed the room or the connection. */
	closed: [{ reason: string }];
	/** The layers the server now forwards to a remote video (null: none, e.g. paused). */
	layersChanged: [Notifications['consumerLayersChanged']];
	consumerScore: [Notifications['consumerScore']];
};

export type ClientError =
	/** After roomMoved: media could not be re-created on the new worker (no 'recovered' follows). */
	| { during: 'recovery'; workerId: number; error: Error }
	/** Cluster: one try at joining again through another node failed (more tries follow, then `closed`). */
	| { during: 'reconnect'; url: string; attempt: number; error: Error }
	/** A remote track announced to us could not be received. */
	| { during: 'consume'; producerId: string; peerId: string; error: Error }
	/** Another peer's data channel could not be received. */
	| { during: 'consumeData'; dataProducerId: string; peerId: string; error: Error }
	/** A failed transport could not restart ICE. */
	| { during: 'iceRestart'; transportId: string; error: Error };

export type TureenClientOptions = {
	/** ws:// or wss:// URL of the server's /ws endpoint. */
	url: string;
	/** Defaults to the browser's WebSocket; Node passes one from the `ws` package. */
	createWebSocket?: WebSocketFactory;
	/** Defaults to mediasoup-client's browser detection; Node passes a Device on a Node WebRTC stack. */
	createDevice?: () => Promise<Device>;
	requestTimeoutMs?: number;
	/** How long a recovery may wait for the new transports to connect. Default 20 s. */
	recoveryTimeoutMs?: number;
	/** Publish camera video as VP8 simulcast (client/simulcast.ts). Default true; false sends one encoding. */
	simulcast?: boolean;
	/**
	 * Ask for the layer each attached video element needs and pause hidden
	 * ones (attachVideo). Default true; false leaves every consumer at the
	 * top layer unless the app asks otherwise.
	 */
	adaptiveQuality?: boolean;
	/**
	 * 'relay' sends media only through the TURN servers the join answer
	 * names (the server's TURN_URLS); without any, creating a transport
	 * fails with a clear error. Default 'all' (direct first, TURN as a fallback).
	 */
	iceTransportPolicy?: RTCIceTransportPolicy;
};

/** The client was told to relay (iceTransportPolicy 'relay') but the server hands out no TURN server. */
export class NoTurnServerError extends Error {
	constructor() {
		super("iceTransportPolicy 'relay' needs TURN servers, and the join answer named none (the server has no TURN_URLS)");
		this.name = 'NoTurnServerError';
	}
}

export type JoinOptions = { roomId: string; displayName: string; token?: string };
export type JoinResult = { peerId: string; roomId: string; workerId: number; peers: PeerInfo[] };

type Direction = 'send' | 'recv';

export class TureenClient extends Emitter<TureenClientEvents> {
	readonly #options: TureenClientOptions;
	/** TURN servers and credentials of the last join answer (renewed by every join, a recovery's too). */
	#iceServers: RTCIceServer[] = [];
	#channel: SignallingChannel | undefined;
	#device: Device | undefined;
	#sendTransport: msc.Transport | undefined;
	/** The send transport being created: callers at the same moment (publish, openDataChannel) share it. */
	#sendTransportCreating: Promise<msc.Transport> | undefined;
	#recvTransport: msc.Transport | undefined;
	readonly #published: MediaStreamTrack[] = [];
	readonly #sources = new Map<MediaStreamTrack, MediaSource>();
	readonly #pausedTracks = new Set<MediaStreamTrack>();
	readonly #data: DataChannels;
	#maxDataMessageSize = 0;
	#connectionState: ConnectionState | undefined;
	readonly #producers = new Map<MediaStreamTrack, msc.Producer>();
	readonly #consumers = new Map<string, RemoteTrack>();
	/** Producers announced while no receive transport existed yet (join, or mid-move). */
	readonly #pendingProducers = new Map<string, ProducerInfo>();
	#peerId: string | undefined;
	#workerId: number | undefined;
	#joinOptions: JoinOptions | undefined;
	/** The cluster node hosting the room (undefined on a single server) and the other nodes it named at join. */
	#nodeId: string | undefined;
	#alternates: string[] = [];
	#leaving = false;
	/** What the Device was loaded with; a Device loads once, so a different router needs a new Device. */
	#routerCapabilities: string | undefined;
	#moving: Promise<void> = Promise.resolve();
	#adaptive: AdaptiveQuality | undefined;

	constructor(options: TureenClientOptions) {
		super();
		this.#options = options;
		this.#data = new DataChannels({
			request: (method, data) => this.#request().request(method, data),
			sendTransport: () => this.#ensureSendTransport(),
			recvTransport: () => this.#recvTransport,
			maxMessageSize: () => this.#maxDataMessageSize,
			onData: (message) => this.emit('data', message),
			onError: (dataProducerId, peerId, error) => this.emit('error', { during: 'consumeData', dataProducerId, peerId, error }),
		});
	}

	get peerId(): string | undefined {
		return this.#peerId;
	}

	/** The worker currently hosting this client's media (a room may span several; it changes on roomMoved). */
	get workerId(): number | undefined {
		return this.#workerId;
	}

	/** In a cluster, the node currently hosting the room; undefined on a single server. */
	get nodeId(): string | undefined {
		return this.#nodeId;
	}

	get remoteTracks(): RemoteTrack[] {
		return [...this.#consumers.values()];
	}

	get publishedProducers(): PublishedProducer[] {
		return [...this.#producers].map(([track, producer]) => ({
			producerId: producer.id,
			source: this.#sourceOf(track),
			encodings: producer.rtpParameters.encodings?.length ?? 0,
			paused: producer.paused,
		}));
	}

	get sendTransport(): msc.Transport | undefined {
		return this.#sendTransport;
	}

	get recvTransport(): msc.Transport | undefined {
		return this.#recvTransport;
	}

	async join(options: JoinOptions): Promise<JoinResult> {
		this.#joinOptions = options;
		const { rtpCapabilities } = await this.#openRoom(this.#options.url);
		const joined = await this.#enterRoom(await this.#loadDevice(rtpCapabilities));
		this.#recvTransport = await this.#createTransport('recv');
		await this.#consumePending();
		return { peerId: joined.peerId, roomId: joined.roomId, workerId: joined.workerId, peers: joined.peers };
	}

	/** The current channel on the node that hosts the room, with its router capabilities (following a WRONG_NODE redirect once). */
	#openRoom(url: string) {
		const createWebSocket = this.#options.createWebSocket ?? ((target: string) => new WebSocket(target) as never);
		return openRoomChannel(url, this.#joined(), async (target) => {
			// A channel being replaced (a redirect closes it) is no longer current: its close is no news.
			this.#channel = undefined;
			const channel = await SignallingChannel.open(target, createWebSocket, this.#options.requestTimeoutMs);
			this.#attach(channel);
			return channel;
		});
	}

	#attach(channel: SignallingChannel): void {
		this.#channel = channel;
		// A channel left behind by a reconnection may still deliver: only the current one speaks.
		channel.on('notification', (message) => {
			if (channel === this.#channel) this.#onNotification(message);
		});
		channel.on('close', ({ code, reason }) => {
			if (channel !== this.#channel) return;
			this.#updateConnectionState();
			if (this.#nodeId !== undefined && !this.#leaving && shouldRehome(code)) this.#rehomeSoon('connection lost');
			else this.emit('closed', { reason: reason || 'connection closed' });
		});
	}

	/** The router capabilities into a new Device. */
	async #loadDevice(rtpCapabilities: unknown): Promise<Device> {
		const device = this.#options.createDevice ? await this.#options.createDevice() : await Device.factory();
		await device.load({ routerRtpCapabilities: rtpCapabilities as msc.RtpCapabilities });
		this.#device = device;
		this.#routerCapabilities = JSON.stringify(rtpCapabilities);
		return device;
	}

	/** join with the Device's receive capabilities; the room's producers become pending consumes. */
	async #enterRoom(device: Device): Promise<ResponseData['join']> {
		const { roomId, displayName, token } = this.#joined();
		const joined = await this.#request().request('join', {
			roomId,
			displayName,
			rtpCapabilities: device.rtpCapabilities as unknown as Record<string, unknown>,
			...(token ? { token } : {}),
		});
		this.#peerId = joined.peerId;
		this.#workerId = joined.workerId;
		this.#nodeId = joined.node?.nodeId;
		this.#alternates = joined.node?.alternates ?? [];
		this.#iceServers = joined.iceServers ?? [];
		this.#setPending(joined);
		return joined;
	}

	#joined(): JoinOptions {
		if (!this.#joinOptions) throw new Error('join first');
		return this.#joinOptions;
	}

	/** The producers and data producers to consume are exactly these (their state as the server lists it now). */
	#setPending({ producers, dataProducers }: Pick<RoomState, 'producers' | 'dataProducers'>): void {
		this.#pendingProducers.clear();
		for (const producer of producers) this.#pendingProducers.set(producer.producerId, producer);
		this.#data.setPending(dataProducers);
	}

	/**
	 * Sends these tracks to the room; they are re-sent by themselves if the
	 * room moves. `source` tags them (default: microphone for audio, camera
	 * for video); a screen is sent as one high-resolution encoding.
	 */
	async publish(tracks: MediaStreamTrack[], { source }: { source?: MediaSource } = {}): Promise<void> {
		await this.#moving;
		for (const track of tracks) {
			if (this.#published.includes(track)) continue;
			this.#published.push(track);
			if (source) this.#sources.set(track, source);
			await this.#produce(track);
		}
	}

	/** Stops sending a published track (the track itself keeps running; stop it if done with it). */
	async unpublish(track: MediaStreamTrack): Promise<void> {
		await this.#moving;
		const index = this.#published.indexOf(track);
		if (index >= 0) this.#published.splice(index, 1);
		this.#sources.delete(track);
		this.#pausedTracks.delete(track);
		const producer = this.#producers.get(track);
		this.#producers.delete(track);
		if (!producer) return;
		producer.close();
		await this.#request().request('closeProducer', { producerId: producer.id });
	}

	/** Pauses (mute, camera off) or resumes a published track; everyone else is told. */
	async setPaused(track: MediaStreamTrack, paused: boolean): Promise<void> {
		await this.#moving;
		if (paused) this.#pausedTracks.add(track);
		else this.#pausedTracks.delete(track);
		const producer = this.#producers.get(track);
		if (producer) await this.#applyPaused(producer, paused);
	}

	/** This peer's data channel for `label` (made on first use, re-made after a room move). */
	async openDataChannel(label: string): Promise<DataSender> {
		await this.#moving;
		return this.#data.open(label);
	}

	async leave(): Promise<void> {
		this.#leaving = true;
		const channel = this.#channel;
		if (!channel || channel.closed) return;
		await channel.request('leave', {}).catch(() => undefined);
		this.#closeMedia();
		channel.close();
	}

	#request(): SignallingChannel {
		if (!this.#channel) throw new Error('join first');
		return this.#channel;
	}

	#sourceOf(track: MediaStreamTrack): MediaSource {
		return this.#sources.get(track) ?? defaultSource(track.kind);
	}

	async #produce(track: MediaStreamTrack): Promise<void> {
		const sendTransport = await this.#ensureSendTransport();
		const source = this.#sourceOf(track);
		// A screen is one high-resolution encoding; camera video goes out as simulcast (unless opted out).
		const options =
			source === 'screen' ? screenProduceOptions(track) : produceOptions(track, this.#options.simulcast ?? true, this.#device?.rtpCapabilities.codecs ?? []);
		const producer = await sendTransport.produce({ track, stopTracks: false, ...options, appData: { source } });
		this.#producers.set(track, producer);
		if (this.#pausedTracks.has(track)) await this.#applyPaused(producer, true);
	}

	/** The send transport, created on first use, once however many ask for it at the same time. */
	#ensureSendTransport(): Promise<msc.Transport> {
		if (this.#sendTransport) return Promise.resolve(this.#sendTransport);
		this.#sendTransportCreating ??= this.#createTransport('send')
			.then((transport) => (this.#sendTransport = transport))
			.finally(() => (this.#sendTransportCreating = undefined));
		return this.#sendTransportCreating;
	}

	async #applyPaused(producer: msc.Producer, paused: boolean): Promise<void> {
		if (paused) producer.pause();
		else producer.resume();
		await this.#request().request(paused ? 'pauseProducer' : 'resumeProducer', { producerId: producer.id });
	}

	async #createTransport(direction: Direction): Promise<msc.Transport> {
		const device = this.#device;
		if (!device) throw new Error('join first');
		const relay = this.#options.iceTransportPolicy === 'relay';
		if (relay && this.#iceServers.length === 0) throw new NoTurnServerError();
		const channel = this.#request();
		const info: TransportInfo = await channel.request('createWebRtcTransport', { direction });
		const params = {
			iceServers: this.#iceServers,
			...(relay ? { iceTransportPolicy: 'relay' as const } : {}),
			id: info.transportId,
			iceParameters: info.iceParameters as msc.IceParameters,
			iceCandidates: info.iceCandidates as msc.IceCandidate[],
			dtlsParameters: info.dtlsParameters as msc.DtlsParameters,
			sctpParameters: info.sctpParameters as msc.SctpParameters,
		};
		const transport = direction === 'send' ? device.createSendTransport(params) : device.createRecvTransport(params);
		transport.on('connect', ({ dtlsParameters }, callback, errback) => {
			channel
				.request('connectWebRtcTransport', { transportId: transport.id, dtlsParameters: dtlsParameters as never })
				.then(() => callback(), errback);
		});
		if (direction === 'send') {
			transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
				const source = MEDIA_SOURCES.find((s) => s === appData.source);
				channel
					.request('produce', { transportId: transport.id, kind, rtpParameters: rtpParameters as never, ...(source ? { source } : {}) })
					.then(({ producerId }) => callback({ id: producerId }), errback);
			});
			this.#data.attachSendTransport(transport);
			this.#maxDataMessageSize = (info.sctpParameters as msc.SctpParameters | undefined)?.maxReceiveMessageSize ?? 0;
		}
		transport.on('connectionstatechange', (state) => {
			if (state === 'failed' && !transport.closed) void this.#restartIce(transport);
			this.#updateConnectionState();
		});
		this.#updateConnectionState();
		return transport;
	}

	/**
	 * New ICE credentials from the server for every open transport (also done
	 * by itself when a transport fails); an app may call it on a network change.
	 */
	async restartIce(): Promise<void> {
		await Promise.all(this.#openTransports().map((t) => this.#restartIce(t)));
	}

	async #restartIce(transport: msc.Transport): Promise<void> {
		try {
			const { iceParameters } = await this.#request().request('restartIce', { transportId: transport.id });
			await transport.restartIce({ iceParameters: iceParameters as msc.IceParameters });
		} catch (error) {
			this.emit('error', { during: 'iceRestart', transportId: transport.id, error: asError(error) });
		}
	}

	#openTransports(): msc.Transport[] {
		return [this.#sendTransport, this.#recvTransport].filter((t): t is msc.Transport => t !== undefined && !t.closed);
	}

	#updateConnectionState(): void {
		const state = connectionStateOf(!(this.#channel?.closed ?? true), this.#openTransports().map((t) => t.connectionState));
		if (state === this.#connectionState) return;
		this.#connectionState = state;
		this.emit('connectionState', state);
	}

	async #consumePending(): Promise<void> {
		await this.#data.consumePending();
		const transport = this.#recvTransport;
		if (!transport || transport.closed) return;
		const pending = [...this.#pendingProducers.values()];
		this.#pendingProducers.clear();
		for (const producer of pending) {
			await this.#consume(transport, producer).catch((error: unknown) => {
				this.emit('error', { during: 'consume', producerId: producer.producerId, peerId: producer.peerId, error: asError(error) });
			});
		}
	}

	async #consume(transport: msc.Transport, producer: ProducerInfo): Promise<void> {
		const channel = this.#request();
		const answer = await channel.request('consume', { producerId: producer.producerId, transportId: transport.id });
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
		this.#consumers.set(consumer.id, remote);
		await channel.request('resumeConsumer', { consumerId: consumer.id });
		this.emit('track', remote);
	}

	#endConsumer(consumerId: string): void {
		const remote = this.#consumers.get(consumerId);
		if (!remote) return;
		this.#consumers.delete(consumerId);
		this.#adaptive?.detach(consumerId);
		remote.consumer.close();
		this.emit('trackEnded', { consumerId, peerId: remote.peerId, producerId: remote.producerId, source: remote.source, kind: remote.kind });
	}

	#onNotification(message: NotificationMessage): void {
		switch (message.notification) {
			case 'newProducer':
				this.#pendingProducers.set(message.data.producerId, message.data);
				// Mid-move the new receive transport picks it up when ready.
				void this.#moving.then(() => this.#consumePending());
				break;
			case 'consumerClosed':
				this.#endConsumer(message.data.consumerId);
				break;
			case 'producerClosed': {
				const { producerId } = message.data;
				this.#pendingProducers.delete(producerId);
				for (const remote of this.#consumers.values()) {
					if (remote.producerId === producerId) this.#endConsumer(remote.consumerId);
				}
				break;
			}
			case 'peerJoined':
				this.emit('peerJoined', message.data);
				break;
			case 'peerLeft':
				this.emit('peerLeft', message.data);
				break;
			case 'roomMoved': {
				const data = message.data;
				this.#moving = this.#moving.then(() => this.#recover(data));
				break;
			}
			case 'serverDraining':
				this.emit('serverDraining', message.data);
				// A cluster node names where to go: move now rather than at the deadline.
				if (message.data.url && this.#nodeId !== undefined) this.#rehomeSoon('server draining', message.data.url);
				break;
			case 'roomClosed':
			case 'sessionEnded':
				this.#closeMedia();
				this.emit('closed', { reason: message.data.reason });
				break;
			case 'consumerLayersChanged':
				this.#adaptive?.noteCurrentLayer(message.data.consumerId, message.data.spatialLayer ?? undefined);
				this.emit('layersChanged', message.data);
				break;
			case 'consumerScore':
				this.emit('consumerScore', message.data);
				break;
			case 'producerLayersWanted':
				void this.#sendLayersUpTo(message.data.producerId, message.data.maxSpatialLayer);
				break;
			case 'producerPaused':
			case 'producerResumed':
				this.#producerPaused(message.data.producerId, message.notification === 'producerPaused');
				break;
			case 'activeSpeaker':
				this.emit('activeSpeaker', message.data);
				break;
			case 'audioLevels':
				this.emit('audioLevels', message.data);
				break;
			case 'newDataProducer':
				this.#data.announce(message.data);
				void this.#moving.then(() => this.#data.consumePending());
				break;
			case 'dataProducerClosed':
				this.#data.closed(message.data.dataProducerId);
				break;
			case 'dataThrottled':
				this.emit('dataThrottled', message.data);
				break;
			case 'consumerPaused':
			case 'consumerResumed':
				break;
		}
	}

	#producerPaused(producerId: string, paused: boolean): void {
		const pending = this.#pendingProducers.get(producerId);
		if (pending) pending.paused = paused;
		for (const remote of this.#consumers.values()) {
			if (remote.producerId !== producerId) continue;
			remote.paused = paused;
			this.emit('trackPaused', { peerId: remote.peerId, producerId, source: remote.source, kind: remote.kind, paused });
		}
	}

	// Layer control: what a subscriber asks of its own consumers (docs/protocol.md, "Simulcast and layers").

	/** Receive at most these layers of a remote video (the server picks the best available up to them). */
	async setPreferredLayers(consumerId: string, spatialLayer: number, temporalLayer?: number): Promise<void> {
		await this.#request().request('setConsumerPreferredLayers', { consumerId, spatialLayer, ...(temporalLayer === undefined ? {} : { temporalLayer }) });
	}

	/** Stop receiving a remote track (e.g. its tile is hidden); independent of the publisher's own pause. */
	async pauseConsumer(consumerId: string): Promise<void> {
		await this.#request().request('pauseConsumer', { consumerId });
	}

	async resumeConsumer(consumerId: string): Promise<void> {
		await this.#request().request('resumeConsumer', { consumerId });
	}

	/** Share of the receive bandwidth when it is short: 1 (default) to 255. */
	async setConsumerPriority(consumerId: string, priority: number): Promise<void> {
		await this.#request().request('setConsumerPriority', { consumerId, priority });
	}

	async requestKeyFrame(consumerId: string): Promise<void> {
		await this.#request().request('requestKeyFrame', { consumerId });
	}

	/**
	 * Adaptive quality for a remote video shown in `element`: the smallest
	 * layer that covers its rendered size, paused while it is hidden. Does
	 * nothing when adaptiveQuality is off or the page has no ResizeObserver.
	 */
	attachVideo(consumerId: string, element: HTMLVideoElement): void {
		const remote = this.#consumers.get(consumerId);
		if (!remote || remote.kind !== 'video' || this.#options.adaptiveQuality === false) return;
		if (typeof ResizeObserver === 'undefined' || typeof IntersectionObserver === 'undefined') return;
		this.#adaptive ??= new AdaptiveQuality(this);
		this.#adaptive.attach(consumerId, element, spatialLayersOf(remote.consumer.rtpParameters));
	}

	detachVideo(consumerId: string): void {
		this.#adaptive?.detach(consumerId);
	}

	/** Dynacast: send only the encodings some subscriber wants (RTCRtpSender encodings[i].active). */
	async #sendLayersUpTo(producerId: string, maxSpatialLayer: number): Promise<void> {
		const producer = [...this.#producers.values()].find((p) => p.id === producerId);
		if (!producer || producer.closed || (producer.rtpParameters.encodings?.length ?? 1) < 2) return;
		await producer.setMaxSpatialLayer(maxSpatialLayer).catch(() => undefined);
	}

	/**
	 * The recipe of docs/protocol.md for roomMoved: the old transports are
	 * dead, so close them here too (tracks keep running: producers were made
	 * with stopTracks false); keep the Device while the new router offers the
	 * same capabilities, else load a new one and join again; list the room's
	 * producers afresh (getRoomState); re-create both transports, re-publish
	 * and consume.
	 */
	async #recover({ workerId, reason }: Notifications['roomMoved']): Promise<void> {
		const started = Date.now();
		this.#workerId = workerId;
		this.emit('roomMoved', { workerId, reason });
		this.#closeMedia();
		try {
			const channel = this.#request();
			const { roomId, token } = this.#joined();
			const { rtpCapabilities } = await channel.request('getRouterRtpCapabilities', { roomId, ...(token ? { token } : {}) });
			if (JSON.stringify(rtpCapabilities) === this.#routerCapabilities) {
				this.#setPending(await channel.request('getRoomState', {}));
			} else {
				// A Device loads once: a router with other capabilities needs a new Device, and the server its new capabilities.
				await channel.request('leave', {});
				await this.#enterRoom(await this.#loadDevice(rtpCapabilities));
			}
			await this.#recreateMedia();
			this.emit('recovered', { workerId, tookMs: Date.now() - started });
		} catch (error) {
			this.emit('error', { during: 'recovery', workerId, error: asError(error) });
		}
	}

	/** Both transports anew on the current router, the tracks re-published, the room's producers consumed. */
	async #recreateMedia(): Promise<void> {
		this.#recvTransport = await this.#createTransport('recv');
		for (const track of this.#published) {
			if (track.readyState === 'live') await this.#produce(track);
		}
		await this.#data.reopen();
		await this.#consumePending();
		await this.#mediaConnected();
	}

	#rehomeSoon(reason: string, preferredUrl?: string): void {
		this.#moving = this.#moving.then(() => this.#rehome(reason, preferredUrl));
	}

	/**
	 * Cluster: the node hosting the room is gone, draining, or no longer owns
	 * it. Join the room again through the suggested node, the URL the app
	 * gave, or the other nodes, with backoff (the first client to arrive
	 * places the room on a live node, the others are sent there), then
	 * re-create the media as after roomMoved.
	 */
	async #rehome(reason: string, preferredUrl: string | undefined): Promise<void> {
		const started = Date.now();
		this.#leaveChannel();
		this.emit('reconnecting', { reason });
		const urls = candidateUrls(preferredUrl, this.#options.url, this.#alternates);
		for (let attempt = 0; attempt < REHOME_ATTEMPTS && !this.#leaving; attempt++) {
			const url = urls[attempt % urls.length]!;
			try {
				const { rtpCapabilities } = await this.#openRoom(url);
				const sameRouter = JSON.stringify(rtpCapabilities) === this.#routerCapabilities && this.#device;
				await this.#enterRoom(sameRouter || (await this.#loadDevice(rtpCapabilities)));
				await this.#recreateMedia();
				this.emit('recovered', { workerId: this.#workerId ?? -1, tookMs: Date.now() - started });
				return;
			} catch (error) {
				this.#leaveChannel();
				this.emit('error', { during: 'reconnect', url, attempt, error: asError(error) });
				await new Promise((resolve) => setTimeout(resolve, rehomeDelayMs(attempt)));
			}
		}
		if (!this.#leaving) this.emit('closed', { reason: 'no node of the cluster could take the room' });
	}

	/** Drops the current channel without a `closed` event (its close is ours) and the media on it. */
	#leaveChannel(): void {
		const channel = this.#channel;
		this.#channel = undefined;
		channel?.close();
		this.#closeMedia();
	}

	/** Resolves once every transport that carries media is connected (DTLS done: media flows). */
	async #mediaConnected(): Promise<void> {
		const carrying = [
			this.#producers.size > 0 ? this.#sendTransport : undefined,
			this.#consumers.size > 0 ? this.#recvTransport : undefined,
		].filter((t): t is msc.Transport => t !== undefined);
		const timeoutMs = this.#options.recoveryTimeoutMs ?? 20_000;
		await Promise.all(carrying.map((t) => waitConnected(t, timeoutMs)));
	}

	#closeMedia(): void {
		for (const consumerId of [...this.#consumers.keys()]) this.#endConsumer(consumerId);
		this.#sendTransport?.close();
		this.#recvTransport?.close();
		this.#sendTransport = undefined;
		this.#recvTransport = undefined;
		this.#producers.clear();
		this.#data.reset();
		this.#updateConnectionState();
	}
}

function asError(error: unknown): Error {
	return error instanceof Error ? error : new Error(String(error));
}

function waitConnected(transport: msc.Transport, timeoutMs: number): Promise<void> {
	if (transport.connectionState === 'connected') return Promise.resolve();
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => finish(new Error(`transport ${transport.id} did not connect within ${timeoutMs} ms`)), timeoutMs);
		const onClose = () => finish(new Error(`transport ${transport.id} closed before it connected`));
		const onState = (state: string) => {
			if (state === 'connected') finish();
			else if (state === 'closed') onClose();
		};
		const finish = (error?: Error) => {
			clearTimeout(timer);
			transport.off('connectionstatechange', onState);
			transport.observer.off('close', onClose);
			if (error) reject(error);
			else resolve();
		};
		transport.on('connectionstatechange', onState);
		transport.observer.on('close', onClose);
	});
}
