// The operator API's shapes for workers and rooms (GET /stats, /workers,
// /rooms, /rooms/:roomId), defined once: the worker pool and the routes build
// them (types by z.infer), Fastify serialises and OpenAPI documents them
// (JSON schema by z.toJSONSchema in src/http/schemas.ts), and the dashboard
// reads them (type imports only, so nothing of this reaches its bundle).
import { z } from 'zod';

import { consumerLayerStateSchema } from './layers.ts';

const count = z.int().nonnegative();

/** One worker slot, as GET /workers, GET /stats and the drain endpoints show it. */
/**
 * range: each WebRTC transport binds its own UDP and TCP port from its
 * worker's range (RTC_PORTS_PER_WORKER wide). single: each worker has one
 * mediasoup WebRtcServer on one UDP and one TCP port, RTC_BASE_PORT + i, which
 * all its transports share.
 */
export const rtcPortModeSchema = z.enum(['range', 'single']);
export type RtcPortMode = z.infer<typeof rtcPortModeSchema>;
export const RTC_PORT_MODES = rtcPortModeSchema.options;

export const workerStatsSchema = z.object({
	workerId: z.int(),
	pid: z.int().nullable(),
	closed: z.boolean(),
	draining: z.boolean(),
	roomCount: count.describe('rooms with a router on this worker (a room spanning workers counts on each)'),
	peerCount: count.describe('peers whose router is on this worker'),
	pipeTransports: count.describe('pipe transports linking routers here to other routers of their rooms'),
	pipedProducers: count.describe('producers of other workers made available here through pipes'),
	cpuUsage: z.number().describe('CPU over the last sample interval, fraction of one core'),
	cpuUsageAvg: z.number().describe('moving average of cpuUsage; used by placement'),
	portRange: z.object({ min: z.int(), max: z.int() }),
	ports: z
		.object({ mode: rtcPortModeSchema, inUse: count, capacity: count, exhausted: z.boolean() })
		.describe('RTC ports in use (range: each transport binds one UDP and one TCP port; single: the worker WebRtcServer, 1/1, never exhausted); exhausted: a transport was refused for want of a port'),
	memory: z.object({ ru_maxrss: z.int().describe('KiB') }),
	lastUsedAt: z.string().nullable().describe('when placement last put a new router here (ISO 8601); null before that'),
	restarts: count,
	uptimeMs: count,
});
export type WorkerStats = z.infer<typeof workerStatsSchema>;

/** Room ids per workerId (string keys, for JSON); a room with routers on several workers is listed under each. */
export const roomDistributionSchema = z
	.record(z.string(), z.array(z.string()))
	.describe('room ids per workerId; a room with routers on several workers is listed under each (totalRooms counts it once)');
export type RoomDistribution = z.infer<typeof roomDistributionSchema>;

/** GET /stats. */
export const statsSchema = z.object({
	workers: z.array(workerStatsSchema),
	distribution: roomDistributionSchema,
	totalRooms: count.describe('distinct rooms'),
	totalPeers: count,
	uptimeMs: count,
	version: z.string(),
	mediasoupVersion: z.string(),
	draining: z.boolean(),
	nodeId: z.string().optional().describe('cluster nodes only: this node (GET /cluster lists them all)'),
});
export type Stats = z.infer<typeof statsSchema>;

/** GET /workers. */
export const workersSchema = z.object({ workers: z.array(workerStatsSchema) });
export type Workers = z.infer<typeof workersSchema>;

/** A room as GET /rooms and GET /rooms/:roomId describe it. */
export const roomDescriptionSchema = z.object({
	roomId: z.string(),
	workerId: z.int().describe("the room's home worker (its oldest router)"),
	peerCount: count,
	workers: z
		.array(z.object({ workerId: z.int(), peerCount: count }))
		.describe('every worker with a router of the room, oldest first, and the peers placed on it'),
	peers: z.array(
		z.object({
			peerId: z.string(),
			displayName: z.string(),
			consumers: z.array(consumerLayerStateSchema).describe("the peer's consumers and the layers they forward"),
			transports: z
				.array(z.object({ transportId: z.string(), direction: z.enum(['send', 'recv']).optional(), roundTripTime: z.number().optional() }))
				.optional()
				.describe("GET /rooms/:roomId only: the peer's transports; roundTripTime (ms) once mediasoup has measured one from RTCP"),
		}),
	),
	createdAt: z.string().describe('ISO 8601'),
});
export type RoomDescription = z.infer<typeof roomDescriptionSchema>;

/** GET /rooms. */
export const roomsSchema = z.object({ rooms: z.array(roomDescriptionSchema) });
export type Rooms = z.infer<typeof roomsSchema>;
