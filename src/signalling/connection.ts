import type { RawData, WebSocket } from 'ws';

import type { FloodLimits, Limits } from '../config.ts';
import { asTureenError, errorReply, TureenError } from '../errors.ts';
import type { FloodBudgets } from '../limits/floodBudgets.ts';
import type { SignallingMethodLabel, SignallingOutcome } from '../metrics/signalling.ts';
import {
	describeZodError,
	isMethod,
	parseRequestData,
	requestEnvelopeSchema,
	requestErrorCode,
	type Method,
	type NotificationMessage,
	type NotificationName,
	type ServerMessage,
} from '../protocol/messages.ts';
import { Participant } from '../services/participants/participant.ts';
import type { SessionEndReason } from '../services/participants/participantLink.ts';
import { handlers } from './handlers.ts';
import type { HandlerDeps } from './handlerTypes.ts';
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
	/** Server draining (no new sockets) or shutting down. */
	draining: 1013,
	shutdown: 1001,
	/** Cluster: another node owns the room now; the client reconnects and is sent there. */
	relocated: 4012,
} as const;

/** Where the connection reports each answered frame: its method ("unknown" when none was read) and outcome. */
export interface SignallingMetrics {
	recordSignallingRequest(method: SignallingMethodLabel, outcome: SignallingOutcome): void;
}

/** Warnings caused by clients: no stack, throttled per key. */
export interface ClientLog {
	warn(key: string, fields: object, message: string): void;
}

/** What a connection needs: the handlers' dependencies plus its own limits, metrics and logs. */
export type ConnectionDeps = {
	handlers: HandlerDeps;
	wsMaxMessageBytes: number;
	limits: Pick<Limits, 'wsMaxBufferedBytes' | 'slowReaderTimeoutMs' | 'joinTimeoutMs' | 'dataMessagesPerSecond' | 'dataBytesPerSecond' | 'dataMessageBytes'>;
	metrics: SignallingMetrics;
	logger: { error(fields: object, message: string): void };
	clientLog: ClientLog;
	/** The announcement window, and the budgets shared by all sockets of an address (unset: none). */
	flood?: Pick<FloodLimits, 'peerAnnounceWindowMs'>;
	budgets?: Pick<FloodBudgets, 'requests' | 'joins'>;
};

type Parsed =
	| { ok: true; id: number; method: Method; data: unknown }
	| { ok: false; id: number | null; method?: Method; error: TureenError };

/**
 * One WebSocket: parses and validates each request, runs them one at a time
 * in arrival order (so e.g. `leave` never overtakes a `produce`), and answers
 * every request with either its result or a typed error. Once the socket has
 * closed, queued requests never run and the peer can enter no room.
 */
export class SignallingConnection {
	readonly #deps: ConnectionDeps;
	readonly #socket: WebSocket;
	readonly #ip: string;
	readonly peer: Participant;
	readonly #requests = new TokenBucket(REQUESTS_BURST, REQUESTS_PER_SECOND);
	readonly #joins = new TokenBucket(JOINS_BURST, JOINS_PER_SECOND);
	#queue: Promise<void> = Promise.resolve();
	#closed = false;
	#refusedInARow = 0;
	#joinTimer: NodeJS.Timeout | undefined;
	#slowTimer: NodeJS.Timeout | undefined;
	/** Notifications not sent because the client was not reading. */
	#droppedNotifications = 0;
	/** While a join runs, notifications wait here: the client hears of the room only after the join answer. */
	#heldForJoin: NotificationMessage[] | undefined;

