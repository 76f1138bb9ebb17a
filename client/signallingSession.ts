// The signalling session: request and notify over the one channel that is
// current, the channel to the node hosting the room. A reconnection or a
// WRONG_NODE redirect replaces that channel; the one left behind may still
// deliver for a moment, and what it says is no longer news.
import type { Method, NotificationMessage, NotificationName, Notifications, RequestData, ResponseData } from '../src/protocol/messages.ts';
import { Emitter } from './events.ts';
import { openRoomChannel } from './nodeRoute.ts';
import { SignallingChannel, type WebSocketFactory } from './signallingChannel.ts';

/** A request over the current channel. */
export type Request = <M extends Method>(method: M, data: RequestData<M>) => Promise<ResponseData[M]>;

/** One handler per notification of the protocol, so a notification added to it does not compile until it is handled. */
export type NotificationHandlers = { [N in NotificationName]: (data: Notifications[N]) => void };

export function dispatchNotification<N extends NotificationName>(handlers: NotificationHandlers, message: NotificationMessage<N>): void {
	handlers[message.notification](message.data);
}

type SessionEvents = {
	notification: [NotificationMessage];
	/** The current channel closed without this client dropping it. */
	lost: [{ code: number; reason: string }];
};

export type RoomAddress = { roomId: string; token?: string | undefined };

export class SignallingSession extends Emitter<SessionEvents> {
	readonly #createWebSocket: WebSocketFactory;
	readonly #requestTimeoutMs: number | undefined;
	#channel: SignallingChannel | undefined;

	constructor(createWebSocket: WebSocketFactory | undefined, requestTimeoutMs: number | undefined) {
		super();
		this.#createWebSocket = createWebSocket ?? ((url: string) => new WebSocket(url) as never);
		this.#requestTimeoutMs = requestTimeoutMs;
	}

	get open(): boolean {
		return this.#channel !== undefined && !this.#channel.closed;
	}

	readonly request: Request = (method, data) => {
		if (!this.#channel) return Promise.reject(new Error('join first'));
		return this.#channel.request(method, data);
	};

	/** A new current channel on the node that hosts the room (following one WRONG_NODE redirect); answers the room's router capabilities. */
	async openRoom(url: string, room: RoomAddress): Promise<unknown> {
		const { rtpCapabilities } = await openRoomChannel(url, room, async (target) => {
			// A channel being replaced (a redirect closes it) is no longer current: its close is no news.
			this.#channel = undefined;
			const channel = await SignallingChannel.open(target, this.#createWebSocket, this.#requestTimeoutMs);
			this.#attach(channel);
			return channel;
		});
		return rtpCapabilities;
	}

	#attach(channel: SignallingChannel): void {
		this.#channel = channel;
		channel.on('notification', (message) => {
			if (channel === this.#channel) this.emit('notification', message);
		});
		channel.on('close', (closed) => {
			if (channel === this.#channel) this.emit('lost', closed);
		});
	}

	/** Closes the current channel; its close is reported as `lost`, like any other. */
	close(): void {
		this.#channel?.close();
	}

	/** Closes the current channel as this client's own decision: no `lost` follows. */
	drop(): void {
		const channel = this.#channel;
		this.#channel = undefined;
		channel?.close();
	}
}
