// The raw baseline: mediasoup used directly, with nothing of Tureen's but the
// wire protocol. One worker, one router; "rooms" are just groups of
// producers. It speaks the subset of src/protocol/messages.ts a receiving
// client needs, so the same subscriber clients (Tureen's client library on
// wrtc) can join it: getRouterRtpCapabilities, join, createWebRtcTransport,
// connectWebRtcTransport, consume, resumeConsumer, leave.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';

import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import { WebSocketServer, type WebSocket } from 'ws';

import { MEDIA_CODECS } from '../src/services/rooms/codecs.ts';

type ProducerEntry = { producer: ms.Producer; peerId: string };
type RawPeer = {
	peerId: string;
	roomId?: string;
	rtpCapabilities?: ms.RtpCapabilities;
	transports: Map<string, ms.WebRtcTransport>;
	consumers: Map<string, ms.Consumer>;
};
type Message = { id: number; method: string; data: Record<string, unknown> };

class RequestFailed extends Error {
	constructor(
		readonly code: string,
		message: string,
	) {
		super(message);
	}
}

export type RawServerOptions = { rtcPortRange: { min: number; max: number } };

export class RawMediasoupServer {
	readonly worker: ms.Worker;
	readonly router: ms.Router;
	readonly #http: Server;
	readonly #wss: WebSocketServer;
	readonly #options: RawServerOptions;
	readonly #rooms = new Map<string, ProducerEntry[]>();
	readonly #peers = new Set<RawPeer>();

	private constructor(worker: ms.Worker, router: ms.Router, http: Server, wss: WebSocketServer, options: RawServerOptions) {
		this.worker = worker;
		this.router = router;
		this.#http = http;
		this.#wss = wss;
		this.#options = options;
		wss.on('connection', (socket) => this.#onConnection(socket));
	}

	static async start(options: RawServerOptions): Promise<RawMediasoupServer> {
		// Upstream's default worker settings: the calibration Tureen's settings are compared with.
		const worker = await mediasoup.createWorker();
		const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
		const http = createServer((_req, res) => {
			res.writeHead(404).end();
		});
		const wss = new WebSocketServer({ server: http, path: '/ws' });
		await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
		return new RawMediasoupServer(worker, router, http, wss, options);
	}

	get baseUrl(): string {
		const address = this.#http.address();
		return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
	}

	get peerCount(): number {
		return this.#peers.size;
	}

	/** Makes a producer visible to the subscribers of `roomId`. */
	addProducer(roomId: string, peerId: string, producer: ms.Producer): void {
		const list = this.#rooms.get(roomId) ?? [];
		list.push({ producer, peerId });
		this.#rooms.set(roomId, list);
		producer.observer.once('close', () => {
			const remaining = (this.#rooms.get(roomId) ?? []).filter((p) => p.producer !== producer);
			this.#rooms.set(roomId, remaining);
		});
	}

	#onConnection(socket: WebSocket): void {
		const peer: RawPeer = { peerId: randomUUID(), transports: new Map(), consumers: new Map() };
		this.#peers.add(peer);
		let queue = Promise.resolve();
		socket.on('message', (raw) => {
			let message: Message;
			try {
				message = JSON.parse(String(raw)) as Message;
			} catch {
				return;
			}
			queue = queue.then(async () => {
				try {
					const data = await this.#handle(peer, message.method, message.data ?? {});
					socket.send(JSON.stringify({ id: message.id, ok: true, data }));
				} catch (error) {
					const code = error instanceof RequestFailed ? error.code : 'MEDIA_ERROR';
					socket.send(JSON.stringify({ id: message.id, ok: false, error: { code, message: (error as Error).message } }));
				}
			});
		});
		socket.on('close', () => {
			this.#leave(peer);
			this.#peers.delete(peer);
		});
		socket.on('error', () => undefined);
	}

	async #handle(peer: RawPeer, method: string, data: Record<string, unknown>): Promise<unknown> {
		switch (method) {
			case 'getRouterRtpCapabilities':
				return { rtpCapabilities: this.router.rtpCapabilities, workerId: 0 };
			case 'join': {
				const roomId = String(data.roomId);
				peer.roomId = roomId;
				peer.rtpCapabilities = data.rtpCapabilities as ms.RtpCapabilities;
				const producers = this.#rooms.get(roomId) ?? [];
				const peerIds = [...new Set(producers.map((p) => p.peerId))];
				return {
					peerId: peer.peerId,
					roomId,
					workerId: 0,
					peers: peerIds.map((peerId) => ({ peerId, displayName: 'publisher' })),
					producers: producers.map(({ producer, peerId }) => ({
						producerId: producer.id,
						peerId,
						kind: producer.kind,
						paused: producer.paused,
					})),
				};
			}
			case 'createWebRtcTransport': {
				// The same transport settings as Tureen's handler.
				const base = { ip: '127.0.0.1', portRange: this.#options.rtcPortRange };
				const transport = await this.router.createWebRtcTransport({
					listenInfos: [
						{ protocol: 'udp', ...base },
						{ protocol: 'tcp', ...base },
					],
					enableUdp: true,
					enableTcp: true,
					preferUdp: true,
					initialAvailableOutgoingBitrate: 1_000_000,
				});
				peer.transports.set(transport.id, transport);
				return {
					transportId: transport.id,
					iceParameters: transport.iceParameters,
					iceCandidates: transport.iceCandidates,
					dtlsParameters: transport.dtlsParameters,
				};
			}
			case 'connectWebRtcTransport':
				await this.#transport(peer, data.transportId).connect({ dtlsParameters: data.dtlsParameters as ms.DtlsParameters });
				return {};
			case 'consume': {
				const transport = this.#transport(peer, data.transportId);
				const entry = (this.#rooms.get(peer.roomId ?? '') ?? []).find((p) => p.producer.id === data.producerId);
				if (!entry || !peer.rtpCapabilities) throw new RequestFailed('NOT_FOUND', 'no such producer in this room');
				const consumer = await transport.consume({
					producerId: entry.producer.id,
					rtpCapabilities: peer.rtpCapabilities,
					paused: true,
				});
				peer.consumers.set(consumer.id, consumer);
				return {
					consumerId: consumer.id,
					producerId: entry.producer.id,
					peerId: entry.peerId,
					kind: consumer.kind,
					rtpParameters: consumer.rtpParameters,
					paused: consumer.producerPaused,
				};
			}
			case 'resumeConsumer': {
				const consumer = peer.consumers.get(String(data.consumerId));
				if (!consumer) throw new RequestFailed('NOT_FOUND', 'no such consumer');
				await consumer.resume();
				return {};
			}
			case 'leave':
				this.#leave(peer);
				return {};
			default:
				throw new RequestFailed('UNKNOWN_METHOD', `the raw baseline does not implement ${method}`);
		}
	}

	#transport(peer: RawPeer, transportId: unknown): ms.WebRtcTransport {
		const transport = peer.transports.get(String(transportId));
		if (!transport) throw new RequestFailed('NOT_FOUND', 'no such transport');
		return transport;
	}

	#leave(peer: RawPeer): void {
		for (const transport of peer.transports.values()) transport.close();
		peer.transports.clear();
		peer.consumers.clear();
		peer.roomId = undefined;
	}

	async close(): Promise<void> {
		for (const client of this.#wss.clients) client.terminate();
		await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
		await new Promise<void>((resolve) => this.#http.close(() => resolve()));
		this.worker.close();
	}
}
