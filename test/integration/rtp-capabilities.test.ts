// Hardening finding 6, bad capabilities reach mediasoup (issue 10): join
// stored rtpCapabilities unchecked, and 3000 levels of nesting made a later
// consume throw RangeError inside mediasoup (INTERNAL).
// Tested here: join checks rtpCapabilities
// against a bounded schema (sizes, known fields, no deep nesting) and refuses
// capabilities that can receive none of the room's codecs, with the reason.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { ResponseMessage } from '../../src/protocol/messages.ts';
import type { Tureen } from '../../src/server.ts';
import { unconsumableReason } from '../../src/services/rooms/codecMatch.ts';
import { fakeConnection, type FakeSocket } from '../support/fakeSocket.ts';
import { startTestServer } from '../support/server.ts';

function nested(depth: number): unknown {
	let value: unknown = 'bottom';
	for (let i = 0; i < depth; i++) value = { a: value };
	return value;
}

function assertBadRequest(reply: ResponseMessage, pattern: RegExp): void {
	assert.equal(reply.ok, false, JSON.stringify(reply).slice(0, 300));
	if (reply.ok) return;
	assert.equal(reply.error.code, 'BAD_REQUEST');
	assert.match(reply.error.message, pattern);
}

const OPUS = { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 } as const;

describe('join validates rtpCapabilities: unbounded or unusable capabilities never reach mediasoup', () => {
	let tureen: Tureen;
	let caps: Record<string, unknown> & { codecs: Record<string, unknown>[] };
	const sockets: FakeSocket[] = [];

	const open = (): FakeSocket => {
		const { socket } = fakeConnection(tureen);
		sockets.push(socket);
		return socket;
	};
	const join = (socket: FakeSocket, rtpCapabilities: unknown) =>
		socket.reply(socket.deliver('join', { roomId: 'caps-room', displayName: 'C', rtpCapabilities: rtpCapabilities as Record<string, unknown> }));

	before(async () => {
		({ tureen } = await startTestServer({ MEDIASOUP_WORKER_COUNT: '1', RTC_BASE_PORT: '46900' }));
		({ rtpCapabilities: caps } = (await open().request('getRouterRtpCapabilities', { roomId: 'caps-room' })) as { rtpCapabilities: typeof caps });
	});

	after(async () => {
		for (const socket of sockets) socket.hangUp();
		await tureen?.close();
	});

	it('3000 levels of nesting in a codec are refused at join, not thrown later inside mediasoup', async () => {
		const deep = { ...caps, codecs: [{ ...caps.codecs[0], parameters: nested(3000) }] };
		assertBadRequest(await join(open(), deep), /rtpCapabilities\.codecs\.0\.parameters/);
	});

	it('unknown fields (deep or not) are dropped, so consume works with what remains', async () => {
		const producer = open();
		assert.ok((await join(producer, caps)).ok);
		const { transportId: sendId } = (await producer.request('createWebRtcTransport', { direction: 'send' })) as { transportId: string };
		const { producerId } = (await producer.request('produce', {
			transportId: sendId,
			kind: 'audio',
			rtpParameters: {
				codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] }],
				encodings: [{ ssrc: 4242 }],
				headerExtensions: [],
				rtcp: { cname: 'c', reducedSize: true },
			},
		})) as { producerId: string };
		const consumer = open();
		assert.ok((await join(consumer, { ...caps, extra: nested(3000) })).ok);
		const { transportId } = (await consumer.request('createWebRtcTransport', { direction: 'recv' })) as { transportId: string };
		const reply = await consumer.reply(consumer.deliver('consume', { producerId, transportId }));
		assert.equal(reply.ok, true, JSON.stringify(reply));
	});

	it('sizes are bounded: 65 codecs, a 300-character mimeType', async () => {
		assertBadRequest(await join(open(), { codecs: Array.from({ length: 65 }, () => OPUS) }), /codecs/);
		assertBadRequest(await join(open(), { codecs: [{ ...OPUS, mimeType: `audio/${'x'.repeat(300)}` }] }), /mimeType/);
	});

	it("capabilities that can receive none of the room's codecs are refused, saying why", async () => {
		assertBadRequest(await join(open(), { codecs: [] }), /can receive none of this room's codecs \(audio\/opus\/48000, video\/VP8\/90000, video\/H264\/90000\)/);
		assertBadRequest(await join(open(), { codecs: [{ kind: 'video', mimeType: 'video/AV1', clockRate: 90000 }] }), /can receive none/);
		// An audio-only client can join.
		assert.ok((await join(open(), { codecs: [OPUS] })).ok);
	});
});

describe('unconsumableReason', () => {
	const room = [
		{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000 },
		{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
		{ kind: 'video', mimeType: 'video/rtx', clockRate: 90000 },
	];

	it('one shared media codec is enough; mime types compare without case', () => {
		assert.equal(unconsumableReason(room, [{ kind: 'video', mimeType: 'VIDEO/vp8', clockRate: 90000 }]), undefined);
	});

	it('kind and clock rate must match too; rtx alone is not media', () => {
		assert.match(unconsumableReason(room, [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 16000 }]) ?? '', /none/);
		assert.match(unconsumableReason(room, [{ kind: 'video', mimeType: 'video/rtx', clockRate: 90000 }]) ?? '', /none/);
		assert.match(unconsumableReason(room, [{ kind: 'video', mimeType: 'audio/opus', clockRate: 48000 }]) ?? '', /none/);
	});
});
