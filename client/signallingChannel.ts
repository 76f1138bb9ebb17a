import type { ErrorBody, Method, NotificationMessage, RequestData, ResponseData } from '../src/protocol/messages.ts';
import { isNotification, parseServerMessage } from '../src/protocol/messages.ts';
import { Emitter } from './events.ts';

/** The part of the WebSocket API shared by browsers and the `ws` package. */
export interface WebSocketLike {
	readonly readyState: number;
	send(data: string): void;
	close(code?: number, reason?: string): void;
	onopen: ((event: unknown) => void) | null;
	onclose: ((event: { code: number; reason: string }) => void) | null;
	onerror: ((event: unknown) => void) | null;
	onmessage: ((event: { data: unknown }) => void) | null;
}
export type WebSocketFactory = (url: string) => WebSocketLike;

/** A request the server refused: `code` is one of the protocol's error codes. */
export class SignallingError extends Error {
	readonly code: ErrorBody['code'] | 'TIMEOUT' | 'CLOSED';
	/** LIMIT_REACHED: which limit; WRONG_NODE: the node that owns the room and its URL. */
	readonly details: ErrorBody['details'];

	constructor(code: SignallingError['code'], message: string, details?: ErrorBody['details']) {
		super(message);
		this.name = 'SignallingError';
		this.code = code;
		this.details = details;
	}
}

type ChannelEvents = {
	notification: [NotificationMessage];
	close: [{ code: number; reason: string }];
};

/** Request/response over one WebSocket, plus server notifications. */
export class SignallingChannel extends Emitter<ChannelEvents> {
	readonly #socket: WebSocketLike;
	readonly #pending = new Map<number, { resolve(data: unknown): void; reject(error: Error): void; timer: ReturnType<typeof setTimeout> }>();
	readonly #timeoutMs: number;
	#nextId = 1;
	#closed = false;

	private constructor(socket: WebSocketLike, timeoutMs: number) {
		super();
		this.#socket = socket;
		this.#timeoutMs = timeoutMs;
		socket.onmessage = (event) => this.#onMessage(event.data);
		socket.onclose = (event) => {
			this.#closed = true;
			for (const [, pending] of this.#pending) {
				clearTimeout(pending.timer);
				pending.reject(new SignallingError('CLOSED', 'signalling connection closed'));
			}
			this.#pending.clear();
			this.emit('close', { code: event.code, reason: event.reason });
		};
	}

	static open(url: string, createSocket: WebSocketFactory, timeoutMs = 10_000): Promise<SignallingChannel> {
		return new Promise((resolve, reject) => {
			const socket = createSocket(url);
			socket.onopen = () => resolve(new SignallingChannel(socket, timeoutMs));
			socket.onerror = () => reject(new SignallingError('CLOSED', `cannot connect to ${url}`));
		});
	}

	get closed(): boolean {
		return this.#closed;
	}

	request<M extends Method>(method: M, data: RequestData<M>): Promise<ResponseData[M]> {
		if (this.#closed) return Promise.reject(new SignallingError('CLOSED', 'signalling connection closed'));
		const id = this.#nextId++;
		return new Promise<ResponseData[M]>((resolve, reject) => {
			const timer = setTimeout(() => {
				this.#pending.delete(id);
				reject(new SignallingError('TIMEOUT', `${method} got no answer in ${this.#timeoutMs} ms`));
			}, this.#timeoutMs);
			this.#pending.set(id, { resolve: resolve as (data: unknown) => void, reject, timer });
			this.#socket.send(JSON.stringify({ id, method, data }));
		});
	}

	#onMessage(raw: unknown): void {
		const message = parseServerMessage(String(raw));
		if (!message) return;
		if (isNotification(message)) {
			this.emit('notification', message);
			return;
		}
		const pending = message.id === null ? undefined : this.#pending.get(message.id);
		if (!pending || message.id === null) return;
		this.#pending.delete(message.id);
		clearTimeout(pending.timer);
		if (message.ok) pending.resolve(message.data);
		else pending.reject(new SignallingError(message.error.code, message.error.message, message.error.details));
	}

	close(): void {
		this.#socket.close(1000, 'bye');
	}
}
