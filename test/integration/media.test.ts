import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { Tureen } from '../../src/server.ts';
import { joinNodePeer, type NodePeer } from '../support/nodeClient.ts';
import { pollUntil } from '../support/demoPage.ts';
import { startTestServer } from '../support/server.ts';

let tureen: Tureen;
let baseUrl: string;
const peers: NodePeer[] = [];

before(async () => {
	({ tureen, baseUrl } = await startTestServer({ MEDIASOUP_WORKER_COUNT: '2', RTC_BASE_PORT: '49000', ROOM_IDLE_TIMEOUT_MS: '2000' }));
});

after(async () => {
	for (const peer of peers) await peer.leave().catch(() => undefined);
	await tureen?.close();
});

async function join(roomId: string, displayName: string): Promise<NodePeer> {
	const peer = await joinNodePeer({ baseUrl, roomId, displayName });
	peers.push(peer);
	return peer;
}

/** Every peer receives audio and video packets from every other peer of its room. */
async function expectFullMesh(room: NodePeer[]): Promise<void> {
	for (const peer of room) {
		const others = room.filter((p) => p !== peer).map((p) => p.joined.peerId);
		await pollUntil(
			() => peer.packetsByPeer(),
			(byPeer) => others.every((id) => (byPeer.get(id)?.audio ?? 0) > 0 && (byPeer.get(id)?.video ?? 0) > 0),
			{ what: `${peer.joined.peerId} receiving audio+video from ${others.length} peers` },
		);
	}
}

async function transportCount(): Promise<number> {
	let count = 0;
	for (const managed of tureen.pool.workers) {
		const dump = await tureen.pool.mediasoupWorkerForTesting(managed.workerId).dump();
		for (const routerId of dump.routerIds) {
			const router = [...tureen.rooms.rooms].find((r) => r.router.id === routerId)?.router;
			if (router) count += (await router.dump()).transportIds.length;
		}
	}
	return count;
}

test('three peers in one room each receive the others\' audio and video', async () => {
	const room = [await join('trio', 'p1'), await join('trio', 'p2'), await join('trio', 'p3')];
	await expectFullMesh(room);
	assert.equal(tureen.rooms.getRoom('trio')?.members.size, 3);
});

test('two rooms on two different workers carry media at the same time', async () => {
	const left = [await join('left', 'l1'), await join('left', 'l2')];
	const right = [await join('right', 'r1'), await join('right', 'r2')];
	await Promise.all([expectFullMesh(left), expectFullMesh(right)]);
	const leftWorker = tureen.rooms.getRoom('left')!.workerId;
	const rightWorker = tureen.rooms.getRoom('right')!.workerId;
	assert.notEqual(leftWorker, rightWorker);
	assert.equal(left[0]!.joined.workerId, leftWorker);
	assert.equal(right[0]!.joined.workerId, rightWorker);
});

test('the Node client recovers by itself when its room\'s worker is killed', async () => {
	const room = [await join('phoenix', 'f1'), await join('phoenix', 'f2')];
	await expectFullMesh(room);
	const workerId = tureen.rooms.getRoom('phoenix')!.workerId;
	// What the transports say at the moment 'recovered' fires: media must already flow.
	const recovered = room.map(
		(peer) =>
			new Promise<{ tookMs: number; states: (string | undefined)[] }>((resolve) =>
				peer.client.on('recovered', ({ tookMs }) =>
					resolve({ tookMs, states: [peer.client.sendTransport?.connectionState, peer.client.recvTransport?.connectionState] }),
				),
			),
	);
	const oldRecv = room.map((peer) => peer.client.recvTransport?.id);
	process.kill(tureen.pool.getWorker(workerId)!.pid!, 'SIGKILL');
	const results = await Promise.all(recovered);
	console.log(`Node clients re-created their media in ${results.map((r) => r.tookMs).join(', ')} ms`);
	for (const { states } of results) assert.deepEqual(states, ['connected', 'connected'], 'send and receive transports connected at recovered');
	assert.notEqual(tureen.rooms.getRoom('phoenix')!.workerId, workerId);
	room.forEach((peer, i) => assert.notEqual(peer.client.recvTransport?.id, oldRecv[i]));
	await expectFullMesh(room);
	await pollUntil(() => Promise.resolve(tureen.pool.getWorker(workerId)!.alive), Boolean, { what: 'respawn' });
});

test('leaving closes every transport, and empty rooms close with their routers', async () => {
	assert.ok((await transportCount()) > 0);
	for (const peer of peers.splice(0)) await peer.leave();
	// Right after leave the rooms still exist (idle timeout), but hold no transport.
	assert.ok(tureen.rooms.rooms.length > 0);
	assert.equal(await transportCount(), 0, 'no transport left after leave');
	await pollUntil(() => Promise.resolve(tureen.rooms.rooms.length), (n) => n === 0, { what: 'all rooms closed', timeoutMs: 10_000 });
	let routers = 0;
	for (const managed of tureen.pool.workers) routers += (await tureen.pool.mediasoupWorkerForTesting(managed.workerId).dump()).routerIds.length;
	assert.equal(routers, 0, 'no router left on any worker');
});
