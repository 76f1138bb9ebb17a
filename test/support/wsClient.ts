// A raw signalling client for tests, on the `ws` package: sends exactly what it
// is told (valid or not) and hands back what the server says, typed with the
// shared protocol. Every wait is bounded; a closed socket fails waits at once.
import WebSocket from 'ws';

import {
	ERROR_CODES,
	type Method,
	type NotificationMessage,
	type NotificationName,
	type RequestData,
	type ResponseMessage,
	type ServerMessage,
} from '../../src/protocol/messages.ts';

export const DEFAULT_TIMEOUT_MS = 5_000;

export type CloseInfo = { code: number; reason: string };
export type ErrorResponse = Extract<ResponseMessage, { ok: false }>;
export type OkResponse = Extract<ResponseMessage, { ok: true }>;

// A Record so the compiler insists on every notification of the protocol.
const NOTIFICATION_NAMES: Record<NotificationName, true> = {
	peerJoined: true,
	peerLeft: true,
	newProducer: true,
	producerClosed: true,
	producerPaused: true,
	producerResumed: true,
	consumerClosed: true,
	consumerPaused: true,
	consumerResumed: true,
	roomMoved: true,
	serverDraining: true,
	roomClosed: true,
	sessionEnded: true,
};

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasExactKeys(value: Record<string, unknown>, keys: string[]): boolean {
	const own = Object.keys(value);
	return own.length === keys.length && keys.every((k) => Object.hasOwn(value, k));
}

/**
 * Why `value` is not a well-formed server message (a response
 * `{ id, ok: true, data }` / `{ id, ok: false, error: { code, message } }`
 * with a protocol error code, or a notification `{ notification, data }`),
 * or undefined when it is one.
 */
export function describeInvalidServerMessage(value: unknown): string | undefined {
	if (!isRecord(value)) return 'not a JSON object';
	if ('notification' in value) {
		if (!hasExactKeys(value, ['notification', 'data'])) return 'notification with other keys than notification and data';
		if (typeof value.notification !== 'string' || !Object.hasOwn(NOTIFICATION_NAMES, value.notification)) return 'unknown notification';
		if (!isRecord(value.data)) return 'notification data is not an object';
		return undefined;
	}
	const id = value.id;
	const idOk = (id: unknown) => typeof id === 'number' && Number.isSafeInteger(id) && id >= 0;
	if (value.ok === true) {
		if (!hasExactKeys(value, ['id', 'ok', 'data'])) return 'success response with other keys than id, ok and data';
		if (!idOk(id)) return 'success response without a request id';
		return undefined;
	}
	if (value.ok === false) {
		if (!hasExactKeys(value, ['id', 'ok', 'error'])) return 'error response with other keys than id, ok and error';
		if (id !== null && !idOk(id)) return 'error response id is neither null nor a request id';
		const error = value.error;
		const withDetails = isRecord(error) && (error.code === 'LIMIT_REACHED' || error.code === 'WRONG_NODE');
		const errorKeys = withDetails ? ['code', 'message', 'details'] : ['code', 'message'];
		if (!isRecord(error) || !hasExactKeys(error, errorKeys)) return `error is not { ${errorKeys.join(', ')} }`;
		if (typeof error.code !== 'string' || !(ERROR_CODES as readonly string[]).includes(error.code)) {
			return `error code ${JSON.stringify(error.code)} is not one of ERROR_CODES`;
		}
		if (typeof error.message !== 'string' || error.message.length === 0) return 'error message is not a non-empty string';
		return undefined;
	}
	return 'neither a response (ok true/false) nor a notification';
}

export function isErrorResponse(message: ServerMessage): message is ErrorResponse {
	return 'ok' in message && message.ok === false;
}

type Waiter = {
	match: (message: ServerMessage) => boolean;
	resolve: (message: ServerMessage) => void;
	reject: (error: Error) => void;
	timer: NodeJS.Timeout;
};

