// Meeting features in a room spanning workers (ROOM_MAX_PEERS_PER_ROUTER=1:
// every peer on its own worker): data channels are piped like media, and
// speaker detection on the room's home router hears a peer of another worker.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { ChatChannel, type ChatMessage } from '../../client/chat.ts';
import type { Tureen } from '../../src/server.ts';
import { joinNodePeer, type NodePeer } from '../support/nodeClient.ts';
import { startTestServer } from '../support/server.ts';

let tureen: Tureen;
let baseUrl: string;
const peers: NodePeer[] = [];

before(async () => {
	({ tureen, baseUrl } = await startTestServer({
		MEDIASOUP_WORKER_COUNT: '2',
		RTC_BASE_PORT: '43000',
		RTC_PORTS_PER_WORKER: '200',
		ROOM_MAX_PEERS_PER_ROUTER: '1',
	}));
});

after(async () => {
	for (const peer of peers) await peer.leave().catch(() => undefined);
	await tureen?.close();
});

async function join(roomId: string, displayName: string, publish: { audio?: boolean }): Promise<NodePeer> {
	const peer = await joinNodePeer({ baseUrl, roomId, displayName, publish });
	peers.push(peer);
	return peer;
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

test('chat crosses workers through a data producer pipe, in order', async () => {
	const alice = await join('span-chat', 'alice', {});
	const bob = await join('span-chat', 'bob', {});
	assert.notEqual(alice.joined.workerId, bob.joined.workerId, 'one worker each');
	const aliceChat = await ChatChannel.open(alice.client);
	const received: ChatMessage[] = [];
	const bobChat = await ChatChannel.open(bob.client);
	bobChat.on('message', (m) => received.push(m));
	await until(() => aliceChat.ready, "alice's channel open");
	const texts = Array.from({ length: 10 }, (_, i) => `across ${i}`);
	for (const text of texts) aliceChat.send(text);
	await until(() => received.length === texts.length, 'all messages at bob');
	assert.deepEqual(
		received.map((m) => [m.peerId, m.text]),
		texts.map((text) => [alice.joined.peerId, text]),
	);
});

test('the active speaker is found when the speaker is on another worker than the room\'s home', async () => {
	const listener = await join('span-speak', 'listener', {});
	const speakers: string[] = [];
	listener.client.on('activeSpeaker', ({ peerId }) => speakers.push(peerId));
	const speaker = await join('span-speak', 'speaker', { audio: true });
	const room = tureen.rooms.getRoom('span-speak')!;
	assert.notEqual(room.routerOf(room.members.get(speaker.joined.peerId)!)!.workerId, room.workerId, 'the speaker is not on the home router');
	await until(() => speakers.includes(speaker.joined.peerId), 'activeSpeaker naming the speaker');
});
