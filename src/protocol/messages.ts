// The signalling protocol, defined once: message types and their runtime
// validation. The server, the browser client and the Node test client all
// import this file (esbuild bundles it for the browser).
import { z } from 'zod';

import { deprecatedUrl } from './cluster.ts';
import { roomIdSchema } from './ids.ts';
import { layerRequestSchemas, type LayerNotifications, type LayerResponseData } from './layers.ts';

export type { ConsumerLayerState } from './layers.ts';

// mediasoup validates RTP/DTLS structures itself and rejects bad ones with a
// clear error; here we only make sure they are plain objects of sane size.
const mediasoupObject = z.record(z.string(), z.unknown());
const entityId = z.string().min(1).max(64);

/** What a media producer carries: its `source` travels in the producer's appData and in every ProducerInfo. */
export const MEDIA_SOURCES = ['camera', 'microphone', 'screen'] as const;
export type MediaSource = (typeof MEDIA_SOURCES)[number];

/** The source of a producer that names none: microphone for audio, camera for video. */
export function defaultSource(kind: string): MediaSource {
	return kind === 'audio' ? 'microphone' : 'camera';
}

// The peer's receive capabilities are stored and handed to mediasoup on every
// consume, so they get a schema of their own: known fields, bounded sizes, no
// depth beyond what the format has (unknown keys are dropped).
const capabilityParameters = z
	.record(z.string().max(64), z.union([z.string().max(256), z.number()]))
	.refine((o) => Object.keys(o).length <= 32, 'at most 32 codec parameters');
export const rtpCapabilitiesSchema = z.object({
	codecs: z
		.array(
			z.object({
				kind: z.enum(['audio', 'video']),
				mimeType: z.string().min(3).max(64),
				preferredPayloadType: z.number().int().min(0).max(127).optional(),
				clockRate: z.number().int().positive().max(1_000_000),
				channels: z.number().int().min(1).max(8).optional(),
				parameters: capabilityParameters.optional(),
				rtcpFeedback: z
					.array(z.object({ type: z.string().max(32), parameter: z.string().max(32).optional() }))
					.max(16)
					.optional(),
			}),
		)
		.max(64),
	headerExtensions: z
		.array(
			z.object({
				kind: z.enum(['audio', 'video']),
				uri: z.string().max(256),
				preferredId: z.number().int().min(1).max(255),
				preferredEncrypt: z.boolean().optional(),
				direction: z.enum(['sendrecv', 'sendonly', 'recvonly', 'inactive']).optional(),
			}),
		)
		.max(64)
		.optional(),
});

export const requestSchemas = {
	getRouterRtpCapabilities: z
		.object({
			roomId: roomIdSchema,
			/** Required when the server has JOIN_SECRET set (it creates the room). */
			token: z.string().max(4096).optional(),
		})
		.strict(),
	join: z
		.object({
			roomId: roomIdSchema,
			displayName: z.string().trim().min(1).max(64),
			// Typed as a plain object for senders; parsed into the bounded shape.
			rtpCapabilities: mediasoupObject.pipe(rtpCapabilitiesSchema),
			/** Required when the server has JOIN_SECRET set. */
			token: z.string().max(4096).optional(),
		})
		.strict(),
	createWebRtcTransport: z.object({ direction: z.enum(['send', 'recv']) }).strict(),
	connectWebRtcTransport: z.object({ transportId: entityId, dtlsParameters: mediasoupObject }).strict(),
	restartIce: z.object({ transportId: entityId }).strict(),
	produce: z
		.object({
			transportId: entityId,
			kind: z.enum(['audio', 'video']),
			rtpParameters: mediasoupObject,
			/** Defaults to microphone for audio, camera for video; microphone must be audio, camera video. */
			source: z.enum(MEDIA_SOURCES).optional(),
			appData: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
		})
		.strict(),
	closeProducer: z.object({ producerId: entityId }).strict(),
	pauseProducer: z.object({ producerId: entityId }).strict(),
	resumeProducer: z.object({ producerId: entityId }).strict(),
	consume: z.object({ producerId: entityId, transportId: entityId }).strict(),
	resumeConsumer: z.object({ consumerId: entityId }).strict(),
	produceData: z
		.object({
			transportId: entityId,
			sctpStreamParameters: mediasoupObject,
			label: z.string().max(64).optional(),
			protocol: z.string().max(64).optional(),
		})
		.strict(),
	closeDataProducer: z.object({ dataProducerId: entityId }).strict(),
	consumeData: z.object({ dataProducerId: entityId, transportId: entityId }).strict(),
	getRoomState: z.object({}).strict(),
	leave: z.object({}).strict(),
	...layerRequestSchemas,
} as const;

