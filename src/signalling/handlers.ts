// The signalling requests: each validates what the client sent (joined,
// caps, ownership, shape of the source) and asks the participant or the room;
// the participant creates and owns every mediasoup object.
import type { types as ms } from 'mediasoup';

import type { VerifiedJoin } from '../auth/joinToken.ts';
import { limitReached, TureenError } from '../errors.ts';
import { defaultSource, MEDIA_SOURCES, type MediaSource, type RoomState } from '../protocol/messages.ts';
import type { Participant, ParticipantRoom } from '../services/participants/participant.ts';
import { identityJoinKey } from '../limits/floodBudgets.ts';
import { unconsumableReason } from '../services/rooms/codecMatch.ts';
import { EMPTY, type HandlerDeps, type Handlers } from './handlerTypes.ts';
import { layerHandlers } from './layerHandlers.ts';

/** The member of `room` whose map (producers or data producers) holds `id`. */
function ownerOf(room: ParticipantRoom, id: string, mapOf: (member: Participant) => ReadonlyMap<string, unknown>): Participant | undefined {
	for (const member of room.members.values()) {
		if (mapOf(member).has(id)) return member;
	}
	return undefined;
}

/** What produce and produceData check before the participant makes anything: joined, and under its cap. */
function checkProduceCap(peer: Participant, method: 'produce' | 'produceData', cap: { limit: 'producersPerPeer' | 'dataProducersPerPeer'; max: number; held: number }): void {
	peer.requireRoom();
	if (cap.held >= cap.max) throw limitReached(cap.limit, cap.max, `this peer has its maximum of ${method === 'produce' ? 'producers' : 'data producers'}`);
}

/**
 * What consume and consumeData check before the participant makes anything:
 * joined, under the consumer cap (media and data consumers count together),
 * one of the peer's receive transports, and another member's producer or data
 * producer, whose owner is returned.
 */
function consumeOwner(
	deps: HandlerDeps,
	peer: Participant,
	request: { transportId: string; id: string; method: 'consume' | 'consumeData'; what: string },
	mapOf: (member: Participant) => ReadonlyMap<string, unknown>,
): Participant {
	const room = peer.requireRoom();
	const max = deps.settings.limits.consumersPerPeer;
	if (peer.consumers.size + peer.dataConsumers.size >= max) throw limitReached('consumersPerPeer', max, 'this peer has its maximum of consumers');
	peer.ownTransportFor(request.transportId, 'recv', request.method);
	const owner = ownerOf(room, request.id, mapOf);
	if (!owner) throw new TureenError('NOT_FOUND', `no ${request.what} ${request.id} in this room`);
	if (owner === peer) throw new TureenError('BAD_REQUEST', `a peer does not consume its own ${request.what}`);
	return owner;
}

/**
 * The producer's source: a top-level `source` wins; an `appData.source` alone
 * is used when it names a source; both, and different, is a mistake. A source
 * must fit the kind: a microphone is audio, a camera video; a screen may carry either.
 */
function resolveSource(kind: 'audio' | 'video', source: MediaSource | undefined, appData: Record<string, unknown> | undefined): MediaSource {
	const given = appData?.source;
	if (given !== undefined) {
		const named = MEDIA_SOURCES.find((s) => s === given);
		if (!named) throw new TureenError('BAD_REQUEST', `produce: appData.source must be one of ${MEDIA_SOURCES.join(', ')} (or leave it out)`);
		if (source !== undefined && source !== named) {
			throw new TureenError('BAD_REQUEST', `produce: source "${source}" and appData.source "${named}" differ; send one of them`);
		}
		source ??= named;
	}
	if (source === undefined) return defaultSource(kind);
	if ((source === 'microphone' && kind !== 'audio') || (source === 'camera' && kind !== 'video')) {
		throw new TureenError('BAD_REQUEST', `produce: source "${source}" cannot be ${kind}`);
	}
	return source;
}

