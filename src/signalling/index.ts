import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';

import { limitReached, TureenError } from '../errors.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import type { Tureen } from '../server.ts';
import { CLOSE_CODES, SignallingConnection } from './connection.ts';

// Frames above this are refused by the ws library itself (close 1009); below
// it but above WS_MAX_MESSAGE_BYTES they get a typed error and the socket lives.
const HARD_FRAME_LIMIT_FACTOR = 4;

/** Says why, in the protocol's shape, then closes: for sockets refused before they start. */
function refuse(socket: WebSocket, error: TureenError, code: number): void {
	const message: ServerMessage = { id: null, ok: false, error: error.toJSON() };
	socket.send(JSON.stringify(message));
	socket.close(code, error.code);
}

/** Why a browser page from `origin` may not open /ws, or undefined. No Origin (not a browser) passes. */
function originRefusal(tureen: Tureen, request: FastifyRequest): TureenError | undefined {
	const allowed = tureen.config.allowedOrigins;
	const origin = request.headers.origin?.toLowerCase();
	if (!allowed || origin === undefined || allowed.includes(origin)) return undefined;
	return new TureenError('FORBIDDEN', `origin ${origin} may not open /ws (ALLOWED_ORIGINS)`);
}

export async function registerSignalling(app: FastifyInstance, tureen: Tureen): Promise<void> {
	await app.register(websocket, {
		options: { maxPayload: tureen.config.wsMaxMessageBytes * HARD_FRAME_LIMIT_FACTOR },
		// ws reports protocol violations by the client (oversize frame, invalid
		// UTF-8, bad opcode) as errors with a WS_ERR_ code: the client's
		// mistake, logged without a stack and at most once a minute.
		errorHandler: (error, socket, request) => {
			const code = (error as { code?: unknown }).code;
			if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
				tureen.clientLog.warn(`ws:${code}`, { code, ip: request.ip, reason: error.message }, 'websocket protocol error from a client');
			} else {
				tureen.logger.error({ err: error, ip: request.ip }, 'websocket error');
			}
			socket.terminate();
		},
	});
	app.route({
		method: 'GET',
		url: '/ws',
		schema: { hide: true },
		// A plain HTTP request (no Upgrade): the API's error shape, not the plugin's empty 404.
		handler: async (_request, reply) =>
			reply
				.code(426)
				.header('upgrade', 'websocket')
				.send({ error: { code: 'BAD_REQUEST', message: '/ws is the signalling WebSocket: connect with a WebSocket client' } }),
		wsHandler: (socket, request) => {
			if (tureen.draining) {
				socket.close(1013, 'server draining');
				return;
			}
			const forbidden = originRefusal(tureen, request);
			if (forbidden) {
				tureen.clientLog.warn('ws:origin', { ip: request.ip, origin: request.headers.origin }, 'refused /ws from a foreign origin');
				return refuse(socket, forbidden, CLOSE_CODES.forbidden);
			}
			const ip = request.ip;
			const over = tureen.connectionCounter.admit(ip);
			if (over) {
				tureen.clientLog.warn(`limit:${over.limit}`, { limit: over.limit, max: over.max, ip }, 'connection refused: limit reached');
				return refuse(socket, limitReached(over.limit, over.max, 'too many open connections'), CLOSE_CODES.limitReached);
			}
			const connection = new SignallingConnection(tureen, socket, ip);
			tureen.connections.add(connection);
			socket.once('close', () => {
				tureen.connections.delete(connection);
				tureen.connectionCounter.release(ip);
			});
		},
	});
}
