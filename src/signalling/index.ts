import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';

import { errorReply, limitReached, TureenError } from '../errors.ts';
import type { LimitDetails, NotificationMessage, ServerMessage } from '../protocol/messages.ts';
import { CLOSE_CODES, SignallingConnection, type ConnectionDeps } from './connection.ts';

export { CLOSE_CODES } from './connection.ts';

// Frames above this are refused by the ws library itself (close 1009); below
// it but above WS_MAX_MESSAGE_BYTES they get a typed error and the socket lives.
const HARD_FRAME_LIMIT_FACTOR = 4;

/** Open sockets per address and in total: admit() names the cap a new one would break. */
export interface ConnectionAdmission {
	admit(ip: string): LimitDetails | undefined;
	release(ip: string): void;
}

/** What /ws needs from the server, and nothing more. */
export type SignallingDeps = ConnectionDeps & {
	/** Origins allowed to open /ws; undefined = any. */
	allowedOrigins: readonly string[] | undefined;
	/** True while the server drains: new sockets are refused. */
	isDraining(): boolean;
	connections: ConnectionAdmission;
};

/** The open signalling connections, as the rest of the server may use them. */
export interface SignallingHub {
	/** Sends a notification to every open connection. */
	notifyAll(message: NotificationMessage): void;
	/** Closes every open connection with this close code and reason. */
	closeAll(code: number, reason: string): void;
	/** Closes the connections of the peers in this room. */
	closeRoom(roomId: string, code: number, reason: string): void;
	/** Open connections. */
	readonly count: number;
	/** Each open connection, for tests that inspect peers. */
	connectionsForTesting(): readonly SignallingConnection[];
	/** What each connection is given, for tests that drive one on a fake socket. */
	readonly depsForTesting: ConnectionDeps;
}

/** Says why, in the protocol's shape, then closes: for sockets refused before they start. */
function refuse(socket: WebSocket, error: TureenError, code: number): void {
	const message: ServerMessage = { id: null, ok: false, ...errorReply(error.code, error.message, error.details) };
	socket.send(JSON.stringify(message));
	socket.close(code, error.code);
}

/** Why a browser page from `origin` may not open /ws, or undefined. No Origin (not a browser) passes. */
function originRefusal(allowed: readonly string[] | undefined, request: FastifyRequest): TureenError | undefined {
	const origin = request.headers.origin?.toLowerCase();
	if (!allowed || origin === undefined || allowed.includes(origin)) return undefined;
	return new TureenError('FORBIDDEN', `origin ${origin} may not open /ws (ALLOWED_ORIGINS)`);
}

/** Registers /ws; returns the hub through which the server reaches the open connections. */
export async function registerSignalling(app: FastifyInstance, deps: SignallingDeps): Promise<SignallingHub> {
	const open = new Set<SignallingConnection>();
	await app.register(websocket, {
		options: { maxPayload: deps.wsMaxMessageBytes * HARD_FRAME_LIMIT_FACTOR },
		// ws reports protocol violations by the client (oversize frame, invalid
		// UTF-8, bad opcode) as errors with a WS_ERR_ code: the client's
		// mistake, logged without a stack and at most once a minute.
		errorHandler: (error, socket, request) => {
			const code = (error as { code?: unknown }).code;
			if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
				deps.clientLog.warn(`ws:${code}`, { code, ip: request.ip, reason: error.message }, 'websocket protocol error from a client');
			} else {
				deps.logger.error({ err: error, ip: request.ip }, 'websocket error');
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
				.send(errorReply('BAD_REQUEST', '/ws is the signalling WebSocket: connect with a WebSocket client')),
		wsHandler: (socket, request) => {
			if (deps.isDraining()) {
				socket.close(CLOSE_CODES.draining, 'server draining');
				return;
			}
			const forbidden = originRefusal(deps.allowedOrigins, request);
			if (forbidden) {
				deps.clientLog.warn('ws:origin', { ip: request.ip, origin: request.headers.origin }, 'refused /ws from a foreign origin');
				return refuse(socket, forbidden, CLOSE_CODES.forbidden);
			}
			const ip = request.ip;
			const over = deps.connections.admit(ip);
			if (over) {
				deps.clientLog.warn(`limit:${over.limit}`, { limit: over.limit, max: over.max, ip }, 'connection refused: limit reached');
				return refuse(socket, limitReached(over.limit, over.max, 'too many open connections'), CLOSE_CODES.limitReached);
			}
			const connection = new SignallingConnection(deps, socket, ip);
			open.add(connection);
			socket.once('close', () => {
				open.delete(connection);
				deps.connections.release(ip);
			});
		},
	});
	return {
		notifyAll(message) {
			for (const connection of open) connection.notify(message);
		},
		closeAll(code, reason) {
			for (const connection of open) connection.close(code, reason);
		},
		closeRoom(roomId, code, reason) {
			for (const connection of open) if (connection.peer.room?.roomId === roomId) connection.close(code, reason);
		},
		get count() {
			return open.size;
		},
		connectionsForTesting: () => [...open],
		depsForTesting: deps,
	};
}
