import type { FastifyInstance } from 'fastify';

import type { Placement } from '../cluster/coordinator.ts';
import { TureenError } from '../errors.ts';
import { roomPlacementSchema, type RoomPlacementAnswer } from '../protocol/cluster.ts';
import type { RoomCloseReason } from '../protocol/messages.ts';
import type { TurnServerStatus, TurnSummary } from '../services/turn/turnStatus.ts';
import {
	roomDescriptionSchema,
	roomsSchema,
	statsSchema,
	workersSchema,
	workerStatsSchema,
	type RoomDescription,
	type RoomDistribution,
	type Rooms,
	type Stats,
	type Workers,
	type WorkerStats,
} from '../protocol/stats.ts';
import type { Room, RoomMember } from '../services/rooms/room.ts';
import { createRoomBodySchema, errorSchema, jsonSchema, roomIdParamsSchema, workerIdParamsSchema } from './schemas.ts';

/** Which versions run; /stats reports them. */
export type BuildInfo = { version: string; mediasoupVersion: string };

/** What the operator endpoints need from the server, and nothing more. */
export type AdminRouteDeps = {
	pool: { getWorkerStats(): WorkerStats[]; getRoomDistribution(): RoomDistribution };
	rooms: {
		readonly rooms: readonly Room[];
		readonly totalPeers: number;
		getOrCreateRoom(roomId: string, creator?: string): Promise<{ room: Room; created: boolean }>;
		requireRoom(roomId: string): Room;
		closeRoom(roomId: string, reason: RoomCloseReason): void;
	};
	build: BuildInfo;
	isDraining(): boolean;
	setWorkerDraining(workerId: number, draining: boolean): void;
	/** With ADMIN_TOKEN the caller is the operator: rooms it creates count against no address. */
	adminTokenSet: boolean;
	/** On a cluster node: where a room lives, placing it in the cluster when new (charging `creator` cluster-wide). Unset on a single server. */
	placeRoom?: (roomId: string, creator?: string) => Promise<Placement>;
	/** On a cluster node: its NODE_ID, which /stats names. */
	nodeId?: string;
};

/** What the probes need: each worker slot's liveness, and whether the server drains. */
export type ProbeDeps = {
	workers(): readonly { readonly alive: boolean }[];
	isDraining(): boolean;
	/** On a cluster node: whether Redis is reachable. Unset on a single server. */
	clusterReachable?: () => boolean;
	/** With TURN_URLS: the last check of each TURN server. Informative: a TURN server down does not make this node unready. */
	turn?: () => { summary: TurnSummary; servers: readonly TurnServerStatus[] };
};

function describeRoom(room: Room): RoomDescription {
	return {
		roomId: room.roomId,
		workerId: room.workerId,
		peerCount: room.members.size,
		workers: room.routers.map((r) => ({ workerId: r.workerId, peerCount: r.members.size })),
		peers: [...room.members.values()].map((m) => ({ peerId: m.peerId, displayName: m.displayName, consumers: m.consumerLayers?.() ?? [] })),
		createdAt: new Date(room.createdAt).toISOString(),
	};
}

const responses = {
	stats: jsonSchema(statsSchema),
	workers: jsonSchema(workersSchema),
	worker: jsonSchema(workerStatsSchema),
	rooms: jsonSchema(roomsSchema),
	room: jsonSchema(roomDescriptionSchema),
	placement: jsonSchema(roomPlacementSchema),
};

/** Where a room placed on a cluster node lives; `url` is the deprecated name of signallingUrl, sent for one more release. */
function owner(placement: Placement): Pick<RoomPlacementAnswer, 'nodeId' | 'signallingUrl' | 'url'> {
	return { nodeId: placement.nodeId, signallingUrl: placement.signallingUrl, url: placement.signallingUrl };
}

/**
 * Each transport of a member with the round-trip time mediasoup measured on it
 * (ms; from RTCP, so absent until the link has reported, and on a transport
 * that closed meanwhile).
 */
async function memberTransports(member: RoomMember): Promise<{ transportId: string; direction?: string; roundTripTime?: number }[]> {
	const transports = [...(member.transports?.values() ?? [])].filter((t) => !t.closed);
	return Promise.all(
		transports.map(async (t) => {
			const [stats] = await t.getStats().catch(() => []);
			const direction = typeof t.appData.direction === 'string' ? t.appData.direction : undefined;
			return {
				transportId: t.id,
				...(direction ? { direction } : {}),
				...(stats?.roundTripTime !== undefined ? { roundTripTime: stats.roundTripTime } : {}),
			};
		}),
	);
}

/** describeRoom() plus each peer's transports and their round-trip times (only GET /rooms/:roomId asks the workers). */
async function describeRoomWithTransports(room: Room) {
	const described = describeRoom(room);
	const members = [...room.members.values()];
	const transports = await Promise.all(members.map(memberTransports));
	return { ...described, peers: described.peers.map((p, i) => ({ ...p, transports: transports[i] ?? [] })) };
}

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 415: errorSchema, 429: errorSchema, 503: errorSchema };

