// Tureen's client library: join a room, publish tracks, get every remote
// track as an event. It wraps mediasoup-client and the shared protocol, and
// recovers by itself when the server moves the room to another worker.
import { Device, type types as msc } from 'mediasoup-client';

import type {
	NotificationMessage,
	Notifications,
	PeerInfo,
	ProducerInfo,
	RoomState,
	TransportInfo,
} from '../src/protocol/messages.ts';
import { Emitter } from './events.ts';
import { SignallingChannel, type WebSocketFactory } from './signallingChannel.ts';

export { SignallingError } from './signallingChannel.ts';

export type RemoteTrack = {
	track: MediaStreamTrack;
	kind: 'audio' | 'video';
	peerId: string;
	producerId: string;
	consumerId: string;
	consumer: msc.Consumer;
};

export type TureenClientEvents = {
	/** A remote track is ready to play. */
	track: [RemoteTrack];
	/** A remote track ended (its producer closed, its peer left, or the room moved). */
	trackEnded: [{ consumerId: string; peerId: string; producerId: string }];
	peerJoined: [PeerInfo];
	peerLeft: [{ peerId: string }];
	/** The room moved to another worker; the client is re-creating its media. */
	roomMoved: [{ workerId: number; reason: string }];
	/** Media is flowing again after a move: transports re-created and connected, tracks re-published. */
	recovered: [{ workerId: number; tookMs: number }];
	/** Something the client could not do by itself; the app decides what to tell the user. */
	error: [ClientError];
	serverDraining: [{ deadlineMs: number }];
	/** The server closed the room or the connection. */
	closed: [{ reason: string }];
};

export type ClientError =
	/** After roomMoved: media could not be re-created on the new worker (no 'recovered' follows). */
	| { during: 'recovery'; workerId: number; error: Error }
	/** A remote track announced to us could not be received. */
	| { during: 'consume'; producerId: string; peerId: string; error: Error }
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
};

export type JoinOptions = { roomId: string; displayName: string; token?: string };
export type JoinResult = { peerId: string; roomId: string; workerId: number; peers: PeerInfo[] };

type Direction = 'send' | 'recv';

export class TureenClient extends Emitter<TureenClientEvents> {
	readonly #options: TureenClientOptions;
	#channel: SignallingChannel | undefined;
	#device: Device | undefined;
	#sendTransport: msc.Transport | undefined;
	#recvTransport: msc.Transport | undefined;
	readonly #published: MediaStreamTrack[] = [];
	readonly #producers = new Map<MediaStreamTrack, msc.Producer>();
	readonly #consumers = new Map<string, RemoteTrack>();
	/** Producers announced while no receive transport existed yet (join, or mid-move). */
	readonly #pendingProducers = new Map<string, ProducerInfo>();
	#peerId: string | undefined;
	#workerId: number | undefined;
	#joinOptions: JoinOptions | undefined;
	/** What the Device was loaded with; a Device loads once, so a different router needs a new Device. */
	#routerCapabilities: string | undefined;
	#moving: Promise<void> = Promise.resolve();

	constructor(options: TureenClientOptions) {
		super();
		this.#options = options;
	}

	get peerId(): string | undefined {
		return this.#peerId;
	}

	/** The worker currently hosting this client's media (a room may span several; it changes on roomMoved). */
	get workerId(): number | undefined {
		return this.#workerId;
	}

