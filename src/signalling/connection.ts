import type { RawData, WebSocket } from 'ws';

import { isTureenError } from '../errors.ts';
import {
	describeZodError,
	isMethod,
	requestEnvelopeSchema,
	requestSchemas,
	type ErrorBody,
	type Method,
	type NotificationName,
	type ServerMessage,
} from '../protocol/messages.ts';
import type { Tureen } from '../server.ts';
import { handlers } from './handlers.ts';
import { Peer, type SessionEndReason } from './peer.ts';
import { TokenBucket } from './rateLimit.ts';

// Every frame (valid or not) and joins each get their own budget: a client
// that loops on join is cut off long before one that is merely busy
// producing and consuming.
const REQUESTS_BURST = 100;
const REQUESTS_PER_SECOND = 50;
const JOINS_BURST = 5;
const JOINS_PER_SECOND = 0.5;

/** Errors that end the conversation: the reply is sent, then the socket closes. */
const FATAL_CODES = new Set(['UNAUTHORIZED', 'FORBIDDEN']);

/** Frames refused in a row (no budget left) after which the socket is closed. */
const REFUSED_IN_A_ROW_BEFORE_CLOSE = 10 * REQUESTS_BURST;

/** Notifications a lagging client still gets: they change what it must do next. */
const ESSENTIAL_NOTIFICATIONS: ReadonlySet<NotificationName> = new Set(['roomMoved', 'roomClosed', 'serverDraining', 'sessionEnded']);
/** Past this multiple of WS_MAX_BUFFERED_BYTES a socket is cut at once, not after the grace time. */
const HARD_BUFFER_FACTOR = 4;

/** Close codes of the server's own decisions (4000-4999 are the application's). */
export const CLOSE_CODES = {
	unauthorized: 4401,
	forbidden: 4403,
	joinTimeout: 4408,
	sessionReplaced: 4409,
	tokenExpired: 4401,
	limitReached: 1013,
	rateLimitIgnored: 1008,
} as const;

class RequestError extends Error {
	constructor(readonly body: ErrorBody) {
		super(body.message);
	}
}

function toErrorBody(error: unknown): ErrorBody {
	if (error instanceof RequestError) return error.body;
	if (isTureenError(error)) return error.toJSON();
	const name = error instanceof Error ? error.name : '';
	if (name === 'WorkerClosedError' || (name === 'InvalidStateError' && /closed/i.test((error as Error).message))) {
		// The room's worker died mid-request; the room is moving and the client will be told.
		return { code: 'NO_WORKER_AVAILABLE', message: 'the room is moving to another worker; retry after roomMoved' };
	}
	if (['TypeError', 'UnsupportedError', 'InvalidStateError', 'NotFoundError'].includes(name)) {
		// mediasoup's own validation of RTP/DTLS parameters and object state.
		return { code: 'MEDIA_ERROR', message: (error as Error).message };
	}
	return { code: 'INTERNAL', message: 'internal error' };
}

/**
 * One WebSocket: parses and validates each request, runs them one at a time
 * in arrival order (so e.g. `leave` never overtakes a `produce`), and answers
 * every request with either its result or a typed error. Once the socket has
 * closed, queued requests never run and the peer can enter no room.
 */
export class SignallingConnection {
	readonly #tureen: Tureen;
	readonly #socket: WebSocket;
	readonly #ip: string;
	readonly peer: Peer;
	readonly #requests = new TokenBucket(REQUESTS_BURST, REQUESTS_PER_SECOND);
	readonly #joins = new TokenBucket(JOINS_BURST, JOINS_PER_SECOND);
	#queue: Promise<void> = Promise.resolve();
	#closed = false;
	#refusedInARow = 0;
	#joinTimer: NodeJS.Timeout | undefined;
	#slowTimer: NodeJS.Timeout | undefined;
	/** Notifications not sent because the client was not reading. */
	droppedNotifications = 0;

