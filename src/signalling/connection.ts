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
import { Peer } from './peer.ts';
import { TokenBucket } from './rateLimit.ts';

// Requests and joins each get their own budget: a client that loops on join
// is cut off long before one that is merely busy producing and consuming.
const REQUESTS_BURST = 100;
const REQUESTS_PER_SECOND = 50;
const JOINS_BURST = 5;
const JOINS_PER_SECOND = 0.5;

/** Errors that end the conversation: the reply is sent, then the socket closes. */
const FATAL_CODES = new Set(['UNAUTHORIZED', 'FORBIDDEN']);

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
 * every request with either its result or a typed error.
 */
export class SignallingConnection {
	readonly #tureen: Tureen;
	readonly #socket: WebSocket;
	readonly peer: Peer;
	readonly #requests = new TokenBucket(REQUESTS_BURST, REQUESTS_PER_SECOND);
	readonly #joins = new TokenBucket(JOINS_BURST, JOINS_PER_SECOND);
	#queue: Promise<void> = Promise.resolve();

	constructor(tureen: Tureen, socket: WebSocket) {
		this.#tureen = tureen;
		this.#socket = socket;
		this.peer = new Peer((name, data) => this.#notify(name, data));
		socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
		socket.on('close', () => this.#onClose());
		socket.on('error', () => undefined);
	}

	#send(message: ServerMessage): void {
		if (this.#socket.readyState === this.#socket.OPEN) this.#socket.send(JSON.stringify(message));
	}

	#notify(name: NotificationName, data: unknown): void {
		this.#send({ notification: name, data } as ServerMessage);
	}

	#onMessage(raw: RawData, isBinary: boolean): void {
		let id: number | null = null;
		let method: Method | undefined;
		try {
			const request = this.#parse(raw, isBinary);
			id = request.id;
			method = request.method;
			if (!this.#requests.tryTake() || (request.method === 'join' && !this.#joins.tryTake())) {
				throw new RequestError({ code: 'RATE_LIMITED', message: 'too many requests; slow down' });
			}
			this.#queue = this.#queue.then(() => this.#run(request.id, request.method, request.data));
		} catch (error) {
			this.#reply(id, error, method);
		}
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
		try {
			const parsed = requestSchemas[method].safeParse(rawData);
			if (!parsed.success) {
				throw new RequestError({ code: 'BAD_REQUEST', message: `${method}: ${describeZodError(parsed.error)}` });
			}
			const handler = handlers[method] as (ctx: unknown, data: unknown) => Promise<unknown>;
			const data = await handler({ tureen: this.#tureen, peer: this.peer }, parsed.data);
			this.#send({ id, ok: true, data });
			this.#tureen.metrics.recordSignallingRequest(method, 'ok');
		} catch (error) {
			this.#reply(id, error, method);
		}
	}

	/** Every error reply, also those refused before dispatch (bad JSON, unknown method, rate limited, oversize), is counted. */
	#reply(id: number | null, error: unknown, method: Method | undefined): void {
		this.#tureen.metrics.recordSignallingRequest(method ?? 'unknown', 'error');
		const requestId = id ?? (error as { id?: number }).id ?? null;
		const body = toErrorBody(error);
		if (body.code === 'INTERNAL') {
			this.#tureen.logger.error({ err: error, method, peerId: this.peer.peerId }, 'signalling request failed');
		}
		this.#send({ id: requestId, ok: false, error: body });
		if (FATAL_CODES.has(body.code)) this.#socket.close(4401, body.code);
	}

	#onClose(): void {
		const room = this.peer.leave();
		if (room) this.#tureen.rooms.noteMembership(room);
	}

	close(code: number, reason: string): void {
		this.#socket.close(code, reason);
	}
}