	get remoteTracks(): RemoteTrack[] {
		return [...this.#consumers.values()];
	}

	get sendTransport(): msc.Transport | undefined {
		return this.#sendTransport;
	}

	get recvTransport(): msc.Transport | undefined {
		return this.#recvTransport;
	}

	async join(options: JoinOptions): Promise<JoinResult> {
		const createWebSocket = this.#options.createWebSocket ?? ((url: string) => new WebSocket(url) as never);
		const channel = await SignallingChannel.open(this.#options.url, createWebSocket, this.#options.requestTimeoutMs);
		this.#channel = channel;
		this.#joinOptions = options;
		channel.on('notification', (message) => this.#onNotification(message));
		channel.on('close', ({ reason }) => this.emit('closed', { reason: reason || 'connection closed' }));

		const joined = await this.#enterRoom(await this.#loadDevice());
		this.#recvTransport = await this.#createTransport('recv');
		await this.#consumePending();
		return { peerId: joined.peerId, roomId: joined.roomId, workerId: joined.workerId, peers: joined.peers };
	}

	/** The room's router capabilities into a new Device (getRouterRtpCapabilities comes before join). */
	async #loadDevice(): Promise<Device> {
		const { roomId, token } = this.#joined();
		const { rtpCapabilities } = await this.#request().request('getRouterRtpCapabilities', { roomId, ...(token ? { token } : {}) });
		const device = this.#options.createDevice ? await this.#options.createDevice() : await Device.factory();
		await device.load({ routerRtpCapabilities: rtpCapabilities as msc.RtpCapabilities });
		this.#device = device;
		this.#routerCapabilities = JSON.stringify(rtpCapabilities);
		return device;
	}

	/** join with the Device's receive capabilities; the room's producers become pending consumes. */
	async #enterRoom(device: Device): Promise<RoomState & { peerId: string }> {
		const { roomId, displayName, token } = this.#joined();
		const joined = await this.#request().request('join', {
			roomId,
			displayName,
			rtpCapabilities: device.rtpCapabilities as unknown as Record<string, unknown>,
			...(token ? { token } : {}),
		});
		this.#peerId = joined.peerId;
		this.#workerId = joined.workerId;
		this.#setPending(joined.producers);
		return joined;
	}

	#joined(): JoinOptions {
		if (!this.#joinOptions) throw new Error('join first');
		return this.#joinOptions;
	}

	/** The producers to consume are exactly these (their state as the server lists it now). */
	#setPending(producers: readonly ProducerInfo[]): void {
		this.#pendingProducers.clear();
		for (const producer of producers) this.#pendingProducers.set(producer.producerId, producer);
	}

	/** Sends these tracks to the room; they are re-sent by themselves if the room moves. */
	async publish(tracks: MediaStreamTrack[]): Promise<void> {
		await this.#moving;
		for (const track of tracks) {
			if (this.#published.includes(track)) continue;
			this.#published.push(track);
			await this.#produce(track);
		}
	}

	async leave(): Promise<void> {
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

	async #produce(track: MediaStreamTrack): Promise<void> {
		this.#sendTransport ??= await this.#createTransport('send');
		const producer = await this.#sendTransport.produce({ track, stopTracks: false });
		this.#producers.set(track, producer);
	}

	async #createTransport(direction: Direction): Promise<msc.Transport> {
		const device = this.#device;
		if (!device) throw new Error('join first');
		const channel = this.#request();
		const info: TransportInfo = await channel.request('createWebRtcTransport', { direction });
		const params = {
			id: info.transportId,
			iceParameters: info.iceParameters as msc.IceParameters,
			iceCandidates: info.iceCandidates as msc.IceCandidate[],
			dtlsParameters: info.dtlsParameters as msc.DtlsParameters,
		};
		const transport = direction === 'send' ? device.createSendTransport(params) : device.createRecvTransport(params);
		transport.on('connect', ({ dtlsParameters }, callback, errback) => {
			channel
				.request('connectWebRtcTransport', { transportId: transport.id, dtlsParameters: dtlsParameters as never })
				.then(() => callback(), errback);
		});
		if (direction === 'send') {
			transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
				channel
					.request('produce', { transportId: transport.id, kind, rtpParameters: rtpParameters as never })
					.then(({ producerId }) => callback({ id: producerId }), errback);
			});
		}
		transport.on('connectionstatechange', (state) => {
			if (state === 'failed' && !transport.closed) void this.#restartIce(transport);
		});
		return transport;
	}

	/**
	 * New ICE credentials from the server for every open transport (also done
	 * by itself when a transport fails); an app may call it on a network change.
	 */
	async restartIce(): Promise<void> {
		const transports = [this.#sendTransport, this.#recvTransport].filter((t): t is msc.Transport => t !== undefined && !t.closed);
		await Promise.all(transports.map((t) => this.#restartIce(t)));
	}

	async #restartIce(transport: msc.Transport): Promise<void> {
		try {
			const { iceParameters } = await this.#request().request('restartIce', { transportId: transport.id });
			await transport.restartIce({ iceParameters: iceParameters as msc.IceParameters });
		} catch (error) {
			this.emit('error', { during: 'iceRestart', transportId: transport.id, error: asError(error) });
		}
	}

	async #consumePending(): Promise<void> {
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
		};
		this.#consumers.set(consumer.id, remote);
		await channel.request('resumeConsumer', { consumerId: consumer.id });
		this.emit('track', remote);
	}

	#endConsumer(consumerId: string): void {
		const remote = this.#consumers.get(consumerId);
		if (!remote) return;
		this.#consumers.delete(consumerId);
		remote.consumer.close();
		this.emit('trackEnded', { consumerId, peerId: remote.peerId, producerId: remote.producerId });
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
				break;
			case 'roomClosed':
			case 'sessionEnded':
				this.#closeMedia();
				this.emit('closed', { reason: message.data.reason });
				break;
			case 'producerPaused':
			case 'producerResumed':
			case 'consumerPaused':
			case 'consumerResumed':
				break;
		}
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
				this.#setPending((await channel.request('getRoomState', {})).producers);
			} else {
				// A Device loads once: a router with other capabilities needs a new Device, and the server its new capabilities.
				await channel.request('leave', {});
				await this.#enterRoom(await this.#loadDevice());
			}
			this.#recvTransport = await this.#createTransport('recv');
			for (const track of this.#published) {
				if (track.readyState === 'live') await this.#produce(track);
			}
			await this.#consumePending();
			await this.#mediaConnected();
			this.emit('recovered', { workerId, tookMs: Date.now() - started });
		} catch (error) {
			this.emit('error', { during: 'recovery', workerId, error: asError(error) });
		}
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
