import type { types as ms } from 'mediasoup';

import type { VerifiedJoin } from '../auth/joinToken.ts';
import type { Config, FloodLimits, Limits } from '../config.ts';
import { limitReached, TureenError } from '../errors.ts';
import { defaultSource, type MediaSource, type Method, type NodeInfo, type ParsedRequestData, type ResponseData, type RoomState } from '../protocol/messages.ts';
import { unconsumableReason } from '../services/rooms/codecMatch.ts';
import { CONSUMERS_PER_PRODUCER_PER_TRANSPORT, consumersOf, type ConsumerTag } from '../limits/consumeOnce.ts';
import type { ManagedWorker } from '../services/workers/managedWorker.ts';
import type { KeyFrameGate } from '../services/participants/keyFrameGate.ts';
import { identityJoinKey } from '../limits/floodBudgets.ts';
import { outgoingBitrateShare } from '../limits/outgoingBitrate.ts';
import type { KeyedBudget } from '../limits/keyedBudget.ts';
import { layerHandlers } from './layerHandlers.ts';
import type { Peer, PeerRoom } from './peer.ts';

/** The worker slot hosting a room, as transports need it: its port range and port accounting. */
export type TransportHost = Pick<ManagedWorker, 'workerId' | 'alive' | 'webRtcListenInfos' | 'trackTransport' | 'notePortsExhausted'>;

/** What the request handlers need from the rest of the server, and nothing more. */
export type HandlerDeps = {
	rooms: { getOrCreateRoom(roomId: string, creator?: string): Promise<{ room: PeerRoom }> };
	/** The slot currently hosting workerId, if any. */
	transportHost(workerId: number): TransportHost | undefined;
	/** The join's identity from its token when JOIN_SECRET is set; undefined when open. Throws UNAUTHORIZED/FORBIDDEN. */
	authorizeJoin(roomId: string, token: string | undefined): Promise<VerifiedJoin | undefined>;
	settings: Pick<Config, 'maxPeersPerRoom' | 'webrtcListenIp' | 'announcedIp'> & {
		limits: Pick<Limits, 'transportsPerPeer' | 'producersPerPeer' | 'consumersPerPeer' | 'dataProducersPerPeer' | 'dataMessageBytes'>;
		/** Issue 21 finding 2: a peer's outgoing bitrate across its receive transports; unset = uncapped. */
		flood?: Pick<FloodLimits, 'peerOutgoingBitrate'>;
	};
	/** On a cluster node: this node and the others, told to each peer that joins. Unset on a single server. */
	node?: () => NodeInfo;
	/** Issue 21 finding 8: subscribers' key-frame requests coalesced per stream; unset = each one goes through. */
	keyFrames?: Pick<KeyFrameGate, 'request'>;
	/** Issue 21 finding 5: joins per token identity in a room (key: identityJoinKey); unset = not limited. */
	identityJoins?: Pick<KeyedBudget, 'tryTake'>;
};

/** `ip`: the connection's remote address, for per-address limits. */
export type HandlerContext = { deps: HandlerDeps; peer: Peer; ip: string };
type Handler<M extends Method> = (ctx: HandlerContext, data: ParsedRequestData<M>) => Promise<ResponseData[M]>;
export type Handlers = { [M in Method]: Handler<M> };

const EMPTY = {} as Record<string, never>;

/** The member of `room` whose map (producers or data producers) holds `id`, and the item. */
function findOwned<T>(room: PeerRoom, id: string, mapOf: (member: Peer) => ReadonlyMap<string, T>): { item: T; owner: Peer } | undefined {
	for (const member of room.members.values()) {
		const item = mapOf(member).get(id);
		if (item) return { item, owner: member };
	}
	return undefined;
}

/** The transport of `peer` with this id, made for `direction`. */
function ownTransportFor(peer: Peer, transportId: string, direction: 'send' | 'recv', method: Method): ms.WebRtcTransport {
	const transport = peer.ownTransport(transportId);
	if (transport.appData.direction !== direction) {
		throw new TureenError('BAD_REQUEST', `${method} needs a transport created with direction "${direction}"`);
	}
	return transport;
}

/** What produce and produceData check: joined, under the peer's cap for what it makes, one of its send transports. */
function produceTarget(
	peer: Peer,
	request: { transportId: string; method: 'produce' | 'produceData' },
	cap: { limit: 'producersPerPeer' | 'dataProducersPerPeer'; max: number; held: number },
): { room: PeerRoom; transport: ms.WebRtcTransport } {
	const room = peer.requireRoom();
	if (cap.held >= cap.max) throw limitReached(cap.limit, cap.max, `this peer has its maximum of ${request.method === 'produce' ? 'producers' : 'data producers'}`);
	return { room, transport: ownTransportFor(peer, request.transportId, 'send', request.method) };
}

