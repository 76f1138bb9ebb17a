import type { types as ms } from 'mediasoup';

import { limitReached, TureenError } from '../errors.ts';
import type { Method, ParsedRequestData, ResponseData } from '../protocol/messages.ts';
import type { Tureen } from '../server.ts';
import { unconsumableReason } from '../services/codecMatch.ts';
import type { Peer, PeerRoom } from './peer.ts';

/** `ip`: the connection's remote address, for per-address limits. */
export type HandlerContext = { tureen: Tureen; peer: Peer; ip: string };
type Handler<M extends Method> = (ctx: HandlerContext, data: ParsedRequestData<M>) => Promise<ResponseData[M]>;
type Handlers = { [M in Method]: Handler<M> };

const EMPTY = {} as Record<string, never>;

function findProducer(room: PeerRoom, producerId: string): { producer: ms.Producer; owner: Peer } | undefined {
	for (const member of room.members.values()) {
		const producer = member.producers.get(producerId);
		if (producer) return { producer, owner: member };
	}
	return undefined;
}

/** mediasoup's worker says this when every port of the transport's range is bound. */
const NO_PORTS = /no more available ports/i;

/**
 * mediasoup's worker refuses some client-supplied parameters with a plain
 * Error ("ssrc already exists in RTP listener", "MID already exists in RTP
 * listener", "connect() already called"): the client's mistake, so
 * MEDIA_ERROR, not INTERNAL. Typed errors (TypeError, WorkerClosedError, ...)
 * pass through to the connection's mapping.
 */
async function withClientParameters<T>(operation: Promise<T>): Promise<T> {
	try {
		return await operation;
	} catch (error) {
		if (error instanceof Error && error.name === 'Error') throw new TureenError('MEDIA_ERROR', error.message);
		throw error;
	}
}

function trackConsumer(peer: Peer, room: PeerRoom, consumer: ms.Consumer): void {
	peer.adoptConsumer(room, consumer);
	consumer.observer.once('close', () => peer.consumers.delete(consumer.id));
	consumer.on('producerclose', () => {
		peer.notify('consumerClosed', { consumerId: consumer.id, producerId: consumer.producerId });
	});
	consumer.on('producerpause', () => peer.notify('consumerPaused', { consumerId: consumer.id }));
	consumer.on('producerresume', () => peer.notify('consumerResumed', { consumerId: consumer.id }));
}

function trackProducer(peer: Peer, room: PeerRoom, producer: ms.Producer): void {
	peer.adoptProducer(room, producer);
	producer.observer.once('close', () => {
		peer.producers.delete(producer.id);
		peer.broadcast('producerClosed', { producerId: producer.id, peerId: peer.peerId });
	});
}