export class WsTestClient {
	readonly #socket: WebSocket;
	/** Arrived and not yet taken by a wait, in arrival order. */
	readonly #inbox: ServerMessage[] = [];
	readonly #waiters = new Set<Waiter>();
	readonly #closeWaiters = new Set<{ resolve: (info: CloseInfo) => void; timer: NodeJS.Timeout }>();
	#nextId = 1;
	#closeInfo: CloseInfo | undefined;
	/** Frames that were not well-formed server messages (raw text and why). */
	readonly invalidFrames: { text: string; problem: string }[] = [];
	/** Every notification received, whether or not a wait took it. */
	readonly notifications: NotificationMessage[] = [];
	/** Count of frames received. */
	framesReceived = 0;

	private constructor(socket: WebSocket) {
		this.#socket = socket;
		socket.on('message', (data, isBinary) => this.#onFrame(data, isBinary));
		socket.on('close', (code, reason) => this.#onClose({ code, reason: reason.toString() }));
		// Errors (e.g. a frame the server refused) end in 'close'; nothing to add here.
		socket.on('error', () => undefined);
	}

	/** Opens a socket to `url` (ws://.../ws); rejects if not open within timeoutMs. */
	static connect(url: string, { timeoutMs = DEFAULT_TIMEOUT_MS }: { timeoutMs?: number } = {}): Promise<WsTestClient> {
		return new Promise((resolve, reject) => {
			const socket = new WebSocket(url, { handshakeTimeout: timeoutMs });
			const timer = setTimeout(() => {
				socket.terminate();
				reject(new Error(`WebSocket ${url} did not open within ${timeoutMs} ms`));
			}, timeoutMs);
			const client = new WsTestClient(socket);
			socket.once('open', () => {
				clearTimeout(timer);
				resolve(client);
			});
			socket.once('error', (error) => {
				clearTimeout(timer);
				reject(error);
			});
			socket.once('close', () => {
				clearTimeout(timer);
				reject(new Error(`WebSocket ${url} closed before opening`));
			});
		});
	}

	get isOpen(): boolean {
		return this.#socket.readyState === WebSocket.OPEN;
	}

	/** How the socket closed, once it has. */
	get closeInfo(): CloseInfo | undefined {
		return this.#closeInfo;
	}

	/** The id the next request() will use. */
	get nextId(): number {
		return this.#nextId;
	}

	/**
	 * Sends `{ id, method, data }` with a fresh id and resolves with the
	 * response carrying that id. `data` is typed for the method; pass
	 * `as never` to send something deliberately wrong.
	 */
	async request<M extends Method>(method: M, data: RequestData<M>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ResponseMessage> {
		const id = this.#nextId++;
		this.sendRaw(JSON.stringify({ id, method, data }));
		return this.waitForResponse(id, timeoutMs);
	}

	/** request() that fails unless the server answered ok; resolves with the data. */
	async requestOk<M extends Method>(method: M, data: RequestData<M>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<unknown> {
		const response = await this.request(method, data, timeoutMs);
		if (!response.ok) throw new Error(`${method} failed: ${response.error.code}: ${response.error.message}`);
		return response.data;
	}

	/** Sends a text frame (or a binary one with { binary: true }) as is. */
	sendRaw(payload: string | Buffer, { binary = false }: { binary?: boolean } = {}): void {
		if (!this.isOpen) throw new Error(`socket is not open (close ${JSON.stringify(this.#closeInfo)})`);
		this.#socket.send(payload, { binary });
	}

	/** The response (success or error) whose id is `id`; null matches id-less error replies. */
	waitForResponse(id: number | null, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ResponseMessage> {
		return this.#wait(
			(m) => 'ok' in m && m.id === id,
			timeoutMs,
			`response to request ${id}`,
		) as Promise<ResponseMessage>;
	}

	/** The next response of any id (notifications are left for the notification waits). */
	nextResponse(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ResponseMessage> {
		return this.#wait((m) => 'ok' in m, timeoutMs, 'a response') as Promise<ResponseMessage>;
	}

	/** The next message of any kind not yet taken, in arrival order. */
	nextMessage(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerMessage> {
		return this.#wait(() => true, timeoutMs, 'a message');
	}

	/** The first notification named `name` not yet taken (earlier ones included). */
	waitForNotification<N extends NotificationName>(
		name: N,
		timeoutMs = DEFAULT_TIMEOUT_MS,
		where: (message: NotificationMessage<N>) => boolean = () => true,
	): Promise<NotificationMessage<N>> {
		return this.#wait(
			(m) => 'notification' in m && m.notification === name && where(m as NotificationMessage<N>),
			timeoutMs,
			`notification ${name}`,
		) as Promise<NotificationMessage<N>>;
	}

	/** Takes every message that arrived and no wait has taken yet (arrival order). */
	takeBuffered(): ServerMessage[] {
		return this.#inbox.splice(0, this.#inbox.length);
	}

	/** Resolves with the close code and reason once the socket has closed (or rejects after timeoutMs). */
	waitForClose(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CloseInfo> {
		if (this.#closeInfo) return Promise.resolve(this.#closeInfo);
		return new Promise((resolve, reject) => {
			const entry = {
				resolve: (info: CloseInfo) => {
					clearTimeout(entry.timer);
					this.#closeWaiters.delete(entry);
					resolve(info);
				},
				timer: setTimeout(() => {
					this.#closeWaiters.delete(entry);
					reject(new Error(`socket did not close within ${timeoutMs} ms`));
				}, timeoutMs),
			};
			this.#closeWaiters.add(entry);
		});
	}

	/** Closes the socket and waits (bounded) for the close to complete; terminates if it does not. */
	async close(timeoutMs = 2_000): Promise<void> {
		if (this.#closeInfo) return;
		if (this.#socket.readyState === WebSocket.CONNECTING || this.#socket.readyState === WebSocket.OPEN) {
			this.#socket.close(1000, 'test done');
		}
		try {
			await this.waitForClose(timeoutMs);
		} catch {
			this.#socket.terminate();
			await this.waitForClose(timeoutMs).catch(() => undefined);
		}
	}

	/** Drops the TCP connection without a close handshake. */
	terminate(): void {
		this.#socket.terminate();
	}

	#wait(match: (message: ServerMessage) => boolean, timeoutMs: number, what: string): Promise<ServerMessage> {
		const index = this.#inbox.findIndex(match);
		if (index >= 0) return Promise.resolve(this.#inbox.splice(index, 1)[0]!);
		if (this.#closeInfo) return Promise.reject(this.#closedError(what));
		return new Promise((resolve, reject) => {
			const waiter: Waiter = {
				match,
				resolve,
				reject,
				timer: setTimeout(() => {
					this.#waiters.delete(waiter);
					reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
				}, timeoutMs),
			};
			this.#waiters.add(waiter);
		});
	}

	#closedError(what: string): Error {
		return Object.assign(new Error(`socket closed (${this.#closeInfo?.code} ${this.#closeInfo?.reason}) while waiting for ${what}`), {
			closeInfo: this.#closeInfo,
		});
	}

	#onFrame(data: WebSocket.RawData, isBinary: boolean): void {
		this.framesReceived++;
		const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
		let parsed: unknown;
		try {
			parsed = JSON.parse(text);
		} catch {
			this.invalidFrames.push({ text: text.slice(0, 200), problem: 'not JSON' });
			return;
		}
		const problem = isBinary ? 'binary frame from the server' : describeInvalidServerMessage(parsed);
		if (problem) {
			this.invalidFrames.push({ text: text.slice(0, 200), problem });
			return;
		}
		const message = parsed as ServerMessage;
		if ('notification' in message) this.notifications.push(message);
		for (const waiter of this.#waiters) {
			if (waiter.match(message)) {
				this.#waiters.delete(waiter);
				clearTimeout(waiter.timer);
				waiter.resolve(message);
				return;
			}
		}
		this.#inbox.push(message);
	}

	#onClose(info: CloseInfo): void {
		this.#closeInfo = info;
		for (const waiter of this.#waiters) {
			clearTimeout(waiter.timer);
			waiter.reject(this.#closedError('a message'));
		}
		this.#waiters.clear();
		for (const entry of [...this.#closeWaiters]) entry.resolve(info);
	}
}

/** Shorthand for WsTestClient.connect. */
export function connect(url: string, options?: { timeoutMs?: number }): Promise<WsTestClient> {
	return WsTestClient.connect(url, options);
}
