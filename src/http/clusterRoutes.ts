import type { FastifyInstance } from 'fastify';

import type { ClusterView, Placement } from '../cluster/coordinator.ts';
import { TureenError } from '../errors.ts';
import { errorSchema, roomIdParamsSchema } from './schemas.ts';

/** What the cluster endpoints need: the registry now, and a room's owner. */
export type ClusterRouteDeps = {
	view(): Promise<ClusterView>;
	owner(roomId: string): Promise<Placement | undefined>;
};

const clusterNodeSchema = {
	type: 'object',
	required: ['nodeId', 'url', 'alive', 'draining'],
	properties: {
		nodeId: { type: 'string' },
		url: { type: 'string', description: 'PUBLIC_URL of the node' },
		signallingUrl: { type: 'string', description: 'its /ws' },
		region: { type: 'string' },
		alive: { type: 'boolean', description: 'listed nodes are alive: a node whose heartbeat lapsed is dropped' },
		draining: { type: 'boolean' },
		self: { type: 'boolean', description: 'the node that answered' },
		workers: { type: 'integer' },
		workersAlive: { type: 'integer' },
		rooms: { type: 'integer', description: 'rooms it hosts (as of its last heartbeat)' },
		ownedRooms: { type: 'integer', description: 'rooms the room map gives it, including rooms placed there whose first client has not arrived' },
		peers: { type: 'integer' },
		consumers: { type: 'integer' },
		cpu: { type: 'number', description: 'mean CPU of its live workers, fraction of one core' },
		maxRooms: { type: 'integer' },
		version: { type: 'string' },
		startedAt: { type: 'integer', description: 'epoch ms' },
	},
} as const;

const clusterSchema = {
	type: 'object',
	required: ['nodeId', 'redis', 'nodes'],
	properties: {
		nodeId: { type: 'string', description: 'the node that answered' },
		redis: { type: 'string', enum: ['up', 'down'], description: 'down: the nodes are as last seen' },
		nodes: { type: 'array', items: clusterNodeSchema },
	},
} as const;

const roomOwnerSchema = {
	type: 'object',
	properties: {
		roomId: { type: 'string' },
		nodeId: { type: 'string' },
		url: { type: 'string', description: "the owner's signalling URL" },
		here: { type: 'boolean', description: 'owned by the node that answered' },
	},
} as const;

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 503: errorSchema };

/** GET /cluster and GET /cluster/rooms/:roomId (guarded like /stats). */
export function registerClusterRoutes(app: FastifyInstance, deps: ClusterRouteDeps): void {
	app.get('/cluster', { schema: { response: { 200: clusterSchema, ...errors } } }, async () => deps.view());

	app.get<{ Params: { roomId: string } }>(
		'/cluster/rooms/:roomId',
		{ schema: { params: roomIdParamsSchema, response: { 200: roomOwnerSchema, ...errors } } },
		async (request) => {
			const { roomId } = request.params;
			const owner = await deps.owner(roomId);
			if (!owner) throw new TureenError('ROOM_NOT_FOUND', `no live node owns room "${roomId}"`);
			return { roomId, nodeId: owner.nodeId, url: owner.url, here: owner.here };
		},
	);
}