	constructor(deps: ConnectionDeps, socket: WebSocket, ip: string) {
		this.#deps = deps;
		this.#socket = socket;
		this.#ip = ip;
		const { dataMessagesPerSecond, dataBytesPerSecond, dataMessageBytes } = deps.limits;
		this.peer = new Participant(
			{
				notify: (message) => this.#deliver(message),
				end: (reason) => this.#endSession(reason),
			},
			{ messagesPerSecond: dataMessagesPerSecond, bytesPerSecond: dataBytesPerSecond, maxMessageBytes: dataMessageBytes },
			{ announceWindowMs: deps.flood?.peerAnnounceWindowMs ?? 0 },
		);
		socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
		socket.on('close', () => this.#onClose());
		this.#armJoinTimer();
	}

	get closed(): boolean {
		return this.#closed;
	}

	get droppedNotifications(): number {
		return this.#droppedNotifications;
	}

	/** Settles once every request received so far has finished (or been skipped). */
	whenIdle(): Promise<void> {
		return this.#queue;
	}

	/** Sends a notification to this socket's peer (the same path room events take). */
	notify(message: NotificationMessage): void {
		this.peer.notify(message);
	}

	#deliver(message: NotificationMessage): void {
		if (this.#heldForJoin) this.#heldForJoin.push(message);
		else this.#send(message, ESSENTIAL_NOTIFICATIONS.has(message.notification));
	}

	#send(message: ServerMessage, essential: boolean): void {
		const socket = this.#socket;
		if (this.#closed || socket.readyState !== socket.OPEN) return;
		const { wsMaxBufferedBytes } = this.#deps.limits;
		const buffered = socket.bufferedAmount;
		if (buffered > wsMaxBufferedBytes) {
			if (buffered > HARD_BUFFER_FACTOR * wsMaxBufferedBytes) return this.#cutSlowReader(buffered);
			this.#watchSlowReader();
			if (!essential) {
				this.#droppedNotifications += 1;
				return;
			}
		}
		socket.send(JSON.stringify(message));
	}

	/** Over the buffer bound: give the client SLOW_READER_TIMEOUT_MS to catch up, then cut it. */
	#watchSlowReader(): void {
		if (this.#slowTimer) return;
		const { wsMaxBufferedBytes, slowReaderTimeoutMs } = this.#deps.limits;
		this.#slowTimer = setTimeout(() => {
			this.#slowTimer = undefined;
			const buffered = this.#socket.bufferedAmount;
			if (buffered > wsMaxBufferedBytes) this.#cutSlowReader(buffered);
		}, slowReaderTimeoutMs);
		this.#slowTimer.unref();
	}

	#cutSlowReader(buffered: number): void {
		this.#deps.clientLog.warn('slow-reader', { ip: this.#ip, peerId: this.peer.peerId, bufferedBytes: buffered }, 'closing a socket that does not read its messages');
		// terminate(), not close(): a close frame would queue behind the backlog; this frees it now.
		this.#socket.terminate();
	}

	#onMessage(raw: RawData, isBinary: boolean): void {
		if (this.#closed) return;
		// Counted before anything else: malformed frames cost the sender as much as good ones.
		if (!this.#requests.tryTake()) return this.#refuseOverBudget(raw, isBinary);
		// And the address's budget, shared by all its sockets.
		if (this.#deps.budgets && !this.#deps.budgets.requests.tryTake(this.#ip)) return this.#refuseOverBudget(raw, isBinary);
		this.#refusedInARow = 0;
		const parsed = this.#parse(raw, isBinary);
		if (!parsed.ok) return this.#reply(parsed.id, parsed.error, parsed.method);
		const { id, method, data } = parsed;
		// Joins also per address, across its sockets.
		if (method === 'join' && (!this.#joins.tryTake() || (this.#deps.budgets && !this.#deps.budgets.joins.tryTake(this.#ip)))) {
			return this.#reply(id, new TureenError('RATE_LIMITED', 'too many joins; slow down'), method);
		}
		this.#queue = this.#queue.then(() => this.#run(id, method, data));
	}

	/**
	 * RATE_LIMITED, with the request's id when it has one. A client that keeps
	 * sending long after being told is not listening: its socket closes.
	 */
	#refuseOverBudget(raw: RawData, isBinary: boolean): void {
		this.#refusedInARow += 1;
		if (this.#refusedInARow > REFUSED_IN_A_ROW_BEFORE_CLOSE) {
			this.#deps.clientLog.warn('rate-limit-ignored', { ip: this.#ip }, 'closing a socket that ignores RATE_LIMITED');
			this.#socket.close(CLOSE_CODES.rateLimitIgnored, 'rate limit ignored');
			return;
		}
		const { id, method } = this.#parse(raw, isBinary);
		this.#reply(id, new TureenError('RATE_LIMITED', 'too many messages; slow down'), method);
	}

	#parse(raw: RawData, isBinary: boolean): Parsed {
		const refuse = (error: TureenError, id: number | null = null): Parsed => ({ ok: false, id, error });
		if (isBinary) return refuse(new TureenError('BAD_REQUEST', 'binary frames are not accepted; send JSON text'));
		const size = Array.isArray(raw) ? raw.reduce((n, b) => n + b.length, 0) : (raw as Buffer | ArrayBuffer).byteLength;
		const limit = this.#deps.wsMaxMessageBytes;
		if (size > limit) return refuse(new TureenError('MESSAGE_TOO_LARGE', `messages are limited to ${limit} bytes`));
		let json: unknown;
		try {
			json = JSON.parse(raw.toString());
		} catch {
			return refuse(new TureenError('INVALID_JSON', 'the message is not valid JSON'));
		}
		const envelope = requestEnvelopeSchema.safeParse(json);
		if (!envelope.success) {
			return refuse(new TureenError('BAD_REQUEST', `bad request envelope: ${describeZodError(envelope.error)}`));
		}
		const { id, method } = envelope.data;
		if (!isMethod(method)) return refuse(new TureenError('UNKNOWN_METHOD', `unknown method "${method}"`), id);
		return { ok: true, id, method, data: envelope.data.data ?? {} };
	}

	async #run<M extends Method>(id: number, method: M, rawData: unknown): Promise<void> {
		// Queued before the socket closed: nobody is left to answer, and running it would make a ghost.
		if (this.#closed) return;
		if (method === 'join') this.#heldForJoin = [];
		try {
			const parsed = parseRequestData(method, rawData);
			if (!parsed.success) {
				throw new TureenError(requestErrorCode(rawData, parsed.error), `${method}: ${describeZodError(parsed.error)}`);
			}
			const data = await handlers[method]({ deps: this.#deps.handlers, peer: this.peer, ip: this.#ip }, parsed.data);
			this.#deps.metrics.recordSignallingRequest(method, 'ok');
			this.#send({ id, ok: true, data }, true);
		} catch (error) {
			this.#reply(id, error, method);
		} finally {
			this.#releaseHeld();
			this.#armJoinTimer();
		}
	}

	/** The join was answered: what the room said meanwhile (the current speaker, say) follows, in order. */
	#releaseHeld(): void {
		const held = this.#heldForJoin;
		this.#heldForJoin = undefined;
		for (const message of held ?? []) this.#deliver(message);
	}

	/** Every error reply, also for frames refused before dispatch, is counted ("unknown" when no method was read). */
	#reply(id: number | null, thrown: unknown, method: Method | undefined): void {
		this.#deps.metrics.recordSignallingRequest(method ?? 'unknown', 'error');
		const error = asTureenError(thrown);
		if (error.code === 'INTERNAL') {
			// A real fault of ours: the stack trace is what the operator needs.
			this.#deps.logger.error({ err: thrown, method, peerId: this.peer.peerId }, 'signalling request failed');
		} else if (error.code !== 'WRONG_NODE') {
			// (A redirect to the room's node is routing, not a client's mistake.)
			const limit = error.details && 'limit' in error.details ? error.details.limit : undefined;
			this.#deps.clientLog.warn(
				`signalling:${error.code}:${limit ?? ''}`,
				{ code: error.code, ...(limit ? { limit } : {}), method, ip: this.#ip, reason: error.message },
				'signalling request refused',
			);
		}
		this.#send({ id, ok: false, ...errorReply(error.code, error.message, error.details) }, true);
		if (FATAL_CODES.has(error.code)) this.#socket.close(CLOSE_CODES.unauthorized, error.code);
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
			this.#deps.clientLog.warn('join-timeout', { ip: this.#ip }, 'closing a socket that joined no room in time');
			this.#socket.close(CLOSE_CODES.joinTimeout, 'join timeout');
		}, this.#deps.limits.joinTimeoutMs);
		this.#joinTimer.unref();
	}

	#endSession(reason: SessionEndReason): void {
		this.#socket.close(reason === 'replaced' ? CLOSE_CODES.sessionReplaced : CLOSE_CODES.tokenExpired, `session ended: ${reason}`);
	}

	#onClose(): void {
		this.#closed = true;
		clearTimeout(this.#joinTimer);
		clearTimeout(this.#slowTimer);
		// Closing the socket counts as leave; the room hears it and, if it empties, says so itself.
		this.peer.end();
	}

	close(code: number, reason: string): void {
		this.#socket.close(code, reason);
	}
}
