// What every request handler is given and returns; handlers.ts and
// layerHandlers.ts both build on it, so it imports neither.
import type { VerifiedJoin } from '../auth/joinToken.ts';
import type { Config, FloodLimits, Limits } from '../config.ts';
import type { KeyedBudget } from '../limits/keyedBudget.ts';
import type { IceServerInfo, Method, NodeInfo, ParsedRequestData, ResponseData } from '../protocol/messages.ts';
import type { TransportHost } from '../services/participants/mediaCalls.ts';
import type { KeyFrameGate } from '../services/participants/keyFrameGate.ts';
import type { Participant, ParticipantRoom } from '../services/participants/participant.ts';

/** What the request handlers need from the rest of the server, and nothing more. */
export type HandlerDeps = {
	rooms: { getOrCreateRoom(roomId: string, creator?: string): Promise<{ room: ParticipantRoom }> };
	/** The slot currently hosting workerId, if any. */
	transportHost(workerId: number): TransportHost | undefined;
	/** The join's identity from its token when JOIN_SECRET is set; undefined when open. Throws UNAUTHORIZED/FORBIDDEN. */
	authorizeJoin(roomId: string, token: string | undefined): Promise<VerifiedJoin | undefined>;
	settings: Pick<Config, 'maxPeersPerRoom'> & {
		limits: Pick<Limits, 'transportsPerPeer' | 'producersPerPeer' | 'consumersPerPeer' | 'dataProducersPerPeer' | 'dataMessageBytes' | 'incomingBitratePerPeer' | 'outgoingBitratePerPeer'>;
		/** MAX_PEER_OUTGOING_BITRATE: a peer's outgoing bitrate across its receive transports. */
		flood: Pick<FloodLimits, 'peerOutgoingBitrate'>;
	};
	/** On a cluster node: this node and the others, told to each peer that joins. Unset on a single server. */
	node?: () => NodeInfo;
	/** Subscribers' key-frame requests coalesced per producer stream; unset: each one goes through. */
	keyFrames?: Pick<KeyFrameGate, 'request'>;
	/** Joins per token identity in a room (key: identityJoinKey); unset: not limited. */
	identityJoins?: Pick<KeyedBudget, 'tryTake'>;
	/** With TURN_URLS: TURN credentials minted now for the peer, handed over in its join answer. */
	iceServersFor?: (peerId: string) => IceServerInfo[];
};

/** `ip`: the connection's remote address, for per-address limits. */
export type HandlerContext = { deps: HandlerDeps; peer: Participant; ip: string };
type Handler<M extends Method> = (ctx: HandlerContext, data: ParsedRequestData<M>) => Promise<ResponseData[M]>;
export type Handlers = { [M in Method]: Handler<M> };

/** The answer of a request that returns nothing. */
export const EMPTY = {} as Record<string, never>;
