// One room over several workers, with real workers and real WebRTC (Node
// clients on @roamhq/wrtc): peers are placed on the room's routers by
// ROOM_MAX_PEERS_PER_ROUTER, producers are piped between workers on demand,
// pause and close follow the pipes, and a worker's death moves only its peers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { RoomDescription, Stats } from '../../src/protocol/stats.ts';
import type { Tureen } from '../../src/server.ts';
import { handlers } from '../../src/signalling/handlers.ts';
import type { Participant } from '../../src/services/participants/participant.ts';
import { pollUntil } from '../support/demoPage.ts';
import { joinNodePeer, type NodePeer } from '../support/nodeClient.ts';
import { startTestServer } from '../support/server.ts';

let tureen: Tureen;
let baseUrl: string;
const peers: NodePeer[] = [];
const SMALL_VIDEO = { width: 160, height: 120, fps: 15 };

before(async () => {
	({ tureen, baseUrl } = await startTestServer({
		MEDIASOUP_WORKER_COUNT: '3',
		RTC_BASE_PORT: '41000',
		RTC_PORTS_PER_WORKER: '300',
		ROOM_MAX_PEERS_PER_ROUTER: '2',
		ROOM_IDLE_TIMEOUT_MS: '2000',
		DRAIN_TIMEOUT_MS: '500',
	}));
});

after(async () => {
	for (const peer of peers) await peer.leave().catch(() => undefined);
	await tureen?.close();
});

async function join(roomId: string, displayName: string): Promise<NodePeer> {
	const peer = await joinNodePeer({ baseUrl, roomId, displayName, publish: { audio: true, video: SMALL_VIDEO } });
	peers.push(peer);
	return peer;
}

/** Packets each peer has received from each other peer, as [receiver][sender] audio+video sums. */
async function receivedFrom(room: NodePeer[]): Promise<Map<string, Map<string, { audio: number; video: number }>>> {
	const all = new Map<string, Map<string, { audio: number; video: number }>>();
	for (const peer of room) all.set(peer.joined.peerId, await peer.packetsByPeer());
	return all;
}

/** Peers whose video producer a test closed: from then on only their audio is expected. */
const audioOnly = new Set<string>();

/** Every peer receives audio and video packets from every other peer of its room. */
async function expectFullMesh(room: NodePeer[], timeoutMs = 30_000): Promise<void> {
	for (const peer of room) {
		const others = room.filter((p) => p !== peer).map((p) => p.joined.peerId);
		await pollUntil(
			() => peer.packetsByPeer(),
			(byPeer) => others.every((id) => (byPeer.get(id)?.audio ?? 0) > 0 && (audioOnly.has(id) || (byPeer.get(id)?.video ?? 0) > 0)),
			{ what: `${peer.joined.peerId} receiving audio+video from ${others.length} peers`, timeoutMs },
		);
	}
}

async function roomInfo(roomId: string): Promise<RoomDescription> {
	const response = await fetch(`${baseUrl}/rooms/${roomId}`);
	assert.equal(response.status, 200);
	return (await response.json()) as RoomDescription;
}

function serverPeer(roomId: string, peerId: string): Participant {
	const peer = tureen.rooms.getRoom(roomId)?.members.get(peerId);
	assert.ok(peer, `peer ${peerId} in ${roomId}`);
	return peer;
}

/** Every server-side consumer of `producerId` in the room, with the worker it lives on. */
function consumersOf(roomId: string, producerId: string): { workerId: number; producerPaused: boolean; closed: boolean }[] {
	const room = tureen.rooms.getRoom(roomId)!;
	return [...room.members.values()].flatMap((member) =>
		[...member.consumers.values()]
			.filter((c) => c.producerId === producerId)
			.map((c) => ({ workerId: room.routerOf(member)!.workerId, producerPaused: c.producerPaused, closed: c.closed })),
	);
}

function workerOf(client: NodePeer): number | undefined {
	return tureen.rooms.getRoom('span')!.routerOf(serverPeer('span', client.joined.peerId))?.workerId;
}

function ctx(peer: Participant) {
	return { deps: tureen.signalling.depsForTesting.handlers, peer, ip: '127.0.0.1' };
}