/** Operator endpoints: everything the ADMIN_TOKEN guard covers when it is set. */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
	const { pool, rooms } = deps;

	app.get('/stats', { schema: { response: { 200: responses.stats, ...errors } } }, async (): Promise<Stats> => ({
		workers: pool.getWorkerStats(),
		distribution: pool.getRoomDistribution(),
		totalRooms: rooms.rooms.length,
		totalPeers: rooms.totalPeers,
		uptimeMs: Math.round(process.uptime() * 1000),
		version: deps.build.version,
		mediasoupVersion: deps.build.mediasoupVersion,
		draining: deps.isDraining(),
		...(deps.nodeId ? { nodeId: deps.nodeId } : {}),
	}));

	app.get(
		'/workers',
		{ schema: { response: { 200: responses.workers, ...errors } } },
		async (): Promise<Workers> => ({ workers: pool.getWorkerStats() }),
	);

	app.get(
		'/rooms',
		{ schema: { response: { 200: responses.rooms, ...errors } } },
		async (): Promise<Rooms> => ({ rooms: rooms.rooms.map(describeRoom) }),
	);

	app.post<{ Body: { roomId: string } }>(
		'/rooms',
		{
			schema: {
				body: createRoomBodySchema,
				response: { 200: responses.placement, 201: responses.placement, ...errors },
			},
		},
		async (request, reply): Promise<RoomPlacementAnswer> => {
			const creator = deps.adminTokenSet ? undefined : request.ip;
			const placement = await deps.placeRoom?.(request.body.roomId, creator);
			if (placement && !placement.here) {
				// Placed on another node: it creates the room when the first client arrives there.
				reply.code(placement.created ? 201 : 200);
				return { roomId: request.body.roomId, ...owner(placement), created: placement.created };
			}
			const { room, created: createdHere } = await rooms.getOrCreateRoom(request.body.roomId, creator);
			// In a cluster "created" is the placement's: two nodes asked at once answer one creation.
			const created = placement ? placement.created : createdHere;
			reply.code(created ? 201 : 200);
			return { roomId: room.roomId, ...(placement ? owner(placement) : {}), workerId: room.workerId, created };
		},
	);

	app.get<{ Params: { roomId: string } }>(
		'/rooms/:roomId',
		{ schema: { params: roomIdParamsSchema, response: { 200: responses.room, ...errors } } },
		async (request) => describeRoomWithTransports(rooms.requireRoom(request.params.roomId)),
	);

	app.delete<{ Params: { roomId: string } }>(
		'/rooms/:roomId',
		{ schema: { params: roomIdParamsSchema, response: { 204: { type: 'null' }, ...errors } } },
		async (request, reply) => {
			rooms.closeRoom(request.params.roomId, 'deleted');
			reply.code(204);
		},
	);

	for (const action of ['drain', 'undrain'] as const) {
		app.post<{ Params: { workerId: string } }>(
			`/workers/:workerId/${action}`,
			{ schema: { params: workerIdParamsSchema, response: { 200: responses.worker, ...errors } } },
			async (request) => {
				const workerId = Number(request.params.workerId);
				deps.setWorkerDraining(workerId, action === 'drain');
				const stats = pool.getWorkerStats()[workerId];
				if (!stats) throw new TureenError('NOT_FOUND', `no worker ${workerId}`);
				return stats;
			},
		);
	}
}

/** Probes for orchestrators and PM2: always open. */
export function registerProbeRoutes(app: FastifyInstance, deps: ProbeDeps): void {
	const probe = {
		type: 'object',
		properties: {
			status: { type: 'string' },
			workers: { type: 'integer' },
			liveWorkers: { type: 'integer' },
			cluster: { type: 'string', enum: ['up', 'down'], description: 'cluster nodes only: whether Redis is reachable' },
			turn: {
				type: 'object',
				description: 'with TURN_URLS only: whether each TURN server answered an allocate with minted credentials at start (informative; does not change the status)',
				properties: {
					status: { type: 'string', enum: ['up', 'partial', 'down', 'checking'] },
					servers: {
						type: 'array',
						items: {
							type: 'object',
							properties: { url: { type: 'string' }, state: { type: 'string' }, rttMs: { type: 'number' }, error: { type: 'string' }, checkedAt: { type: 'integer' } },
						},
					},
				},
			},
		},
	};
	app.get('/health', { schema: { response: { 200: probe } } }, async () => ({ status: 'ok' }));
	app.get('/ready', { schema: { response: { 200: probe, 503: probe } } }, async (_request, reply) => {
		const workers = deps.workers();
		const draining = deps.isDraining();
		const liveWorkers = workers.filter((w) => w.alive).length;
		const reachable = deps.clusterReachable?.();
		const ready = !draining && liveWorkers === workers.length && reachable !== false;
		reply.code(ready ? 200 : 503);
		const status = ready ? 'ready' : draining ? 'draining' : reachable === false ? 'cluster-unavailable' : 'degraded';
		const turn = deps.turn?.();
		return {
			status,
			workers: workers.length,
			liveWorkers,
			...(reachable === undefined ? {} : { cluster: reachable ? 'up' : 'down' }),
			...(turn ? { turn: { status: turn.summary, servers: turn.servers } } : {}),
		};
	});
}
