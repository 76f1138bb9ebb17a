import { createHash, timingSafeEqual } from 'node:crypto';

import type { FastifyReply, FastifyRequest } from 'fastify';

import { errorReply } from '../errors.ts';
import { isCrossOriginBrowserRequest } from '../http/crossOrigin.ts';

/** Hashing first makes the comparison constant-time whatever the lengths. */
function digest(value: string): Buffer {
	return createHash('sha256').update(value).digest();
}

export function tokenMatches(given: string, expected: string): boolean {
	return timingSafeEqual(digest(given), digest(expected));
}

/** A Fastify onRequest hook: Bearer ADMIN_TOKEN or 401/403 JSON. */
export function adminGuard(expected: string) {
	return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
		const header = request.headers.authorization;
		const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
		if (token === undefined) {
			return reply.code(401).header('www-authenticate', 'Bearer').send(errorReply('UNAUTHORIZED', 'send Authorization: Bearer <ADMIN_TOKEN>'));
		}
		if (!tokenMatches(token, expected)) {
			return reply.code(403).send(errorReply('FORBIDDEN', 'wrong admin token'));
		}
	};
}

/**
 * Without ADMIN_TOKEN anyone who can reach the server may use the operator
 * endpoints, but a web page on another site must not do it through a
 * visitor's browser (e.g. a hidden form posting to /workers/0/drain).
 */
export async function openModeGuard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
	if (isCrossOriginBrowserRequest(request.headers)) {
		return reply
			.code(403)
			.send(errorReply('FORBIDDEN', 'operator endpoints refuse cross-origin browser requests; set ADMIN_TOKEN to use them from elsewhere'));
	}
}
