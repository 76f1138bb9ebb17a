import type { FastifyInstance } from 'fastify';

import type { Placement } from '../cluster/coordinator.ts';
import { TureenError } from '../errors.ts';
import { clusterViewSchema, roomOwnerSchema, type ClusterView, type RoomOwnerAnswer } from '../protocol/cluster.ts';
import { errorSchema, jsonSchema, roomIdParamsSchema } from './schemas.ts';

/** What the cluster endpoints need: the registry now, and a room's owner. */
export type ClusterRouteDeps = {
	view(): Promise<ClusterView>;
	owner(roomId: string): Promise<Placement | undefined>;
};

const responses = { cluster: jsonSchema(clusterViewSchema), owner: jsonSchema(roomOwnerSchema) };

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 503: errorSchema };

/** GET /cluster and GET /cluster/rooms/:roomId (guarded like /stats). */
export function registerClusterRoutes(app: FastifyInstance, deps: ClusterRouteDeps): void {
	app.get('/cluster', { schema: { response: { 200: responses.cluster, ...errors } } }, async () => deps.view());

	app.get<{ Params: { roomId: string } }>(
		'/cluster/rooms/:roomId',
		{ schema: { params: roomIdParamsSchema, response: { 200: responses.owner, ...errors } } },
		async (request): Promise<RoomOwnerAnswer> => {
			const { roomId } = request.params;
			const owner = await deps.owner(roomId);
			if (!owner) throw new TureenError('ROOM_NOT_FOUND', `no live node owns room "${roomId}"`);
			// `url` is the deprecated name of signallingUrl, sent for one more release.
			return { roomId, nodeId: owner.nodeId, signallingUrl: owner.signallingUrl, url: owner.signallingUrl, here: owner.here };
		},
	);
}