export type Method = keyof typeof requestSchemas;
export const METHODS = Object.keys(requestSchemas) as Method[];
/** What a client sends for each method. */
export type RequestData<M extends Method> = z.input<(typeof requestSchemas)[M]>;
/** What a handler gets once the method's schema has parsed it. */
export type ParsedRequestData<M extends Method> = z.output<(typeof requestSchemas)[M]>;

export type PeerInfo = { peerId: string; displayName: string };
/**
 * `paused`: whether the producer's owner has paused it (pauseProducer).
 * `source`: what the owner said it is (produce's `source`).
 */
export type ProducerInfo = { producerId: string; peerId: string; kind: 'audio' | 'video'; source: MediaSource; paused: boolean };
/** A peer's data channel (data producer); `label` and `protocol` as the owner gave them. */
export type DataProducerInfo = { dataProducerId: string; peerId: string; label: string; protocol: string };
/** The other peers of the room (never the caller), their producers and their data producers. */
export type RoomState = { roomId: string; workerId: number; peers: PeerInfo[]; producers: ProducerInfo[]; dataProducers: DataProducerInfo[] };
/** The cluster node a peer joined: its id, and the signalling URLs of the other live nodes at that moment. */
export type NodeInfo = { nodeId: string; alternates: string[] };
/** An RTCIceServer: TURN URLs and the TURN REST API credential minted for this peer (username `expiry:peerId`). */
export type IceServerInfo = { urls: string[]; username: string; credential: string };
export type TransportInfo = {
	/** mediasoup-client's `id` when creating the transport on the Device. */
	transportId: string;
	iceParameters: unknown;
	iceCandidates: unknown[];
	dtlsParameters: unknown;
	/** SCTP for data channels (mediasoup's; `maxReceiveMessageSize` is the server's data message limit). */
	sctpParameters: unknown;
};

/** What each method answers with on success. */
export type ResponseData = {
	getRouterRtpCapabilities: { rtpCapabilities: unknown; workerId: number };
	/**
	 * `node` only from a cluster node (REDIS_URL set): which node hosts the room, and the others to reconnect through if it dies.
	 * `iceServers` only when the server has TURN_URLS: short-lived TURN credentials for this peer (RTCIceServer shape); older clients ignore it.
	 */
	join: RoomState & { peerId: string; node?: NodeInfo; iceServers?: IceServerInfo[] };
	createWebRtcTransport: TransportInfo;
	connectWebRtcTransport: Record<string, never>;
	restartIce: { iceParameters: unknown };
	produce: { producerId: string };
	closeProducer: Record<string, never>;
	pauseProducer: Record<string, never>;
	resumeProducer: Record<string, never>;
	consume: {
		consumerId: string;
		producerId: string;
		peerId: string;
		kind: 'audio' | 'video';
		rtpParameters: unknown;
		/** The producer's state (paused by its owner); the consumer itself always starts paused until resumeConsumer. */
		paused: boolean;
	};
	resumeConsumer: Record<string, never>;
	produceData: { dataProducerId: string };
	closeDataProducer: Record<string, never>;
	consumeData: {
		dataConsumerId: string;
		dataProducerId: string;
		peerId: string;
		sctpStreamParameters: unknown;
		label: string;
		protocol: string;
	};
	getRoomState: RoomState;
	leave: Record<string, never>;
} & LayerResponseData;

