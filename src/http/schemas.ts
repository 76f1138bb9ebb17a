// JSON schemas of the HTTP API: Fastify validates requests and serialises
// responses with them, and /openapi.json is generated from them. Response
// shapes are defined once, as zod in src/protocol/ (stats.ts, cluster.ts), and
// their JSON schema is derived here; the request schemas below exist only here.
import { z } from 'zod';

import { ROOM_ID_PATTERN } from '../protocol/ids.ts';
import { errorBodySchema } from '../protocol/messages.ts';

/**
 * The JSON schema of a zod shape, in the OpenAPI 3.0 dialect @fastify/swagger
 * publishes (`nullable: true`). Left out: zod's safe-integer bounds on every
 * integer (noise to a reader) and `additionalProperties: false` (a response
 * may gain fields; clients should not be told it never will).
 */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
	return z.toJSONSchema(schema, {
		target: 'openapi-3.0',
		override: ({ jsonSchema: out }) => {
			if (out.minimum === Number.MIN_SAFE_INTEGER) delete out.minimum;
			if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
			if (out.additionalProperties === false) delete out.additionalProperties;
		},
	}) as Record<string, unknown>;
}

/** Every HTTP error body: `{ error: { code, message, details? } }`. */
export const errorSchema = jsonSchema(z.object({ error: errorBodySchema }));

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