	constructor(tureen: Tureen, socket: WebSocket, ip: string) {
		this.#tureen = tureen;
		this.#socket = socket;
		this.#ip = ip;
		this.peer = new Peer({
			notify: (name, data) => this.#notify(name, data),
			end: (reason) => this.#endSession(reason),
		});
		socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
		socket.on('close', () => this.#onClose());
		this.#armJoinTimer();
	}

	get closed(): boolean {
		return this.#closed;
	}

	/** Settles once every request received so far has finished (or been skipped). */
	whenIdle(): Promise<void> {
		return this.#queue;
	}

	#send(message: ServerMessage, essential: boolean): void {
		const socket = this.#socket;
		if (this.#closed || socket.readyState !== socket.OPEN) return;
		const { wsMaxBufferedBytes } = this.#tureen.config.limits;
		const buffered = socket.bufferedAmount;
		if (buffered > wsMaxBufferedBytes) {
			if (buffered > HARD_BUFFER_FACTOR * wsMaxBufferedBytes) return this.#cutSlowReader(buffered);
			this.#watchSlowReader();
			if (!essential) {
				this.droppedNotifications += 1;
				return;
			}
		}
		socket.send(JSON.stringify(message));
	}

	#notify(name: NotificationName, data: unknown): void {
		this.#send({ notification: name, data } as ServerMessage, ESSENTIAL_NOTIFICATIONS.has(name));
	}

	/** Over the buffer bound: give the client SLOW_READER_TIMEOUT_MS to catch up, then cut it. */
	#watchSlowReader(): void {
		if (this.#slowTimer) return;
		this.#slowTimer = setTimeout(() => {
			this.#slowTimer = undefined;
			const buffered = this.#socket.bufferedAmount;
			if (buffered > this.#tureen.config.limits.wsMaxBufferedBytes) this.#cutSlowReader(buffered);
		}, this.#tureen.config.limits.slowReaderTimeoutMs);
		this.#slowTimer.unref();
	}

