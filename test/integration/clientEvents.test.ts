// The client library's own reactions on a real server with real WebRTC
// (Node, @roamhq/wrtc): what it cannot do is surfaced as an 'error' event,
// and its ICE restart gets new credentials from the server while media goes on.
// A failure is provoked by rewriting one of the client's outgoing frames.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { ClientError } from '../../client/tureenClient.ts';
import { SignallingError } from '../../client/tureenClient.ts';
import type { Tureen } from '../../src/server.ts';
import { pollUntil } from '../support/demoPage.ts';
import { joinNodePeer, type NodePeer, type NodePeerOptions } from '../support/nodeClient.ts';
import { createSyntheticAudioTrack } from '../support/nodeWebRtc.ts';
import { startTestServer } from '../support/server.ts';

let tureen: Tureen;
let baseUrl: string;
const peers: NodePeer[] = [];

before(async () => {
	({ tureen, baseUrl } = await startTestServer({ MEDIASOUP_WORKER_COUNT: '2', RTC_BASE_PORT: '58000' }));
});

after(async () => {
	for (const peer of peers) await peer.leave().catch(() => undefined);
	await tureen?.close();
});

async function join(options: Omit<NodePeerOptions, 'baseUrl'>): Promise<NodePeer> {
	const peer = await joinNodePeer({ baseUrl, ...options });
	peers.push(peer);
	return peer;
}

/** The next 'error' event of the peer's client; rejects after 20 s (bounded). */
function nextError(peer: NodePeer): Promise<ClientError> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			off();
			reject(new Error('no error event within 20 s'));
		}, 20_000);
		const off = peer.client.on('error', (problem) => {
			clearTimeout(timer);
			off();
			resolve(problem);
		});
	});
}

const packetsFrom = async (peer: NodePeer, from: NodePeer) => (await peer.packetsByPeer()).get(from.joined.peerId) ?? { audio: 0, video: 0 };

test('a remote track that cannot be consumed is an error event naming the producer, not a silent drop', async () => {
	// The receiver's consume requests name a producer that does not exist: the server says NOT_FOUND.
	const receiver = await join({
		roomId: 'consume-fails',
		displayName: 'receiver',
		publish: {},
		tamper: (frame) => frame.replace(/("method":"consume","data":\{"producerId":)"[^"]+"/, '$1"gone"'),
	});
	const failed = nextError(receiver);
	const sender = await join({ roomId: 'consume-fails', displayName: 'sender', publish: { audio: true } });
	const problem = await failed;
	const producerId = [...tureen.rooms.getRoom('consume-fails')!.members.get(sender.joined.peerId)!.producers.keys()][0]!;
	assert.equal(problem.during, 'consume');
	assert.equal(problem.during === 'consume' && problem.producerId, producerId);
	assert.equal(problem.during === 'consume' && problem.peerId, sender.joined.peerId);
	assert.ok(problem.error instanceof SignallingError);
	assert.equal(problem.error.code, 'NOT_FOUND');
	assert.equal(receiver.client.remoteTracks.length, 0);
});

test('a recovery that fails after roomMoved is an error event, and no recovered follows', async () => {
	let moved = false;
	const peer = await join({
		roomId: 'recovery-fails',
		displayName: 'unlucky',
		publish: { audio: true },
		// Once the room has moved, the client's new transports are refused (BAD_REQUEST).
		tamper: (frame) => (moved ? frame.replace('"direction":"recv"', '"direction":"sideways"') : frame),
	});
	let recovered = 0;
	peer.client.on('recovered', () => recovered++);
	peer.client.on('roomMoved', () => (moved = true));
	const failed = nextError(peer);
	const workerId = tureen.rooms.getRoom('recovery-fails')!.workerId;
	process.kill(tureen.pool.getWorker(workerId)!.pid!, 'SIGKILL');
	const problem = await failed;
	assert.equal(problem.during, 'recovery');
	assert.equal(problem.during === 'recovery' && problem.workerId, 1 - workerId);
	assert.ok(problem.error instanceof SignallingError);
	assert.equal(problem.error.code, 'BAD_REQUEST');
	assert.equal(recovered, 0);
	await pollUntil(() => Promise.resolve(tureen.pool.getWorker(workerId)!.alive), Boolean, { what: 'respawn' });
});

test('ICE restart: new credentials from the server for both transports, and media keeps flowing', async () => {
	const sender = await join({ roomId: 'ice', displayName: 'sender', publish: { audio: true } });
	const receiver = await join({ roomId: 'ice', displayName: 'receiver', publish: { audio: true } });
	await pollUntil(() => packetsFrom(receiver, sender), (p) => p.audio > 0, { what: 'audio before the restart' });
	const serverTransports = () => [...tureen.rooms.getRoom('ice')!.members.get(receiver.joined.peerId)!.transports.values()];
	const fragmentsBefore = serverTransports().map((t) => t.iceParameters.usernameFragment);
	assert.equal(fragmentsBefore.length, 2);
	const errors: ClientError[] = [];
	receiver.client.on('error', (problem) => errors.push(problem));

	await receiver.client.restartIce();
	const fragmentsAfter = serverTransports().map((t) => t.iceParameters.usernameFragment);
	fragmentsAfter.forEach((fragment, i) => assert.notEqual(fragment, fragmentsBefore[i], 'the server issued new ICE credentials'));
	const before = await packetsFrom(receiver, sender);
	await pollUntil(() => packetsFrom(receiver, sender), (p) => p.audio > before.audio, { what: 'audio after the restart' });
	await pollUntil(() => Promise.resolve(receiver.client.sendTransport?.connectionState), (s) => s === 'connected', { what: 'send transport connected again' });

	// The same restart runs by itself when a transport reports 'failed'.
	const recv = receiver.client.recvTransport!;
	const fragmentBefore = serverTransports().find((t) => t.id === recv.id)!.iceParameters.usernameFragment;
	recv.emit('connectionstatechange', 'failed');
	await pollUntil(
		() => Promise.resolve(serverTransports().find((t) => t.id === recv.id)!.iceParameters.usernameFragment),
		(fragment) => fragment !== fragmentBefore,
		{ what: 'an ICE restart after failed' },
	);
	const later = await packetsFrom(receiver, sender);
	await pollUntil(() => packetsFrom(receiver, sender), (p) => p.audio > later.audio, { what: 'audio after the automatic restart' });
	assert.deepEqual(errors, []);
});

test('publish and openDataChannel at the same moment share one send transport', async () => {
	const peer = await join({ roomId: 'one-send-transport', displayName: 'eager', publish: {} });
	const audio = createSyntheticAudioTrack();
	peer.tracks.push(audio);
	// Both need the send transport, which does not exist yet: it is created once.
	await Promise.all([peer.client.publish([audio.track]), peer.client.openDataChannel('cursor')]);
	const member = tureen.rooms.getRoom('one-send-transport')!.members.get(peer.joined.peerId)!;
	assert.equal(member.transports.size, 2, 'one receive and one send transport on the server');
	assert.equal(member.producers.size, 1);
	assert.ok(peer.client.sendTransport);
	assert.ok([...member.transports.keys()].includes(peer.client.sendTransport.id), 'the client sends on the transport the server has');
});
