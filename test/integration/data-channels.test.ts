// Data channels through a real worker, from Node WebRTC clients (the client
// library on @roamhq/wrtc): chat in order, and the per-peer data rate limit
// holding a flooding peer's data producers until it slows down.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { ChatChannel, type ChatMessage } from '../../client/chat.ts';
import type { DataMessage } from '../../client/dataChannels.ts';
import { CHAT_LABEL } from '../../src/protocol/chat.ts';
import type { Tureen } from '../../src/server.ts';
import { joinNodePeer, type NodePeer } from '../support/nodeClient.ts';
import { startTestServer } from '../support/server.ts';

const MESSAGES_PER_SECOND = 20;

let tureen: Tureen;
let baseUrl: string;
const peers: NodePeer[] = [];

before(async () => {
	({ tureen, baseUrl } = await startTestServer({
		MEDIASOUP_WORKER_COUNT: '1',
		RTC_BASE_PORT: '41600',
		RTC_PORTS_PER_WORKER: '200',
		MAX_DATA_MESSAGES_PER_SECOND: String(MESSAGES_PER_SECOND),
		MAX_DATA_PRODUCERS_PER_PEER: '1',
	}));
});

after(async () => {
	for (const peer of peers) await peer.leave().catch(() => undefined);
	await tureen?.close();
});

async function join(roomId: string, displayName: string): Promise<NodePeer> {
	const peer = await joinNodePeer({ baseUrl, roomId, displayName, publish: {} });
	peers.push(peer);
	return peer;
}

/** Resolves when `check` passes on what was collected (bounded). */
async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

test('data channel chat between Node clients: in order, sender from the server, one data producer per peer at most', async () => {
	const alice = await join('chat', 'alice');
	const bob = await join('chat', 'bob');
	const aliceChat = await ChatChannel.open(alice.client);
	const received: ChatMessage[] = [];
	const bobChat = await ChatChannel.open(bob.client);
	bobChat.on('message', (m) => received.push(m));
	await until(() => aliceChat.ready, "alice's channel open");
	const texts = Array.from({ length: 10 }, (_, i) => `message ${i}`);
	for (const text of texts) aliceChat.send(text);
	await until(() => received.length === texts.length, 'all messages at bob');
	assert.deepEqual(
		received.map((m) => [m.peerId, m.seq, m.text]),
		texts.map((text, seq) => [alice.joined.peerId, seq, text]),
	);
	await assert.rejects(alice.client.openDataChannel('second'), { code: 'LIMIT_REACHED' });
});

test('a peer flooding its data channel is held (dataThrottled), its messages dropped, and released once it slows down', async () => {
	const flooder = await join('flood', 'flooder');
	const listener = await join('flood', 'listener');
	await ChatChannel.open(listener.client);
	const heard: DataMessage[] = [];
	listener.client.on('data', (m) => heard.push(m));
	const throttled: boolean[] = [];
	flooder.client.on('dataThrottled', ({ paused }) => throttled.push(paused));
	const chat = await ChatChannel.open(flooder.client);
	const sender = await flooder.client.openDataChannel(CHAT_LABEL);
	await until(() => sender.open, 'the channel open');

	// About 100 messages a second, five times the limit, until the server holds the channel.
	let sent = 0;
	const deadline = Date.now() + 15_000;
	while (!throttled.includes(true) && Date.now() < deadline) {
		sender.send(`flood ${sent++}`);
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
	assert.deepEqual(throttled, [true], 'told once that its data channels are held');
	assert.throws(() => chat.send('polite'), { name: 'ChatError', code: 'RATE_LIMITED' });
	// Still flooding: the marker falls in a window over the limit, so it is dropped.
	sender.send('while held');
	for (let i = 0; i < 30; i++) {
		sender.send(`flood ${sent++}`);
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
	await until(() => throttled.length === 2, 'released after a quiet second');
	assert.deepEqual(throttled, [true, false]);
	sender.send('after');
	await until(() => heard.some((m) => m.data === 'after'), "the message after release at the listener");
	assert.equal(heard.some((m) => m.data === 'while held'), false, 'nothing sent while held got through');
	assert.ok(heard.length < sent, `${heard.length} of ${sent} flood messages got through`);
});
