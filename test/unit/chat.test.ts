import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CHAT_LABEL, decodeChat, encodeChat, utf8Bytes } from '../../src/protocol/chat.ts';

describe('chat frames (data channel)', () => {
	it('round-trips text, sequence number and time', () => {
		const encoded = encodeChat('hello, room', 3, 1_700_000_000_000, 1024);
		assert.ok(encoded.ok);
		assert.deepEqual(decodeChat(encoded.frame), { type: 'chat', seq: 3, text: 'hello, room', sentAt: 1_700_000_000_000 });
	});

	it('travels on the data channel labelled "chat"', () => {
		assert.equal(CHAT_LABEL, 'chat');
	});

	it('refuses blank text', () => {
		for (const text of ['', '   ', '\n\t']) {
			const encoded = encodeChat(text, 0, 0, 1024);
			assert.equal(encoded.ok, false);
			assert.deepEqual(!encoded.ok && encoded.refusal, { code: 'EMPTY_MESSAGE', message: 'a chat message needs some text' });
		}
	});

	it('counts UTF-8 bytes of the whole frame against the limit, to the byte', () => {
		const text = 'é'.repeat(100); // 200 bytes, 100 characters
		const frameBytes = utf8Bytes(JSON.stringify({ type: 'chat', seq: 0, text, sentAt: 0 }));
		assert.ok(encodeChat(text, 0, 0, frameBytes).ok, 'a frame exactly at the limit is sent');
		const over = encodeChat(text, 0, 0, frameBytes - 1);
		assert.equal(over.ok, false);
		assert.deepEqual(!over.ok && over.refusal, {
			code: 'MESSAGE_TOO_LARGE',
			message: `chat messages are limited to ${frameBytes - 1} bytes; this one is ${frameBytes}`,
			bytes: frameBytes,
			maxBytes: frameBytes - 1,
		});
	});

	it('ignores anything that is not a chat frame', () => {
		const bad: unknown[] = [
			new ArrayBuffer(4),
			'not json',
			'null',
			'[]',
			JSON.stringify({ type: 'chat', seq: 0, text: '', sentAt: 0 }),
			JSON.stringify({ type: 'chat', seq: -1, text: 'x', sentAt: 0 }),
			JSON.stringify({ type: 'chat', seq: 0.5, text: 'x', sentAt: 0 }),
			JSON.stringify({ type: 'chat', seq: 0, text: 'x' }),
			JSON.stringify({ type: 'other', seq: 0, text: 'x', sentAt: 0 }),
			JSON.stringify({ type: 'chat', seq: 0, text: 'x', sentAt: 0, from: 'someone-else' }),
		];
		for (const data of bad) assert.equal(decodeChat(data), undefined, String(data));
	});
});