describe('a room spanning workers (ROOM_MAX_PEERS_PER_ROUTER=2, 3 workers)', () => {
	const room: NodePeer[] = [];

	test('four peers joining over WebSocket end up on two workers, GET /rooms/:roomId shows both, each receives the others', async () => {
		for (let i = 1; i <= 4; i++) room.push(await join('span', `s${i}`));
		const info = await roomInfo('span');
		assert.equal(info.peerCount, 4);
		assert.equal(info.workers.length, 2, JSON.stringify(info.workers));
		assert.deepEqual(info.workers.map((w) => w.peerCount), [2, 2]);
		assert.notEqual(info.workers[0]!.workerId, info.workers[1]!.workerId);
		const joinedOn = room.map((p) => p.joined.workerId);
		assert.deepEqual(
			[...new Set(joinedOn)].sort(),
			info.workers.map((w) => w.workerId).sort(),
			'join answers the worker of the peer\'s own router',
		);
		await expectFullMesh(room);
	});

	test('six peers span three workers; every peer receives every other peer\'s audio and video', async () => {
		for (let i = 5; i <= 6; i++) room.push(await join('span', `s${i}`));
		const info = await roomInfo('span');
		assert.deepEqual(info.workers.map((w) => w.peerCount), [2, 2, 2]);
		assert.equal(new Set(info.workers.map((w) => w.workerId)).size, 3);
		await expectFullMesh(room);

		const stats = (await (await fetch(`${baseUrl}/stats`)).json()) as Stats;
		assert.equal(stats.totalRooms, 1, 'a spanning room counts once');
		for (const w of ['0', '1', '2']) assert.deepEqual(stats.distribution[w], ['span'], `listed under worker ${w}`);
		for (const w of stats.workers) {
			// Each worker links to the two others, and receives the 4 other peers' audio and video.
			assert.equal(w.pipeTransports, 2);
			assert.equal(w.pipedProducers, 8);
		}
		const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
		assert.match(metrics, /tureen_worker_pipe_transports\{worker_id="0"\} 2/);
		assert.match(metrics, /tureen_worker_piped_producers\{worker_id="2"\} 8/);
	});

	test('a key frame request of a consumer on another worker reaches the publisher', async () => {
		const room0 = tureen.rooms.getRoom('span')!;
		const owner = serverPeer('span', room[0]!.joined.peerId);
		const video = [...owner.producers.values()].find((p) => p.kind === 'video')!;
		const home = room0.routerOf(owner)!.workerId;
		const far = [...room0.members.values()]
			.filter((m) => room0.routerOf(m)!.workerId !== home)
			.flatMap((m) => [...m.consumers.values()].filter((c) => c.producerId === video.id))[0];
		assert.ok(far, 'a consumer of the video on another worker');
		const plis = async () => (await video.getStats()).reduce((sum, s) => sum + ('pliCount' in s ? s.pliCount : 0), 0);
		const before = await plis();
		await pollUntil(
			async () => {
				await far.requestKeyFrame();
				return plis();
			},
			(n) => n > before,
			{ what: 'a PLI sent to the publisher', intervalMs: 1000 },
		);
	});

	test('a producer paused on one worker is paused on the others, resumed likewise, and closed everywhere', async () => {
		const owner = serverPeer('span', room[0]!.joined.peerId);
		const video = [...owner.producers.values()].find((p) => p.kind === 'video')!;
		const workers = new Set(consumersOf('span', video.id).map((c) => c.workerId));
		assert.equal(workers.size, 3, 'consumed on all three workers');

		await handlers.pauseProducer(ctx(owner), { producerId: video.id });
		await pollUntil(
			() => Promise.resolve(consumersOf('span', video.id)),
			(list) => list.length === 5 && list.every((c) => c.producerPaused),
			{ what: 'every consumer paused' },
		);
		await handlers.resumeProducer(ctx(owner), { producerId: video.id });
		await pollUntil(
			() => Promise.resolve(consumersOf('span', video.id)),
			(list) => list.every((c) => !c.producerPaused),
			{ what: 'every consumer resumed' },
		);

		const before = tureen.pool.getWorkerStats().reduce((sum, w) => sum + w.pipedProducers, 0);
		await handlers.closeProducer(ctx(owner), { producerId: video.id });
		audioOnly.add(owner.peerId);
		assert.deepEqual(consumersOf('span', video.id), [], 'no consumer of it left on any worker');
		await pollUntil(
			() => Promise.resolve(tureen.pool.getWorkerStats().reduce((sum, w) => sum + w.pipedProducers, 0)),
			(n) => n === before - 2,
			{ what: 'its two pipe producers closed' },
		);
	});

	test('kill -9 of one worker moves only its peers; the others never stop receiving', async () => {
		const info = await roomInfo('span');
		const victim = info.workers[1]!.workerId;
		const onVictim = room.filter((p) => workerOf(p) === victim);
		const survivors = room.filter((p) => !onVictim.includes(p));
		assert.equal(onVictim.length, 2);
		const moved: string[] = [];
		for (const peer of room) peer.client.on('roomMoved', () => moved.push(peer.joined.peerId));
		const recovered = onVictim.map((peer) => new Promise<number>((resolve) => peer.client.on('recovered', ({ tookMs }) => resolve(tookMs))));

		// What survivors receive from each other, sampled while the victim's peers recover.
		const survivorIds = survivors.map((p) => p.joined.peerId);
		const sample = async () => {
			const all = await receivedFrom(survivors);
			return survivors.map((p) => survivorIds.filter((id) => id !== p.joined.peerId).map((id) => all.get(p.joined.peerId)!.get(id)?.audio ?? 0));
		};
		const killedAt = Date.now();
		process.kill(tureen.pool.getWorker(victim)!.pid!, 'SIGKILL');
		let previous = await sample();
		const samples: number[][][] = [previous];
		const tookMs = Promise.all(recovered);
		let done = false;
		void tookMs.then(() => (done = true));
		// At least 3 s, however fast the recovery, so a stall would show.
		while ((!done || Date.now() - killedAt < 3000) && Date.now() - killedAt < 30_000) {
			await new Promise((resolve) => setTimeout(resolve, 500));
			const now = await sample();
			now.forEach((row, i) => row.forEach((n, j) => assert.ok(n > previous[i]![j]!, `survivor ${survivorIds[i]} kept receiving from its peers (${previous[i]![j]} -> ${n})`)));
			samples.push(now);
			previous = now;
		}
		const times = await tookMs;
		console.log(`spanning kill -9: moved peers recovered in ${times.join(', ')} ms; survivors sampled ${samples.length} times, never stalled`);
		assert.deepEqual(moved.sort(), onVictim.map((p) => p.joined.peerId).sort(), 'only the victim\'s peers got roomMoved');
		const after = await roomInfo('span');
		assert.ok(!after.workers.some((w) => w.workerId === victim) || tureen.pool.getWorker(victim)!.alive, 'the dead worker is no longer listed');
		assert.equal(after.peerCount, 6);
		await expectFullMesh(room);
	});

	test('draining a worker moves only its peers, after DRAIN_TIMEOUT_MS', async () => {
		const drained = workerOf(room[1]!)!;
		const onDrained = room.filter((p) => workerOf(p) === drained);
		const moved: string[] = [];
		for (const peer of room) peer.client.on('roomMoved', ({ reason }) => moved.push(`${peer.joined.peerId}:${reason}`));
		const recovered = onDrained.map((peer) => new Promise<number>((resolve) => peer.client.on('recovered', ({ tookMs }) => resolve(tookMs))));
		const response = await fetch(`${baseUrl}/workers/${drained}/drain`, { method: 'POST' });
		assert.equal(response.status, 200);
		const times = await Promise.all(recovered);
		console.log(`spanning drain: ${onDrained.length} moved peers recovered in ${times.join(', ')} ms`);
		assert.deepEqual(moved.sort(), onDrained.map((p) => `${p.joined.peerId}:worker-drained`).sort());
		assert.ok(!(await roomInfo('span')).workers.some((w) => w.workerId === drained), 'no router of the room left on the drained worker');
		await expectFullMesh(room);
		await fetch(`${baseUrl}/workers/${drained}/undrain`, { method: 'POST' });
	});
});
