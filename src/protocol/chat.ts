// Chat messages as they travel over a data channel (label "chat"): one JSON
// frame per message. Shared by the browser client and the tests. The sender is
// never taken from the frame: a receiver knows it from the data producer the
// frame arrived on, which the server announced with its owner's peerId.
import { z } from 'zod';

/** The data channel label chat frames use. */
export const CHAT_LABEL = 'chat';

const chatFrameSchema = z
	.object({
		type: z.literal('chat'),
		/** Per-sender counter from 0: a receiver can tell order and gaps. */
		seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
		text: z.string().min(1),
		/** The sender's clock (ms since epoch), for display only. */
		sentAt: z.number().finite(),
	})
	.strict();
export type ChatFrame = z.infer<typeof chatFrameSchema>;

/** Why a chat message could not be sent; `MESSAGE_TOO_LARGE` carries the limit. */
export type ChatRefusal =
	| { code: 'EMPTY_MESSAGE'; message: string }
	| { code: 'MESSAGE_TOO_LARGE'; message: string; bytes: number; maxBytes: number };

const utf8 = new TextEncoder();

/** Size on the wire: data channel limits count UTF-8 bytes, not characters. */
export function utf8Bytes(text: string): number {
	return utf8.encode(text).byteLength;
}

/**
 * The frame for `text`, or why it cannot be sent: blank text, or a frame
 * larger than `maxBytes` (the transport's SCTP message limit from the server).
 */
export function encodeChat(
	text: string,
	seq: number,
	sentAt: number,
	maxBytes: number,
): { ok: true; frame: string } | { ok: false; refusal: ChatRefusal } {
	if (text.trim() === '') return { ok: false, refusal: { code: 'EMPTY_MESSAGE', message: 'a chat message needs some text' } };
	const frame = JSON.stringify({ type: 'chat', seq, text, sentAt } satisfies ChatFrame);
	const bytes = utf8Bytes(frame);
	if (bytes > maxBytes) {
		return {
			ok: false,
			refusal: { code: 'MESSAGE_TOO_LARGE', message: `chat messages are limited to ${maxBytes} bytes; this one is ${bytes}`, bytes, maxBytes },
		};
	}
	return { ok: true, frame };
}

/** A received frame as a chat message, or undefined for anything else (binary, bad JSON, wrong shape). */
export function decodeChat(data: unknown): ChatFrame | undefined {
	// Stryker disable next-line ConditionalExpression: equivalent; JSON.parse of a non-string (its String() form) throws or gives no chat frame.
	if (typeof data !== 'string') return undefined;
	let json: unknown;
	try {
		json = JSON.parse(data);
	} catch {
		// Not JSON: json stays undefined, which is no chat frame.
	}
	const parsed = chatFrameSchema.safeParse(json);
	return parsed.success ? parsed.data : undefined;
}