export const handlers: Handlers = {
	async getRouterRtpCapabilities({ tureen, peer, ip }, { roomId, token }) {
		// It creates the room, so with JOIN_SECRET set it needs the same token as join.
		await tureen.authorizeJoin(roomId, token);
		peer.requireLive();
		const { room } = await tureen.rooms.getOrCreateRoom(roomId, ip);
		return { rtpCapabilities: room.router.rtpCapabilities, workerId: room.workerId };
	},

	async join({ tureen, peer, ip }, { roomId, displayName, rtpCapabilities, token }) {
		if (peer.room) throw new TureenError('ALREADY_JOINED', `already in room "${peer.room.roomId}"`);
		const claims = await tureen.authorizeJoin(roomId, token);
		peer.requireLive();
		const { room } = await tureen.rooms.getOrCreateRoom(roomId, ip);
		// From here to enter() nothing awaits: the checks below still hold when the peer enters.
		peer.requireLive();
		const why = unconsumableReason(room.router.rtpCapabilities.codecs ?? [], rtpCapabilities.codecs);
		if (why) throw new TureenError('BAD_REQUEST', `join: ${why}`);
		// One live session per identity: a second join with the same token subject replaces the first.
		const previous = claims ? room.members.get(claims.peer) : undefined;
		if (room.members.size - (previous ? 1 : 0) >= tureen.config.maxPeersPerRoom) {
			throw new TureenError('ROOM_FULL', `room "${roomId}" has its maximum of ${tureen.config.maxPeersPerRoom} peers`);
		}
		previous?.endSession('replaced');
		peer.displayName = claims?.displayName ?? displayName;
		peer.rtpCapabilities = rtpCapabilities as ms.RtpCapabilities;
		const others = [...room.members.values()];
		peer.enter(room, claims ? { identity: claims.peer, expiresAt: claims.expiresAt } : undefined);
		tureen.rooms.noteMembership(room);
		peer.broadcast('peerJoined', { peerId: peer.peerId, displayName: peer.displayName });
		return {
			peerId: peer.peerId,
			roomId,
			workerId: room.workerId,
			peers: others.map((o) => ({ peerId: o.peerId, displayName: o.displayName })),
			producers: others.flatMap((o) => o.producerInfos()),
		};
	},

	async createWebRtcTransport({ tureen, peer }, { direction }) {
		const room = peer.requireRoom();
		const max = tureen.config.limits.transportsPerPeer;
		if (peer.transports.size >= max) throw limitReached('transportsPerPeer', max, 'this peer has its maximum of transports');
		const managed = tureen.pool.getWorker(room.workerId);
		if (!managed?.alive) throw new TureenError('NO_WORKER_AVAILABLE', 'the room is moving to another worker; retry');
		let transport: ms.WebRtcTransport;
		try {
			transport = await room.router.createWebRtcTransport({
				listenInfos: managed.webRtcListenInfos(tureen.config.webrtcListenIp, tureen.config.announcedIp),
				enableUdp: true,
				enableTcp: true,
				preferUdp: true,
				initialAvailableOutgoingBitrate: 1_000_000,
				appData: { peerId: peer.peerId, direction },
			});
		} catch (error) {
			if (!(error instanceof Error && NO_PORTS.test(error.message))) throw error;
			managed.notePortsExhausted();
			throw new TureenError('NO_PORTS_AVAILABLE', `worker ${managed.workerId} has no free RTC port; retry later`);
		}
		managed.trackTransport(transport);
		peer.adoptTransport(room, transport);
		return {
			transportId: transport.id,
			iceParameters: transport.iceParameters,
			iceCandidates: transport.iceCandidates,
			dtlsParameters: transport.dtlsParameters,
		};
	},

	async connectWebRtcTransport({ peer }, { transportId, dtlsParameters }) {
		await withClientParameters(peer.ownTransport(transportId).connect({ dtlsParameters: dtlsParameters as ms.DtlsParameters }));
		return EMPTY;
	},

	async restartIce({ peer }, { transportId }) {
		return { iceParameters: await peer.ownTransport(transportId).restartIce() };
	},

	async produce({ tureen, peer }, { transportId, kind, rtpParameters, appData }) {
		const room = peer.requireRoom();
		const max = tureen.config.limits.producersPerPeer;
		if (peer.producers.size >= max) throw limitReached('producersPerPeer', max, 'this peer has its maximum of producers');
		const transport = peer.ownTransport(transportId);
		if (transport.appData.direction !== 'send') {
			throw new TureenError('BAD_REQUEST', 'produce needs a transport created with direction "send"');
		}
		const producer = await withClientParameters(
			transport.produce({
				kind,
				rtpParameters: rtpParameters as ms.RtpParameters,
				appData: { ...appData, peerId: peer.peerId },
			}),
		);
		trackProducer(peer, room, producer);
		peer.broadcast('newProducer', { producerId: producer.id, peerId: peer.peerId, kind, paused: producer.paused });
		return { producerId: producer.id };
	},

	async closeProducer({ peer }, { producerId }) {
		peer.ownProducer(producerId).close();
		return EMPTY;
	},

	async pauseProducer({ peer }, { producerId }) {
		await peer.ownProducer(producerId).pause();
		peer.broadcast('producerPaused', { producerId, peerId: peer.peerId });
		return EMPTY;
	},

	async resumeProducer({ peer }, { producerId }) {
		await peer.ownProducer(producerId).resume();
		peer.broadcast('producerResumed', { producerId, peerId: peer.peerId });
		return EMPTY;
	},

	async consume({ tureen, peer }, { producerId, transportId }) {
		const room = peer.requireRoom();
		const max = tureen.config.limits.consumersPerPeer;
		if (peer.consumers.size >= max) throw limitReached('consumersPerPeer', max, 'this peer has its maximum of consumers');
		const transport = peer.ownTransport(transportId);
		if (transport.appData.direction !== 'recv') {
			throw new TureenError('BAD_REQUEST', 'consume needs a transport created with direction "recv"');
		}
		const found = findProducer(room, producerId);
		if (!found) throw new TureenError('NOT_FOUND', `no producer ${producerId} in this room`);
		if (found.owner === peer) throw new TureenError('BAD_REQUEST', 'a peer does not consume its own producer');
		const rtpCapabilities = peer.rtpCapabilities;
		if (!rtpCapabilities || !room.router.canConsume({ producerId, rtpCapabilities })) {
			throw new TureenError('MEDIA_ERROR', 'your RTP capabilities cannot receive this producer');
		}
		// Paused until the client has set up its side, as mediasoup recommends.
		const consumer = await withClientParameters(transport.consume({ producerId, rtpCapabilities, paused: true }));
		trackConsumer(peer, room, consumer);
		return {
			consumerId: consumer.id,
			producerId,
			peerId: found.owner.peerId,
			kind: consumer.kind,
			rtpParameters: consumer.rtpParameters,
			paused: consumer.producerPaused,
		};
	},

	async resumeConsumer({ peer }, { consumerId }) {
		await peer.ownConsumer(consumerId).resume();
		return EMPTY;
	},

	async leave({ tureen, peer }) {
		const room = peer.leave();
		if (room) tureen.rooms.noteMembership(room);
		return EMPTY;
	},
};