/** Server-initiated messages and their data. */
export type Notifications = {
	peerJoined: PeerInfo;
	peerLeft: { peerId: string };
	newProducer: ProducerInfo;
	producerClosed: { producerId: string; peerId: string };
	producerPaused: { producerId: string; peerId: string };
	producerResumed: { producerId: string; peerId: string };
	consumerClosed: { consumerId: string; producerId: string };
	consumerPaused: { consumerId: string };
	consumerResumed: { consumerId: string };
	newDataProducer: DataProducerInfo;
	dataProducerClosed: { dataProducerId: string; peerId: string };
	/**
	 * To the owner only: the server holds (paused: true) or releases this
	 * peer's data producers; held while its data rate is over the limit.
	 */
	dataThrottled: { paused: boolean; messagesPerSecond: number; bytesPerSecond: number };
	/** The room's dominant speaker changed. */
	activeSpeaker: { peerId: string };
	/** Who is heard and how loud (dBov, -127..0), at most once a second and only on change. */
	audioLevels: { levels: { peerId: string; volume: number }[] };
	/**
	 * The room's worker died or was drained, and the room now lives on another
	 * worker: every transport, producer and consumer of this peer is gone; the
	 * client re-creates them (the peer stays joined). See docs/protocol.md.
	 */
	roomMoved: { workerId: number; reason: RoomMoveReason };
	/**
	 * The server is shutting down: finish up; the socket closes by the deadline.
	 * `signallingUrl` only from a cluster node: the signalling URL of the node
	 * to move to now (`url`, the same, is deprecated and goes in the next release).
	 */
	serverDraining: { deadlineMs: number; signallingUrl?: string; /** @deprecated use signallingUrl */ url?: string };
	/** The room is gone; the socket stays open and may join again. */
	roomClosed: { reason: RoomCloseReason };
	/**
	 * The server ended this session: the join token expired, or the same
	 * identity (token `sub`) joined the room again elsewhere. The socket closes next.
	 */
	sessionEnded: { reason: 'token-expired' | 'replaced' };
} & LayerNotifications;
export type NotificationName = keyof Notifications;

/** Why a room moved to another worker. */
export const ROOM_MOVE_REASONS = ['worker-died', 'worker-drained'] as const;
export type RoomMoveReason = (typeof ROOM_MOVE_REASONS)[number];
/** Why a room closed: deleted by an operator, idle, server shutdown, or a move with no live worker to go to. */
export const ROOM_CLOSE_REASONS = ['deleted', 'idle', 'shutdown', 'relocated', ...ROOM_MOVE_REASONS] as const;
export type RoomCloseReason = (typeof ROOM_CLOSE_REASONS)[number];

export const ERROR_CODES = [
	'BAD_REQUEST',
	'INVALID_JSON',
	'UNKNOWN_METHOD',
	'INVALID_ROOM_ID',
	'NOT_JOINED',
	'ALREADY_JOINED',
	'UNAUTHORIZED',
	'FORBIDDEN',
	'NOT_FOUND',
	'ROOM_NOT_FOUND',
	'ROOM_FULL',
	'MEDIA_ERROR',
	'RATE_LIMITED',
	'MESSAGE_TOO_LARGE',
	'PAYLOAD_TOO_LARGE',
	'NO_WORKER_AVAILABLE',
	'NO_PORTS_AVAILABLE',
	'LIMIT_REACHED',
	'SHUTTING_DOWN',
	'WRONG_NODE',
	'CLUSTER_UNAVAILABLE',
	'INTERNAL',
] as const;
export type SignallingErrorCode = (typeof ERROR_CODES)[number];

/** Every cap a client can hit; LIMIT_REACHED names one in its details. */
export const LIMIT_NAMES = [
	'transportsPerPeer',
	'producersPerPeer',
	'consumersPerPeer',
	'dataProducersPerPeer',
	'connectionsPerIp',
	'connections',
	'rooms',
	'roomsPerIpPerMinute',
	'consumersPerProducerPerTransport',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];
export const limitDetailsSchema = z.object({ limit: z.enum(LIMIT_NAMES), max: z.int() });
export type LimitDetails = z.infer<typeof limitDetailsSchema>;
/** Where a room lives: its owner node and that node's signalling URL (connect there and ask again). */
export const wrongNodeDetailsSchema = z.object({
	nodeId: z.string(),
	signallingUrl: z.string().describe("the owner's WebSocket signalling URL"),
	url: deprecatedUrl,
});
export type WrongNodeDetails = z.infer<typeof wrongNodeDetailsSchema>;
/** An error as the server sends it: a WebSocket error response's `error`, an HTTP error body's `error`. */
export const errorBodySchema = z.object({
	code: z.enum(ERROR_CODES),
	message: z.string(),
	details: z
		.union([limitDetailsSchema, wrongNodeDetailsSchema])
		.optional()
		.describe('only on LIMIT_REACHED (which limit, and its value) and WRONG_NODE (where the room lives; signalling only)'),
});
export type ErrorDetails = LimitDetails | WrongNodeDetails;

