// Issue 21, finding 8: 45 requestKeyFrame a second from one subscriber kept
// the publisher at a key frame a second. Subscribers' requests are now
// coalesced per producer stream: counted where they leave Node for the worker
// (the consumer's requestKeyFrame), at most one per
// KEYFRAME_REQUEST_MIN_INTERVAL_MS (+ the first), and every request is answered.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { types as ms } from 'mediasoup';

import type { Tureen } from '../../src/server.ts';
import { fakeJoined } from '../support/fakeJoin.ts';
import type { FakeSocket } from '../support/fakeSocket.ts';
import { startTestServer } from '../support/server.ts';

const INTERVAL_MS = 300;

function vp8RtpParameters(ssrc: number): Record<string, unknown> {
	return {
		codecs: [
			{
				mimeType: 'video/VP8',
				payloadType: 96,
				clockRate: 90000,
				parameters: {},
				rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
			},
		],
		encodings: [{ ssrc }],
		headerExtensions: [],
		rtcp: { cname: `cname-${ssrc}`, reducedSize: true },
	};
}

describe('key-frame requests are coalesced per producer (issue 21, finding 8)', () => {
	let tureen: Tureen;

	before(async () => {
		({ tureen } = await startTestServer({
			MEDIASOUP_WORKER_COUNT: '1',
			RTC_BASE_PORT: '46800',
			RTC_PORTS_PER_WORKER: '100',
			KEYFRAME_REQUEST_MIN_INTERVAL_MS: String(INTERVAL_MS),
		}));
	});

	after(async () => {
		await tureen?.close();
	});

	async function joined(roomId: string, name: string): Promise<{ socket: FakeSocket; consumers: () => ReadonlyMap<string, ms.Consumer> }> {
		const { socket, connection } = await fakeJoined(tureen, roomId, name);
		return { socket, consumers: () => connection.peer.consumers };
	}

	it('45 requests in a burst from one subscriber and more from a second reach the producer at most once per interval', async () => {
		const publisher = await joined('keyframes', 'Pub');
		const { transportId: send } = (await publisher.socket.request('createWebRtcTransport', { direction: 'send' })) as { transportId: string };
		const { producerId } = (await publisher.socket.request('produce', { transportId: send, kind: 'video', rtpParameters: vp8RtpParameters(2222) })) as {
			producerId: string;
		};
		const asked: number[] = [];
		const subscribers = [];
		for (const name of ['Sub1', 'Sub2']) {
			const subscriber = await joined('keyframes', name);
			const { transportId: recv } = (await subscriber.socket.request('createWebRtcTransport', { direction: 'recv' })) as { transportId: string };
			const { consumerId } = (await subscriber.socket.request('consume', { producerId, transportId: recv })) as { consumerId: string };
			// Count what leaves Node for the worker: the server-side consumer's requestKeyFrame.
			const consumer = subscriber.consumers().get(consumerId)!;
			const original = consumer.requestKeyFrame.bind(consumer);
			consumer.requestKeyFrame = async () => {
				asked.push(Date.now());
				return original();
			};
			subscribers.push({ ...subscriber, consumerId });
		}
		const startedAt = Date.now();
		const ids = subscribers.flatMap((s) => Array.from({ length: 45 }, () => ({ s, id: s.socket.deliver('requestKeyFrame', { consumerId: s.consumerId }) })));
		for (const { s, id } of ids) assert.equal((await s.socket.reply(id)).ok, true);
		const lastRequestAt = Date.now();
		// The folded requests go at the interval's end: wait for it.
		await new Promise((resolve) => setTimeout(resolve, 2 * INTERVAL_MS));
		const seconds = (lastRequestAt - startedAt) / 1000;
		const max = 2 + Math.ceil((seconds * 1000) / INTERVAL_MS);
		assert.ok(asked.length >= 1, 'the subscriber was served');
		assert.ok(asked.length <= max, `${asked.length} key-frame requests reached the producer for 90 asked in ${seconds.toFixed(2)} s (at most ${max})`);
		for (let i = 1; i < asked.length; i++) assert.ok(asked[i]! - asked[i - 1]! >= INTERVAL_MS - 5, `requests ${asked[i]! - asked[i - 1]!} ms apart`);
		publisher.socket.hangUp();
		for (const s of subscribers) s.socket.hangUp();
	});
});
