import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';

import type { Tureen } from '../server.ts';
import { SignallingConnection } from './connection.ts';

// Frames above this are refused by the ws library itself (close 1009); below
// it but above WS_MAX_MESSAGE_BYTES they get a typed error and the socket lives.
const HARD_FRAME_LIMIT_FACTOR = 4;

export async function registerSignalling(app: FastifyInstance, tureen: Tureen): Promise<void> {
	await app.register(websocket, {
		options: { maxPayload: tureen.config.wsMaxMessageBytes * HARD_FRAME_LIMIT_FACTOR },
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
		wsHandler: (socket) => {
			if (tureen.draining) {
				socket.close(1013, 'server draining');
				return;
			}
			const connection = new SignallingConnection(tureen, socket);
			tureen.connections.add(connection);
			socket.once('close', () => tureen.connections.delete(connection));
		},
	});
}