/** The room as `peer` sees it: everyone else, their producers and their data producers. */
function roomState(room: ParticipantRoom, peer: Participant): RoomState {
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
function checkRoomFull(deps: HandlerDeps, room: ParticipantRoom, claims: VerifiedJoin | undefined): Participant | undefined {
	const previous = claims ? room.members.get(claims.peer) : undefined;
	const { maxPeersPerRoom } = deps.settings;
	if (room.members.size - (previous ? 1 : 0) >= maxPeersPerRoom) {
		throw new TureenError('ROOM_FULL', `room "${room.roomId}" has its maximum of ${maxPeersPerRoom} peers`);
	}
	return previous;
}

const producers = (m: Participant) => m.producers;
const dataProducers = (m: Participant) => m.dataProducers;

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
			peer.enter(room, {
				seat,
				displayName: claims?.displayName ?? displayName,
				rtpCapabilities: rtpCapabilities as ms.RtpCapabilities,
				...(claims ? { session: { identity: claims.peer, expiresAt: claims.expiresAt } } : {}),
			});
		} finally {
			seat.release();
		}
		peer.broadcast({ notification: 'peerJoined', data: { peerId: peer.peerId, displayName: peer.displayName } });
		return {
			peerId: peer.peerId,
			...roomState(room, peer),
			...(deps.node ? { node: deps.node() } : {}),
			...(deps.iceServersFor ? { iceServers: deps.iceServersFor(peer.peerId) } : {}),
		};
	},

	async getRoomState({ peer }) {
		return roomState(peer.requireRoom(), peer);
	},

	async createWebRtcTransport({ deps, peer }, { direction }) {
		peer.requireRoom();
		const { limits } = deps.settings;
		if (peer.transports.size >= limits.transportsPerPeer) {
			throw limitReached('transportsPerPeer', limits.transportsPerPeer, 'this peer has its maximum of transports');
		}
		const settings = {
			dataMessageBytes: limits.dataMessageBytes,
			incomingBitrate: limits.incomingBitratePerPeer,
			outgoingBitrate: limits.outgoingBitratePerPeer,
			peerOutgoingBitrate: deps.settings.flood.peerOutgoingBitrate,
		};
		return peer.createWebRtcTransport(direction, (workerId) => deps.transportHost(workerId), settings);
	},

	async connectWebRtcTransport({ peer }, { transportId, dtlsParameters }) {
		await peer.connectTransport(transportId, dtlsParameters as ms.DtlsParameters);
		return EMPTY;
	},

	async restartIce({ peer }, { transportId }) {
		return { iceParameters: await peer.restartIce(transportId) };
	},

	async produce({ deps, peer }, { transportId, kind, rtpParameters, source, appData }) {
		checkProduceCap(peer, 'produce', { limit: 'producersPerPeer', max: deps.settings.limits.producersPerPeer, held: peer.producers.size });
		peer.ownTransportFor(transportId, 'send', 'produce');
		const resolved = resolveSource(kind, source, appData);
		const producerId = await peer.produce({ transportId, kind, rtpParameters: rtpParameters as ms.RtpParameters, source: resolved, ...(appData ? { appData } : {}) });
		return { producerId };
	},

	async closeProducer({ peer }, { producerId }) {
		peer.closeProducer(producerId);
		return EMPTY;
	},

	async pauseProducer({ peer }, { producerId }) {
		await peer.pauseProducer(producerId);
		return EMPTY;
	},

	async resumeProducer({ peer }, { producerId }) {
		await peer.resumeProducer(producerId);
		return EMPTY;
	},

	async consume({ deps, peer }, { producerId, transportId }) {
		const owner = consumeOwner(deps, peer, { transportId, id: producerId, method: 'consume', what: 'producer' }, producers);
		return peer.consume(owner, { transportId, producerId });
	},

	async resumeConsumer({ peer }, { consumerId }) {
		await peer.resumeConsumer(consumerId);
		return EMPTY;
	},

	async produceData({ deps, peer }, { transportId, sctpStreamParameters, label, protocol }) {
		const max = deps.settings.limits.dataProducersPerPeer;
		checkProduceCap(peer, 'produceData', { limit: 'dataProducersPerPeer', max, held: peer.dataProducers.size });
		const request = { transportId, sctpStreamParameters: sctpStreamParameters as ms.SctpStreamParameters, label: label ?? '', protocol: protocol ?? '' };
		return { dataProducerId: await peer.produceData(request) };
	},

	async closeDataProducer({ peer }, { dataProducerId }) {
		peer.closeDataProducer(dataProducerId);
		return EMPTY;
	},

	async consumeData({ deps, peer }, { dataProducerId, transportId }) {
		const owner = consumeOwner(deps, peer, { transportId, id: dataProducerId, method: 'consumeData', what: 'data producer' }, dataProducers);
		return peer.consumeData(owner, { transportId, dataProducerId });
	},

	...layerHandlers,

	async leave({ peer }) {
		peer.leave();
		return EMPTY;
	},
};
