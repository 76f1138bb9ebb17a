// A stand-in for a server-side `ws` WebSocket, so component tests can drive a
// real SignallingConnection on a real server and decide exactly when the
// socket closes (between two awaits of a request) or how much it has
// buffered, without depending on timing or kernel buffer sizes.
import { EventEmitter } from 'node:events';

import type { WebSocket } from 'ws';

import type { Method, RequestData, ResponseMessage, ServerMessage } from '../../src/protocol/messages.ts';
import { SignallingConnection } from '../../src/signalling/connection.ts';
import type { SignallingHub } from '../../src/signalling/index.ts';

export class FakeSocket extends EventEmitter {
	readonly OPEN = 1;
	readyState = 1;
	/** What the server would have buffered; tests set it to play a slow reader. */
	bufferedAmount = 0;
	readonly sent: ServerMessage[] = [];
	closeInfo: { code: number; reason: string; terminated: boolean } | undefined;
	#nextId = 1;

	send(text: string): void {
		this.sent.push(JSON.parse(text) as ServerMessage);
		this.emit('sent');
	}

	close(code = 1000, reason = ''): void {
		this.#end(code, reason, false);
	}

	terminate(): void {
		this.#end(1006, '', true);
	}

	/** The client hangs up: the server sees its 'close' event now. */
	hangUp(): void {
		this.#end(1000, 'client left', false);
	}

	/** Delivers a request frame; resolves with its id. */
	deliver<M extends Method>(method: M, data: RequestData<M>): number {
		const id = this.#nextId++;
		this.deliverRaw(JSON.stringify({ id, method, data }));
		return id;
	}

	deliverRaw(text: string | Buffer, binary = false): void {
		this.emit('message', typeof text === 'string' ? Buffer.from(text) : text, binary);
	}

	/** The reply to request `id` (bounded wait; the connection answers within its queue). */
	async reply(id: number, timeoutMs = 10_000): Promise<ResponseMessage> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const found = this.sent.find((m): m is ResponseMessage => 'id' in m && m.id === id);
			if (found) return found;
			if (Date.now() > deadline) throw new Error(`no reply to ${id} within ${timeoutMs} ms`);
			await new Promise((resolve) => setTimeout(resolve, 5));
		}
	}

	async request<M extends Method>(method: M, data: RequestData<M>): Promise<unknown> {
		const reply = await this.reply(this.deliver(method, data));
		if (!reply.ok) throw new Error(`${method} failed: ${JSON.stringify(reply)}`);
		return reply.data;
	}

	#end(code: number, reason: string, terminated: boolean): void {
		if (this.closeInfo) return;
		this.readyState = 3;
		this.closeInfo = { code, reason, terminated };
		this.emit('close', code, Buffer.from(reason));
	}
}

/** A real connection of a running server (its signalling dependencies) on a fake socket. */
export function fakeConnection(server: { signalling: SignallingHub }, ip = '127.0.0.1'): { socket: FakeSocket; connection: SignallingConnection } {
	const socket = new FakeSocket();
	const connection = new SignallingConnection(server.signalling.depsForTesting, socket as unknown as WebSocket, ip);
	return { socket, connection };
}

/** A promise the test resolves by hand, and one that says the code reached the gate. */
export function gate(): { reached: Promise<void>; pass: () => void; wait: () => Promise<void> } {
	let pass!: () => void;
	let markReached!: () => void;
	const opened = new Promise<void>((resolve) => (pass = resolve));
	const reached = new Promise<void>((resolve) => (markReached = resolve));
	return {
		reached,
		pass,
		wait: () => {
			markReached();
			return opened;
		},
	};
}

/**
 * Replaces `target[method]` so that, once the real method has finished, it
 * stops at a gate the test opens: the test can close the socket right after
 * the server's await of it. `made()` is what the real method returned.
 */
export function holdAfter(target: object, method: string): { hold: ReturnType<typeof gate>; made: () => { closed: boolean } | undefined } {
	const hold = gate();
	const original = (target as Record<string, (...args: unknown[]) => Promise<{ closed: boolean }>>)[method]!.bind(target);
	let made: { closed: boolean } | undefined;
	Object.assign(target, {
		[method]: async (...args: unknown[]) => {
			made = await original(...args);
			await hold.wait();
			return made;
		},
	});
	return { hold, made: () => made };
}