/**
 * What consume and consumeData check before making anything: joined, under
 * the consumer cap (media and data consumers count together), one of the
 * peer's receive transports, and another member's producer or data producer.
 */
function consumeTarget<T>(
	deps: HandlerDeps,
	peer: Peer,
	request: { transportId: string; id: string; method: 'consume' | 'consumeData'; what: string },
	mapOf: (member: Peer) => ReadonlyMap<string, T>,
): { room: PeerRoom; transport: ms.WebRtcTransport; owner: Peer; tag: ConsumerTag } {
	const room = peer.requireRoom();
	const max = deps.settings.limits.consumersPerPeer;
	if (peer.consumers.size + peer.dataConsumers.size >= max) throw limitReached('consumersPerPeer', max, 'this peer has its maximum of consumers');
	const transport = ownTransportFor(peer, request.transportId, 'recv', request.method);
	const found = findOwned(room, request.id, mapOf);
	if (!found) throw new TureenError('NOT_FOUND', `no ${request.what} ${request.id} in this room`);
	if (found.owner === peer) throw new TureenError('BAD_REQUEST', `a peer does not consume its own ${request.what}`);
	// Issue 21 finding 2: one consumer per producer per transport (src/limits/consumeOnce.ts).
	const tag: ConsumerTag = { transportId: request.transportId, consumes: request.id };
	if (consumersOf([...peer.consumers.values(), ...peer.dataConsumers.values()], tag) >= CONSUMERS_PER_PRODUCER_PER_TRANSPORT) {
		throw limitReached('consumersPerProducerPerTransport', CONSUMERS_PER_PRODUCER_PER_TRANSPORT, `this transport already consumes ${request.what} ${request.id}`);
	}
	return { room, transport, owner: found.owner, tag };
}

/** A source must fit the kind: a microphone is audio, a camera video; a screen may carry either. */
function checkSource(kind: 'audio' | 'video', source: MediaSource | undefined): MediaSource {
	if (source === undefined) return defaultSource(kind);
	if ((source === 'microphone' && kind !== 'audio') || (source === 'camera' && kind !== 'video')) {
		throw new TureenError('BAD_REQUEST', `produce: source "${source}" cannot be ${kind}`);
	}
	return source;
}

/** The room as `peer` sees it: everyone else, their producers and their data producers. */
function roomState(room: PeerRoom, peer: Peer): RoomState {
	const others = [...room.members.values()].filter((m) => m !== peer);
	return {
		roomId: room.roomId,
		workerId: peer.router?.workerId ?? room.workerId,
		peers: others.map((o) => ({ peerId: o.peerId, displayName: o.displayName })),
		producers: others.flatMap((o) => o.producerInfos()),
		dataProducers: others.flatMap((o) => o.dataProducerInfos()),
	};
}

/**
 * ROOM_FULL unless the peer fits; returns the member a join with the same
 * token subject replaces (one live session per identity), which does not count.
 */
function checkRoomFull(deps: HandlerDeps, room: PeerRoom, claims: VerifiedJoin | undefined): Peer | undefined {
	const previous = claims ? room.members.get(claims.peer) : undefined;
	const { maxPeersPerRoom } = deps.settings;
	if (room.members.size - (previous ? 1 : 0) >= maxPeersPerRoom) {
		throw new TureenError('ROOM_FULL', `room "${room.roomId}" has its maximum of ${maxPeersPerRoom} peers`);
	}
	return previous;
}

/** Issue 21 finding 2: the peer's outgoing cap, split again over its receive transports (src/limits/outgoingBitrate.ts). */
async function capOutgoingBitrate(peer: Peer, cap: number): Promise<void> {
	const recv = [...peer.transports.values()].filter((t) => t.appData.direction === 'recv' && !t.closed);
	const share = outgoingBitrateShare(cap, recv.length);
	await Promise.all(recv.map((t) => t.setMaxOutgoingBitrate(share).catch(() => undefined)));
}

/** mediasoup's worker says this when every port of the transport's range is bound. */
const NO_PORTS = /no more available ports/i;

/**
 * mediasoup's worker refuses some client-supplied parameters with a plain
 * Error ("ssrc already exists in RTP listener", "MID already exists in RTP
 * listener", "connect() already called"): the client's mistake, so
 * MEDIA_ERROR, not INTERNAL. mediasoup's typed errors pass through to
 * asTureenError.
 */
async function withClientParameters<T>(operation: Promise<T>): Promise<T> {
	try {
		return await operation;
	} catch (error) {
		if (error instanceof Error && error.constructor === Error) throw new TureenError('MEDIA_ERROR', error.message);
		throw error;
	}
}