/** The codes whose error carries no details. */
export type PlainErrorCode = Exclude<SignallingErrorCode, 'LIMIT_REACHED' | 'WRONG_NODE'>;
/** errorBodySchema with `details` tied to its code: only on LIMIT_REACHED (which limit, and its value) and WRONG_NODE (where the room lives). */
export type ErrorBody =
	| { code: 'LIMIT_REACHED'; message: string; details: LimitDetails }
	| { code: 'WRONG_NODE'; message: string; details: WrongNodeDetails }
	| { code: PlainErrorCode; message: string; details?: undefined };

/** Client -> server. */
export type RequestMessage<M extends Method = Method> = { id: number; method: M; data: RequestData<M> };
/** Server -> client, answering the request with the same id (id null when the request had none readable). */
/** `data` is ResponseData[M] of the request's method (the client knows which from the id). */
export type OkResponse = { id: number; ok: true; data: unknown };
export type ErrorResponse = { id: number | null; ok: false; error: ErrorBody };
export type ResponseMessage = OkResponse | ErrorResponse;
/** One member per notification name, so a `switch` on `notification` narrows `data`. */
export type NotificationMessage<N extends NotificationName = NotificationName> = {
	[K in N]: { notification: K; data: Notifications[K] };
}[N];
export type ServerMessage = ResponseMessage | NotificationMessage;

export const requestEnvelopeSchema = z
	.object({
		id: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
		method: z.string().max(64),
		data: z.unknown().optional(),
	})
	.strict();

// The same schemas, typed per method, so a generic method picks its own output type.
const schemasByMethod: { [M in Method]: z.ZodType<ParsedRequestData<M>> } = requestSchemas;

export type ParsedRequest<M extends Method> = { success: true; data: ParsedRequestData<M> } | { success: false; error: z.ZodError };

/** A request's data checked against its method's schema. */
export function parseRequestData<M extends Method>(method: M, data: unknown): ParsedRequest<M> {
	return schemasByMethod[method].safeParse(data);
}

export function isMethod(name: string): name is Method {
	return Object.hasOwn(requestSchemas, name);
}

export function isNotification(message: ServerMessage): message is NotificationMessage {
	return 'notification' in message;
}

const serverMessageSchema = z.union([
	z.object({ notification: z.string(), data: z.record(z.string(), z.unknown()) }),
	z.object({ id: z.number(), ok: z.literal(true), data: z.unknown() }),
	z.object({ id: z.number().nullable(), ok: z.literal(false), error: errorBodySchema.pick({ code: true, message: true }).loose() }),
]);

/**
 * Whether a parsed frame is a ServerMessage. The envelope is checked; each
 * `data` is trusted to match its notification or method, since the server
 * builds it from these same types.
 */
function isServerMessage(value: unknown): value is ServerMessage {
	return serverMessageSchema.safeParse(value).success;
}

/** A frame from the server, or undefined when it is not a ServerMessage. */
export function parseServerMessage(text: string): ServerMessage | undefined {
	try {
		const json: unknown = JSON.parse(text);
		return isServerMessage(json) ? json : undefined;
	} catch {
		return undefined;
	}
}

/**
 * The code for a request its method's schema refused: INVALID_ROOM_ID when the
 * problem is a roomId the client gave (as over HTTP), BAD_REQUEST otherwise.
 */
export function requestErrorCode(data: unknown, error: z.ZodError): 'INVALID_ROOM_ID' | 'BAD_REQUEST' {
	const givenRoomId = typeof data === 'object' && data !== null && Object.hasOwn(data, 'roomId');
	return givenRoomId && error.issues[0]?.path[0] === 'roomId' ? 'INVALID_ROOM_ID' : 'BAD_REQUEST';
}

/** First validation problem, in a line a developer can act on. */
export function describeZodError(error: z.ZodError): string {
	const issue = error.issues[0];
	if (!issue) return 'invalid message';
	const where = issue.path.length > 0 ? issue.path.join('.') : 'message';
	return `${where}: ${issue.message}`;
}
