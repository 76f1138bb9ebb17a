// Chat over data channels: each peer sends on its own data producer labelled
// "chat" and receives everyone else's through the server (consumed by the
// client library like remote media). Nothing goes over the signalling socket.
import { CHAT_LABEL, decodeChat, encodeChat, type ChatRefusal } from '../src/protocol/chat.ts';
import type { DataMessage, DataSender } from './dataChannels.ts';
import { Emitter } from './events.ts';

export type ChatMessage = { peerId: string; seq: number; text: string; sentAt: number };

/** What chat needs from the client library. */
export type ChatHost = {
	readonly peerId: string | undefined;
	openDataChannel(label: string): Promise<DataSender>;
	on(event: 'data', listener: (message: DataMessage) => void): () => void;
	on(event: 'dataThrottled', listener: (state: { paused: boolean }) => void): () => void;
};

/**
 * A message that was not sent: blank, over the server's data message size
 * (MESSAGE_TOO_LARGE, with the sizes), sent while the server holds this peer's
 * data channels for going over its rate (RATE_LIMITED), or before the channel opened.
 */
export class ChatError extends Error {
	readonly code: ChatRefusal['code'] | 'RATE_LIMITED' | 'NOT_OPEN';
	readonly details: { bytes: number; maxBytes: number } | undefined;

	constructor(code: ChatError['code'], message: string, details?: { bytes: number; maxBytes: number }) {
		super(message);
		this.name = 'ChatError';
		this.code = code;
		this.details = details;
	}
}

export class ChatChannel extends Emitter<{ message: [ChatMessage] }> {
	readonly #host: ChatHost;
	readonly #sender: DataSender;
	#seq = 0;
	#throttled = false;

	private constructor(host: ChatHost, sender: DataSender) {
		super();
		this.#host = host;
		this.#sender = sender;
		host.on('data', ({ peerId, label, data }) => {
			if (label !== CHAT_LABEL) return;
			const frame = decodeChat(data);
			if (frame) this.emit('message', { peerId, seq: frame.seq, text: frame.text, sentAt: frame.sentAt });
		});
		host.on('dataThrottled', ({ paused }) => {
			this.#throttled = paused;
		});
	}

	/** Opens this peer's chat data channel (after join). */
	static async open(host: ChatHost): Promise<ChatChannel> {
		return new ChatChannel(host, await host.openDataChannel(CHAT_LABEL));
	}

	/** Whether messages can be sent now (the data channel is open). */
	get ready(): boolean {
		return this.#sender.open;
	}

	/** Sends to everyone else in the room; throws ChatError when it cannot. Returns the message as sent. */
	send(text: string): ChatMessage {
		if (this.#throttled) throw new ChatError('RATE_LIMITED', 'you are sending too fast; wait a moment');
		const sentAt = Date.now();
		const encoded = encodeChat(text, this.#seq, sentAt, this.#sender.maxMessageSize);
		if (!encoded.ok) {
			const { refusal } = encoded;
			throw new ChatError(refusal.code, refusal.message, refusal.code === 'MESSAGE_TOO_LARGE' ? { bytes: refusal.bytes, maxBytes: refusal.maxBytes } : undefined);
		}
		if (!this.#sender.open) throw new ChatError('NOT_OPEN', 'the chat channel is not open (yet)');
		this.#sender.send(encoded.frame);
		return { peerId: this.#host.peerId ?? '', seq: this.#seq++, text, sentAt };
	}
}