	#cutSlowReader(buffered: number): void {
		this.#tureen.clientLog.warn('slow-reader', { ip: this.#ip, peerId: this.peer.peerId, bufferedBytes: buffered }, 'closing a socket that does not read its messages');
		// terminate(), not close(): a close frame would queue behind the backlog; this frees it now.
		this.#socket.terminate();
	}

	#onMessage(raw: RawData, isBinary: boolean): void {
		if (this.#closed) return;
		// Counted before anything else: malformed frames cost the sender as much as good ones.
		if (!this.#requests.tryTake()) return this.#refuseOverBudget(raw, isBinary);
		this.#refusedInARow = 0;
		let id: number | null = null;
		let method: Method | undefined;
		try {
			const request = this.#parse(raw, isBinary);
			id = request.id;
			method = request.method;
			if (request.method === 'join' && !this.#joins.tryTake()) {
				throw new RequestError({ code: 'RATE_LIMITED', message: 'too many joins; slow down' });
			}
			this.#queue = this.#queue.then(() => this.#run(request.id, request.method, request.data));
		} catch (error) {
			this.#reply(id, error, method);
		}
	}

	/**
	 * RATE_LIMITED, with the request's id when it has one. A client that keeps
	 * sending long after being told is not listening: its socket closes.
	 */
	#refuseOverBudget(raw: RawData, isBinary: boolean): void {
		this.#refusedInARow += 1;
		if (this.#refusedInARow > REFUSED_IN_A_ROW_BEFORE_CLOSE) {
			this.#tureen.clientLog.warn('rate-limit-ignored', { ip: this.#ip }, 'closing a socket that ignores RATE_LIMITED');
			this.#socket.close(CLOSE_CODES.rateLimitIgnored, 'rate limit ignored');
			return;
		}
		let id: number | null;
		let method: Method | undefined;
		try {
			({ id, method } = this.#parse(raw, isBinary));
		} catch (error) {
			id = (error as { id?: number }).id ?? null;
		}
		this.#reply(id, new RequestError({ code: 'RATE_LIMITED', message: 'too many messages; slow down' }), method);
	}

	#parse(raw: RawData, isBinary: boolean): { id: number; method: Method; data: unknown } {
		if (isBinary) throw new RequestError({ code: 'BAD_REQUEST', message: 'binary frames are not accepted; send JSON text' });
		const size = Array.isArray(raw) ? raw.reduce((n, b) => n + b.length, 0) : (raw as Buffer | ArrayBuffer).byteLength;
		const limit = this.#tureen.config.wsMaxMessageBytes;
		if (size > limit) {
			throw new RequestError({ code: 'MESSAGE_TOO_LARGE', message: `messages are limited to ${limit} bytes` });
		}
		let json: unknown;
		try {
			json = JSON.parse(raw.toString());
		} catch {
			throw new RequestError({ code: 'INVALID_JSON', message: 'the message is not valid JSON' });
		}
		const envelope = requestEnvelopeSchema.safeParse(json);
		if (!envelope.success) {
			throw new RequestError({ code: 'BAD_REQUEST', message: `bad request envelope: ${describeZodError(envelope.error)}` });
		}
		const { id, method } = envelope.data;
		if (!isMethod(method)) {
			throw Object.assign(new RequestError({ code: 'UNKNOWN_METHOD', message: `unknown method "${method}"` }), { id });
		}
		return { id, method, data: envelope.data.data ?? {} };
	}

	async #run(id: number, method: Method, rawData: unknown): Promise<void> {
		// Queued before the socket closed: nobody is left to answer, and running it would make a ghost.
		if (this.#closed) return;
		try {
			const parsed = requestSchemas[method].safeParse(rawData);
			if (!parsed.success) {
				throw new RequestError({ code: 'BAD_REQUEST', message: `${method}: ${describeZodError(parsed.error)}` });
			}
			const handler = handlers[method] as (ctx: unknown, data: unknown) => Promise<unknown>;
			const data = await handler({ tureen: this.#tureen, peer: this.peer, ip: this.#ip }, parsed.data);
			this.#send({ id, ok: true, data }, true);
			this.#tureen.metrics.recordSignallingRequest(method, 'ok');
		} catch (error) {
			this.#reply(id, error, method);
		} finally {
			this.#armJoinTimer();
		}
	}

	/** Every error reply, also those refused before dispatch (bad JSON, unknown method, rate limited, oversize), is counted. */
	#reply(id: number | null, error: unknown, method: Method | undefined): void {
		this.#tureen.metrics.recordSignallingRequest(method ?? 'unknown', 'error');
		const requestId = id ?? (error as { id?: number }).id ?? null;
		const body = toErrorBody(error);
		if (body.code === 'INTERNAL') {
			// A real fault of ours: the stack trace is what the operator needs.
			this.#tureen.logger.error({ err: error, method, peerId: this.peer.peerId }, 'signalling request failed');
		} else {
			this.#tureen.clientLog.warn(
				`signalling:${body.code}:${body.details?.limit ?? ''}`,
				{ code: body.code, ...(body.details ? { limit: body.details.limit } : {}), method, ip: this.#ip, reason: body.message },
				'signalling request refused',
			);
		}
		this.#send({ id: requestId, ok: false, error: body }, true);
		if (FATAL_CODES.has(body.code)) this.#socket.close(CLOSE_CODES.unauthorized, body.code);
	}

	/** While the peer is in no room, a timer closes the socket after JOIN_TIMEOUT_MS. */
	#armJoinTimer(): void {
		if (this.peer.room || this.#closed) {
			clearTimeout(this.#joinTimer);
			this.#joinTimer = undefined;
			return;
		}
		if (this.#joinTimer) return;
		this.#joinTimer = setTimeout(() => {
			this.#joinTimer = undefined;
			if (this.peer.room || this.#closed) return;
			this.#tureen.clientLog.warn('join-timeout', { ip: this.#ip }, 'closing a socket that joined no room in time');
			this.#socket.close(CLOSE_CODES.joinTimeout, 'join timeout');
		}, this.#tureen.config.limits.joinTimeoutMs);
		this.#joinTimer.unref();
	}

	#endSession(reason: SessionEndReason): void {
		this.#socket.close(reason === 'replaced' ? CLOSE_CODES.sessionReplaced : CLOSE_CODES.tokenExpired, `session ended: ${reason}`);
	}

	#onClose(): void {
		this.#closed = true;
		clearTimeout(this.#joinTimer);
		clearTimeout(this.#slowTimer);
		const room = this.peer.end();
		if (room) this.#tureen.rooms.noteMembership(room);
	}

	close(code: number, reason: string): void {
		this.#socket.close(code, reason);
	}
}
