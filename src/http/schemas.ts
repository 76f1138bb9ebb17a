// JSON schemas of the HTTP API: Fastify validates requests and serialises
// responses with them, and /openapi.json is generated from them.
import { ROOM_ID_PATTERN } from '../protocol/ids.ts';

export const errorSchema = {
	type: 'object',
	required: ['error'],
	properties: {
		error: {
			type: 'object',
			required: ['code', 'message'],
			properties: {
				code: { type: 'string' },
				message: { type: 'string' },
				details: {
					type: 'object',
					description: 'LIMIT_REACHED only: which limit and its value',
					properties: { limit: { type: 'string' }, max: { type: 'integer' } },
				},
			},
		},
	},
} as const;

const portRangeSchema = {
	type: 'object',
	required: ['min', 'max'],
	properties: { min: { type: 'integer' }, max: { type: 'integer' } },
} as const;

export const workerStatsSchema = {
	type: 'object',
	required: ['workerId', 'pid', 'closed', 'roomCount', 'peerCount', 'cpuUsage', 'portRange', 'restarts'],
	properties: {
		workerId: { type: 'integer' },
		pid: { type: ['integer', 'null'] },
		closed: { type: 'boolean' },
		draining: { type: 'boolean' },
		roomCount: { type: 'integer', description: 'rooms with a router on this worker (a room spanning workers counts on each)' },
		peerCount: { type: 'integer', description: 'peers whose router is on this worker' },
		pipeTransports: { type: 'integer', description: 'pipe transports linking routers here to other routers of their rooms' },
		pipedProducers: { type: 'integer', description: 'producers of other workers made available here through pipes' },
		cpuUsage: { type: 'number', description: 'CPU over the last sample interval, fraction of one core' },
		cpuUsageAvg: { type: 'number', description: 'moving average of cpuUsage; used by placement' },
		portRange: portRangeSchema,
		ports: {
			type: 'object',
			description: 'RTC ports in use (each transport binds one UDP and one TCP port); exhausted: a transport was refused for want of a port',
			properties: {
				mode: { type: 'string', enum: ['range', 'single'], description: 'RTC_PORT_MODE: range = ports per transport; single = one WebRtcServer port per worker (UDP + TCP), never exhausted' },
				inUse: { type: 'integer' },
				capacity: { type: 'integer' },
				exhausted: { type: 'boolean' },
			},
		},
		memory: { type: 'object', properties: { ru_maxrss: { type: 'integer', description: 'KiB' } } },
		lastUsedAt: { type: ['string', 'null'] },
		restarts: { type: 'integer' },
		uptimeMs: { type: 'integer' },
	},
} as const;

export const roomIdParamsSchema = {
	type: 'object',
	required: ['roomId'],
	properties: { roomId: { type: 'string', pattern: ROOM_ID_PATTERN } },
} as const;

export const workerIdParamsSchema = {
	type: 'object',
	required: ['workerId'],
	// A string pattern, not an integer: request validation never coerces types.
	properties: { workerId: { type: 'string', pattern: '^[0-9]{1,4}$' } },
} as const;

export const createRoomBodySchema = {
	type: 'object',
	required: ['roomId'],
	additionalProperties: false,
	properties: { roomId: { type: 'string', pattern: ROOM_ID_PATTERN } },
} as const;

const layersSchema = {
	type: ['object', 'null'],
	properties: { spatialLayer: { type: 'integer' }, temporalLayer: { type: ['integer', 'null'] } },
} as const;

/** ConsumerLayerState (src/protocol/layers.ts). */
const consumerLayersSchema = {
	type: 'object',
	properties: {
		consumerId: { type: 'string' },
		producerId: { type: 'string' },
		kind: { type: 'string', enum: ['audio', 'video'] },
		type: { type: 'string', description: "mediasoup's consumer type; 'simulcast' and 'svc' have layers" },
		paused: { type: 'boolean', description: 'paused by its subscriber (pauseConsumer, or not yet resumed)' },
		producerPaused: { type: 'boolean' },
		currentLayers: { ...layersSchema, description: 'the layers forwarded now; null when none' },
		preferredLayers: { ...layersSchema, description: 'the highest layers the subscriber asked for' },
		priority: { type: 'integer' },
		score: { type: 'integer' },
	},
} as const;

export const roomSchema = {
	type: 'object',
	required: ['roomId', 'workerId', 'peerCount', 'workers'],
	properties: {
		roomId: { type: 'string' },
		workerId: { type: 'integer', description: "the room's home worker (its oldest router)" },
		peerCount: { type: 'integer' },
		workers: {
			type: 'array',
			description: 'every worker with a router of the room, oldest first, and the peers placed on it',
			items: {
				type: 'object',
				required: ['workerId', 'peerCount'],
				properties: { workerId: { type: 'integer' }, peerCount: { type: 'integer' } },
			},
		},
		peers: {
			type: 'array',
			items: {
				type: 'object',
				properties: {
					peerId: { type: 'string' },
					displayName: { type: 'string' },
					consumers: { type: 'array', description: "the peer's consumers and the layers they forward", items: consumerLayersSchema },
				},
			},
		},
		createdAt: { type: 'string' },
	},
} as const;

export const statsSchema = {
	type: 'object',
	required: ['workers', 'distribution', 'totalRooms'],
	properties: {
		workers: { type: 'array', items: workerStatsSchema },
		distribution: {
			type: 'object',
			description: 'room ids per workerId; a room with routers on several workers is listed under each (totalRooms counts it once)',
			additionalProperties: { type: 'array', items: { type: 'string' } },
		},
		totalRooms: { type: 'integer', description: 'distinct rooms' },
		totalPeers: { type: 'integer' },
		uptimeMs: { type: 'integer' },
		version: { type: 'string' },
		mediasoupVersion: { type: 'string' },
		draining: { type: 'boolean' },
		nodeId: { type: 'string', description: 'cluster nodes only: this node (GET /cluster lists them all)' },
	},
} as const;
