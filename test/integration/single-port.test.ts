// RTC_PORT_MODE=single with real workers and real WebRTC clients: every
// transport of a worker shares its WebRtcServer's one UDP and one TCP port.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { Tureen } from '../../src/server.ts';
import { pollUntil } from '../support/demoPage.ts';
import { joinNodePeer, type NodePeer } from '../support/nodeClient.ts';
import { startTestServer } from '../support/server.ts';
import { tcpListenPortsOf, udpPortsOf } from '../support/sockets.ts';

const BASE = 47300;
let tureen: Tureen;
let baseUrl: string;
const peers: NodePeer[] = [];

before(async () => {
	({ tureen, baseUrl } = await startTestServer({ MEDIASOUP_WORKER_COUNT: '2', RTC_PORT_MODE: 'single', RTC_BASE_PORT: String(BASE), ROOM_IDLE_TIMEOUT_MS: '2000' }));
});

after(async () => {
	for (const peer of peers) await peer.leave().catch(() => undefined);
	await tureen?.close();
});

/** Every peer of the room hears every other one, and sees the room's first peer (the only one sending video). */
async function expectMedia(room: NodePeer[]): Promise<void> {
	const videoFrom = room[0]!.joined.peerId;
	for (const peer of room) {
		const others = room.filter((p) => p !== peer).map((p) => p.joined.peerId);
		await pollUntil(
			() => peer.packetsByPeer(),
			(byPeer) => others.every((id) => (byPeer.get(id)?.audio ?? 0) > 0 && (id !== videoFrom || (byPeer.get(id)?.video ?? 0) > 0)),
			{ what: `${peer.joined.peerId} receiving from ${others.length} peers`, timeoutMs: 40_000 },
		);
	}
}

async function joinRoom(roomId: string, count: number): Promise<NodePeer[]> {
	const room: NodePeer[] = [];
	for (let i = 0; i < count; i++) {
		const peer = await joinNodePeer({ baseUrl, roomId, displayName: `${roomId}-${i}`, publish: { audio: true, video: i === 0 } });
		peers.push(peer);
		room.push(peer);
	}
	return room;
}

function pidOf(workerId: number): number {
	const pid = tureen.pool.getWorker(workerId)?.pid;
	assert.ok(pid, `worker ${workerId} has a live process`);
	return pid;
}

test('2 workers, 10 peers: media flows and each worker process binds exactly one UDP port (and listens on one TCP port), base + workerId', async () => {
	const rooms = [await joinRoom('single-a', 5), await joinRoom('single-b', 5)];
	const workers = rooms.map((room) => room[0]!.joined.workerId);
	assert.deepEqual([...new Set(workers)].sort(), [0, 1], 'the two rooms are on the two workers');
	await Promise.all(rooms.map(expectMedia));

	for (const workerId of [0, 1]) {
		const pid = pidOf(workerId);
		assert.deepEqual(await udpPortsOf(pid, process.pid), [BASE + workerId], `worker ${workerId} (pid ${pid}) UDP ports`);
		assert.deepEqual(await tcpListenPortsOf(pid, process.pid), [BASE + workerId], `worker ${workerId} (pid ${pid}) TCP listen ports`);
	}
	const stats = tureen.pool.getWorkerStats();
	for (const w of stats) {
		assert.deepEqual(w.portRange, { min: BASE + w.workerId, max: BASE + w.workerId });
		assert.deepEqual(w.ports, { mode: 'single', inUse: 1, capacity: 1, exhausted: false });
	}
	// Placement does not see the shared port as filling up.
	assert.ok(tureen.pool.snapshots().every((s) => s.portUse === 0));
});

test('a worker killed with SIGKILL comes back listening on the same port, and carries media again', async () => {
	const workerId = 1;
	const oldPid = pidOf(workerId);
	const respawned = new Promise<void>((resolve) => tureen.pool.on('workerRespawned', (id) => id === workerId && resolve()));
	process.kill(oldPid, 'SIGKILL');
	await respawned;
	const newPid = pidOf(workerId);
	// The test process's own WebRTC sockets (no close-on-exec) are inherited by the respawned worker: not counted as its ports.
	assert.notEqual(newPid, oldPid);
	assert.deepEqual(await udpPortsOf(newPid, process.pid), [BASE + workerId], 'respawned worker UDP ports');
	assert.deepEqual(await tcpListenPortsOf(newPid, process.pid), [BASE + workerId], 'respawned worker TCP listen ports');
	const listen = tureen.pool.getWorker(workerId)!.webRtcTransportListen();
	assert.ok('webRtcServer' in listen && !listen.webRtcServer.closed, 'a new WebRtcServer for the respawned worker');

	// The old peers recover elsewhere; a new room can land on the respawned worker and carry media there.
	tureen.pool.setDraining(0, true);
	try {
		const room = await joinRoom('single-after-respawn', 2);
		assert.equal(room[0]!.joined.workerId, workerId);
		await expectMedia(room);
	} finally {
		tureen.pool.setDraining(0, false);
	}
});
