import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';

import { asTureenError, errorReply, isTureenError } from '../errors.ts';

/** A Fastify instance whose every error reply is `{ error: { code, message } }`. */
export async function createHttpApp(logger: Logger): Promise<FastifyInstance> {
	const app = Fastify({
		loggerInstance: logger,
		// Per-request lines would drown the room and worker events operators need.
		logController: new LogController({ disableRequestLogging: true }),
		bodyLimit: 64 * 1024,
		// Errors Fastify answers before routing (bad URL encoding, too-long
		// params) get the same { error: { code, message } } shape as ours.
		frameworkErrors: (error, _request, reply) => {
			const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
			void (reply as unknown as FastifyReply).code(status).send(errorReply('BAD_REQUEST', error.message));
		},
		// Requests Node's HTTP parser rejects never reach Fastify: answer in JSON too.
		clientErrorHandler: (error, socket) => {
			if (!socket.writable) return;
			const body = JSON.stringify(errorReply('BAD_REQUEST', `malformed HTTP request (${error.code ?? 'parse error'})`));
			socket.end(
				`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
			);
		},
		// No type coercion: { "roomId": 5 } is a bad request, not room "5".
		ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
	}) as unknown as FastifyInstance;

	// Bodies are JSON only: a text/plain body is what a cross-site HTML form
	// can send without a CORS preflight, so it is refused (415) everywhere.
	app.removeContentTypeParser('text/plain');

	await app.register(swagger, {
		openapi: {
			info: {
				title: 'Tureen',
				description: 'Multi-worker mediasoup media server: rooms, workers and stats.',
				version: '0.1.0',
			},
			components: {
				securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN, when set' } },
			},
		},
	});

	app.setErrorHandler((error: FastifyError, request, reply) => {
		if (error.validation) {
			const aboutRoomId = error.validation.some((v) => v.instancePath.endsWith('roomId'));
			return reply.code(400).send(errorReply(aboutRoomId ? 'INVALID_ROOM_ID' : 'BAD_REQUEST', error.message));
		}
		const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : undefined;
		if (status !== undefined && !isTureenError(error)) {
			// Fastify's own refusals (body too large, wrong content type, bad JSON body).
			const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST';
			const message = status === 415 ? `${error.message}; send Content-Type: application/json` : error.message;
			return reply.code(status).send(errorReply(code, message));
		}
		// No client-supplied media parameters reach mediasoup over HTTP: a TypeError here is ours.
		const typed = asTureenError(error instanceof TypeError ? new Error(error.message) : error);
		if (typed.code === 'INTERNAL') request.log.error({ err: error }, 'request failed');
		return reply.code(typed.httpStatus).send(errorReply(typed.code, typed.message, typed.details));
	});

	app.setNotFoundHandler((request, reply) => {
		reply.code(404).send(errorReply('NOT_FOUND', `no route ${request.method} ${request.url}`));
	});

	return app;
}

/** Serves the generated OpenAPI document; call after every route is registered. */
export function registerOpenApiRoutes(app: FastifyInstance): void {
	app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
	app.get('/docs', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/openapi.json'));
}