export const handlers: Handlers = {
	async getRouterRtpCapabilities({ deps, peer, ip }, { roomId, token }) {
		// It creates the room, so with JOIN_SECRET set it needs the same token as join.
		await deps.authorizeJoin(roomId, token);
		peer.requireLive();
		const { room } = await deps.rooms.getOrCreateRoom(roomId, ip);
		return { rtpCapabilities: room.router.rtpCapabilities, workerId: (peer.room === room ? peer.router?.workerId : undefined) ?? room.workerId };
	},

	async join({ deps, peer, ip }, { roomId, displayName, rtpCapabilities, token }) {
		if (peer.room) throw new TureenError('ALREADY_JOINED', `already in room "${peer.room.roomId}"`);
		const claims = await deps.authorizeJoin(roomId, token);
		if (claims && deps.identityJoins && !deps.identityJoins.tryTake(identityJoinKey(roomId, claims.peer))) {
			throw new TureenError('RATE_LIMITED', 'this identity joined this room too often; slow down');
		}
		peer.requireLive();
		const { room } = await deps.rooms.getOrCreateRoom(roomId, ip);
		checkRoomFull(deps, room, claims);
		// The router this peer will be on (opened now when placement spreads the room); given back if the join fails.
		const seat = await room.takeSeat();
		try {
			// From here to enter() nothing awaits: the checks below still hold when the peer enters.
			peer.requireLive();
			const why = unconsumableReason(room.router.rtpCapabilities.codecs ?? [], rtpCapabilities.codecs);
			if (why) throw new TureenError('BAD_REQUEST', `join: ${why}`);
			const previous = checkRoomFull(deps, room, claims);
			previous?.endSession('replaced');
			peer.displayName = claims?.displayName ?? displayName;
			peer.rtpCapabilities = rtpCapabilities as ms.RtpCapabilities;
			peer.enter(room, { seat, ...(claims ? { session: { identity: claims.peer, expiresAt: claims.expiresAt } } : {}) });
		} finally {
			seat.release();
		}
		peer.broadcast({ notification: 'peerJoined', data: { peerId: peer.peerId, displayName: peer.displayName } });
		return { peerId: peer.peerId, ...roomState(room, peer), ...(deps.node ? { node: deps.node() } : {}) };
	},

	async getRoomState({ peer }) {
		return roomState(peer.requireRoom(), peer);
	},

	async createWebRtcTransport({ deps, peer }, { direction }) {
		const room = peer.requireRoom();
		const { limits, webrtcListenIp, announcedIp } = deps.settings;
		if (peer.transports.size >= limits.transportsPerPeer) {
			throw limitReached('transportsPerPeer', limits.transportsPerPeer, 'this peer has its maximum of transports');
		}
		const placed = peer.router;
		const host = placed && deps.transportHost(placed.workerId);
		if (!placed?.router || placed.closed || !host?.alive) {
			throw new TureenError('NO_WORKER_AVAILABLE', 'your router is moving to another worker; retry after roomMoved');
		}
		let transport: ms.WebRtcTransport;
		try {
			transport = await placed.router.createWebRtcTransport({
				listenInfos: host.webRtcListenInfos(webrtcListenIp, announcedIp),
				enableUdp: true,
				enableTcp: true,
				preferUdp: true,
				initialAvailableOutgoingBitrate: 1_000_000,
				// Data channels: the answer's sctpParameters carry the message limit to the client.
				enableSctp: true,
				maxReceiveMessageSize: limits.dataMessageBytes,
				maxSendMessageSize: limits.dataMessageBytes,
				appData: { peerId: peer.peerId, direction },
			});
		} catch (error) {
			if (!(error instanceof Error && NO_PORTS.test(error.message))) throw error;
			host.notePortsExhausted();
			throw new TureenError('NO_PORTS_AVAILABLE', `worker ${host.workerId} has no free RTC port; retry later`);
		}
		host.trackTransport(transport);
		peer.adoptTransport(room, transport);
		if (direction === 'recv' && deps.settings.flood) await capOutgoingBitrate(peer, deps.settings.flood.peerOutgoingBitrate);
		return {
			transportId: transport.id,
			iceParameters: transport.iceParameters,
			iceCandidates: transport.iceCandidates,
			dtlsParameters: transport.dtlsParameters,
			sctpParameters: transport.sctpParameters,
		};
	},

	async connectWebRtcTransport({ peer }, { transportId, dtlsParameters }) {
		await withClientParameters(peer.ownTransport(transportId).connect({ dtlsParameters: dtlsParameters as ms.DtlsParameters }));
		return EMPTY;
	},

	async restartIce({ peer }, { transportId }) {
		return { iceParameters: await peer.ownTransport(transportId).restartIce() };
	},

	async produce({ deps, peer }, { transportId, kind, rtpParameters, source, appData }) {
		const max = deps.settings.limits.producersPerPeer;
		const { room, transport } = produceTarget(peer, { transportId, method: 'produce' }, { limit: 'producersPerPeer', max, held: peer.producers.size });
		const producer = await withClientParameters(
			transport.produce({
				kind,
				rtpParameters: rtpParameters as ms.RtpParameters,
				appData: { ...appData, source: checkSource(kind, source), peerId: peer.peerId },
			}),
		);
		peer.adoptProducer(room, producer);
		// Every audio producer feeds the room's active speaker and audio levels; one that cannot is not kept.
		await room.observeAudio(producer, peer).catch((error: unknown) => {
			producer.close();
			throw error;
		});
		return { producerId: producer.id };
	},

	async closeProducer({ peer }, { producerId }) {
		peer.ownProducer(producerId).close();
		return EMPTY;
	},

	async pauseProducer({ peer }, { producerId }) {
		await peer.ownProducer(producerId).pause();
		peer.broadcast({ notification: 'producerPaused', data: { producerId, peerId: peer.peerId } });
		return EMPTY;
	},

	async resumeProducer({ peer }, { producerId }) {
		await peer.ownProducer(producerId).resume();
		peer.broadcast({ notification: 'producerResumed', data: { producerId, peerId: peer.peerId } });
		return EMPTY;
	},

	async consume({ deps, peer }, { producerId, transportId }) {
		const target = { transportId, id: producerId, method: 'consume', what: 'producer' } as const;
		const { room, owner, tag } = consumeTarget(deps, peer, target, (m) => m.producers);
		// On another worker's router the producer is piped here first; the client never knows.
		const router = await room.routerToConsume({ producerId }, owner, peer);
		// The peer may have moved or closed the transport meanwhile.
		const transport = ownTransportFor(peer, transportId, 'recv', 'consume');
		const rtpCapabilities = peer.rtpCapabilities;
		if (!rtpCapabilities || !router.canConsume({ producerId, rtpCapabilities })) {
			throw new TureenError('MEDIA_ERROR', 'your RTP capabilities cannot receive this producer');
		}
		// Paused until the client has set up its side, as mediasoup recommends.
		const consumer = await withClientParameters(transport.consume({ producerId, rtpCapabilities, paused: true, appData: tag }));
		peer.adoptConsumer(room, consumer);
		return {
			consumerId: consumer.id,
			producerId,
			peerId: owner.peerId,
			kind: consumer.kind,
			rtpParameters: consumer.rtpParameters,
			paused: consumer.producerPaused,
		};
	},

	async resumeConsumer({ peer }, { consumerId }) {
		const consumer = peer.ownConsumer(consumerId);
		await consumer.resume();
		peer.noteConsumerDemand(consumer);
		return EMPTY;
	},

	async produceData({ deps, peer }, { transportId, sctpStreamParameters, label, protocol }) {
		const max = deps.settings.limits.dataProducersPerPeer;
		const cap = { limit: 'dataProducersPerPeer', max, held: peer.dataProducers.size } as const;
		const { room, transport } = produceTarget(peer, { transportId, method: 'produceData' }, cap);
		const dataProducer = await withClientParameters(
			transport.produceData({
				sctpStreamParameters: sctpStreamParameters as ms.SctpStreamParameters,
				label: label ?? '',
				protocol: protocol ?? '',
				appData: { peerId: peer.peerId },
			}),
		);
		peer.adoptDataProducer(room, dataProducer);
		return { dataProducerId: dataProducer.id };
	},

	async closeDataProducer({ peer }, { dataProducerId }) {
		peer.ownDataProducer(dataProducerId).close();
		return EMPTY;
	},

	async consumeData({ deps, peer }, { dataProducerId, transportId }) {
		const target = { transportId, id: dataProducerId, method: 'consumeData', what: 'data producer' } as const;
		const { room, owner, tag } = consumeTarget(deps, peer, target, (m) => m.dataProducers);
		// The server's relay of it (every message passes the owner's data budget first).
		const relayed = await owner.dataConsumeTarget(dataProducerId);
		// As for media: a data producer of another worker's router is piped here first.
		await room.routerToConsume({ dataProducerId: relayed.dataProducerId }, owner, peer);
		const transport = ownTransportFor(peer, transportId, 'recv', 'consumeData');
		const dataConsumer = await withClientParameters(transport.consumeData({ ...relayed, appData: tag }));
		peer.adoptDataConsumer(room, dataConsumer);
		return {
			dataConsumerId: dataConsumer.id,
			dataProducerId,
			peerId: owner.peerId,
			sctpStreamParameters: dataConsumer.sctpStreamParameters,
			label: dataConsumer.label,
			protocol: dataConsumer.protocol,
		};
	},

	...layerHandlers,

	async leave({ peer }) {
		peer.leave();
		return EMPTY;
	},
};
