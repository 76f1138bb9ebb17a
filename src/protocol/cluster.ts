// The cluster's shapes, defined once: the node record every node stores in
// Redis (src/cluster/redisStore.ts parses it with this schema), the registry
// as GET /cluster serves it (src/http/clusterRoutes.ts derives its JSON
// schema from these), and what the dashboard's cluster table reads (a type
// import, so nothing of this reaches its bundle).
//
// A node has two URLs, and each has one name everywhere: `httpUrl`, its
// PUBLIC_URL (HTTP API, dashboard), and `signallingUrl`, its WebSocket
// signalling URL (PUBLIC_URL with ws(s): and /ws), the one clients connect to.
import { z } from 'zod';

const count = z.int().nonnegative();

/** A node's signalling URL from its httpUrl (PUBLIC_URL): ws: or wss:, and /ws. */
export function signallingUrl(httpUrl: string): string {
	return `${httpUrl.replace(/^http/, 'ws')}/ws`;
}

/** What each node publishes about itself every heartbeat (the value of tureen:node:<id>). */
export const nodeRecordSchema = z.object({
	nodeId: z.string(),
	httpUrl: z.string().describe('PUBLIC_URL of the node: its HTTP API and dashboard'),
	region: z.string().optional(),
	draining: z.boolean(),
	workers: count,
	workersAlive: count,
	rooms: count.describe('rooms it hosts (as of its last heartbeat)'),
	peers: count,
	consumers: count,
	cpu: z.number().nonnegative().describe('mean CPU of its live workers, fraction of one core'),
	maxRooms: z.int().min(1),
	version: z.string(),
	startedAt: z.int().describe('epoch ms'),
});
export type NodeRecord = z.infer<typeof nodeRecordSchema>;

/** A node as GET /cluster shows it: its record, and what the registry adds. */
export const clusterNodeSchema = nodeRecordSchema.extend({
	signallingUrl: z.string().describe('its WebSocket signalling URL (httpUrl with ws: or wss: and /ws)'),
	alive: z.literal(true).describe('listed nodes are alive: a node whose heartbeat lapsed is dropped'),
	self: z.boolean().describe('the node that answered'),
	ownedRooms: count.describe('rooms the room map gives it, including rooms placed there whose first client has not arrived'),
});
export type ClusterNode = z.infer<typeof clusterNodeSchema>;

/** GET /cluster. */
export const clusterViewSchema = z.object({
	nodeId: z.string().describe('the node that answered'),
	redis: z.enum(['up', 'down']).describe('down: the nodes are as last seen'),
	nodes: z.array(clusterNodeSchema),
});
export type ClusterView = z.infer<typeof clusterViewSchema>;

/** Deprecated copy of `signallingUrl` under its old name, sent for one more release. */
export const deprecatedUrl = z.string().meta({ deprecated: true, description: 'deprecated: the same as signallingUrl; removed in the next release' });

/** GET /cluster/rooms/:roomId: the room's owner. */
export const roomOwnerSchema = z.object({
	roomId: z.string(),
	nodeId: z.string(),
	signallingUrl: z.string().describe("the owner's WebSocket signalling URL"),
	url: deprecatedUrl,
	here: z.boolean().describe('owned by the node that answered'),
});
export type RoomOwnerAnswer = z.infer<typeof roomOwnerSchema>;

/** POST /rooms: where the room lives, and whether this call created it. */
export const roomPlacementSchema = z.object({
	roomId: z.string(),
	nodeId: z.string().optional().describe('cluster only: the node that owns the room'),
	signallingUrl: z.string().optional().describe("cluster only: the owner's WebSocket signalling URL"),
	url: deprecatedUrl.optional(),
	workerId: z.int().optional().describe('the worker hosting the room; in a cluster, only when the room is on the node asked'),
	created: z.boolean(),
});
export type RoomPlacementAnswer = z.infer<typeof roomPlacementSchema>;
