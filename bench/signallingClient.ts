// The bench's participants' signalling: a WebSocket to /ws speaking
// src/protocol/messages.ts, as any client does. Notifications are ignored
// (the bench reads what it needs from the answers); a request the server
// rate-limits is sent again a little later, so a participant consuming a
// whole room stays within the server's request rate.
import WebSocket from 'ws';

import { parseServerMessage, type Method, type RequestData, type RequestMessage, type ResponseData } from '../src/protocol/messages.ts';

const TIMEOUT_MS = 30_000;
const RATE_LIMITED_RETRY_MS = 250;

type Pending = { resolve(data: unknown): void; reject(error: Error): void };

export class SignallingClient {
	readonly #socket: WebSocket;
	readonly #pending = new Map<number, Pending>();
	#nextId = 1;

	private constructor(socket: WebSocket) {
		this.#socket = socket;
		// An error is followed by 'close', which fails what is pending.
		socket.on('error', () => undefined);
		socket.on('message', (raw) => {
			const message = parseServerMessage(String(raw));
			if (!message || 'notification' in message || message.id === null) return;
			const pending = this.#pending.get(message.id);
			if (!pending) return;
			this.#pending.delete(message.id);
			if (message.ok) pending.resolve(message.data);
			else pending.reject(Object.assign(new Error(`${message.error.code}: ${message.error.message}`), { code: message.error.code }));
		});
		socket.on('close', () => {
			for (const pending of this.#pending.values()) pending.reject(new Error('signalling socket closed'));
			this.#pending.clear();
		});
	}

	/** Opens /ws of the server at `baseUrl` (http://host:port). */
	static connect(baseUrl: string): Promise<SignallingClient> {
		const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`, { handshakeTimeout: TIMEOUT_MS });
		return new Promise((resolve, reject) => {
			socket.once('open', () => resolve(new SignallingClient(socket)));
			socket.once('error', reject);
		});
	}

	async request<M extends Method>(method: M, data: RequestData<M>): Promise<ResponseData[M]> {
		for (;;) {
			try {
				return await this.#send(method, data);
			} catch (error) {
				if ((error as { code?: string }).code !== 'RATE_LIMITED') throw error;
				await new Promise((resolve) => setTimeout(resolve, RATE_LIMITED_RETRY_MS));
			}
		}
	}

	#send<M extends Method>(method: M, data: RequestData<M>): Promise<ResponseData[M]> {
		const id = this.#nextId++;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.#pending.delete(id);
				reject(new Error(`${method} got no answer in ${TIMEOUT_MS} ms`));
			}, TIMEOUT_MS);
			this.#pending.set(id, {
				resolve: (answer) => {
					clearTimeout(timer);
					resolve(answer as ResponseData[M]);
				},
				reject: (error) => {
					clearTimeout(timer);
					reject(error);
				},
			});
			this.#socket.send(JSON.stringify({ id, method, data } satisfies RequestMessage<M>));
		});
	}

	/** Closes the socket: the server ends the participant, closing what it owns. */
	close(): void {
		this.#socket.close();
	}
}
