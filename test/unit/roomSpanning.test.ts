// A room over several routers on fake workers: seats taken at the same time
// see each other, empty routers close (the room folds back), moves touch only
// the peers of one worker, and producer pipes are made once per (producer,
// router) and forgotten when they close or fail.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { types as ms } from 'mediasoup';

import { Room, type PeerPlacer } from '../../src/services/rooms/room.ts';
import { PIPE_SOCKET_BUFFER_BYTES, ProducerPipes } from '../../src/services/rooms/producerPipes.ts';
import { placePeer } from '../../src/services/workers/peerPlacement.ts';
import type { WorkerSnapshot } from '../../src/services/workers/placement.ts';
import { fakeMember, FakeRouter, FakeTransport, FakeWorker } from '../support/fakeMedia.ts';

/** Three fake workers placed by the real policy, with a cap of `cap` peers per router. */
function placer(cap: number): PeerPlacer & { workers: FakeWorker[]; dead: Set<number> } {
	const workers = [new FakeWorker(), new FakeWorker(), new FakeWorker()];
	const dead = new Set<number>();
	return {
		workers,
		dead,
		placePeerInRoom(routers) {
			const snapshots: WorkerSnapshot[] = workers.map((_, workerId) => ({
				workerId,
				alive: !dead.has(workerId),
				draining: false,
				roomCount: 0,
				cpu: 0,
				lastUsedAt: 0,
			}));
			const placed = placePeer(snapshots, routers, { cpuSimilarThreshold: 0.1, roomSpreadCpu: 0.6, roomSpreadMinPeers: 1, maxPeersPerRouter: cap });
			if (!placed) throw Object.assign(new Error('nowhere'), { code: 'NO_WORKER_AVAILABLE' });
			return { ...placed, worker: workers[placed.workerId] as unknown as ms.Worker };
		},
	};
}

const member = fakeMember;

async function spanningRoom(cap: number, peers: number) {
	const place = placer(cap);
	const home = (await place.workers[0]!.createRouter()) as unknown as FakeRouter;
	const room = new Room('r', 0, home.asRouter(), place);
	const seats = await Promise.all(Array.from({ length: peers }, () => room.takeSeat()));
	const members = seats.map((seat, i) => {
		const m = member(`p${i}`);
		room.addMember(m, seat);
		return m;
	});
	return { room, place, members };
}

const layout = (room: Room) => room.routers.map((r) => [r.workerId, r.members.size]);

describe('Room over several routers (fake workers)', () => {
	it('joins at the same time see each other\'s seats: 5 peers with a cap of 2 fill 3 routers 2, 2, 1', async () => {
		const { room } = await spanningRoom(2, 5);
		assert.deepEqual(layout(room), [[0, 2], [1, 2], [2, 1]]);
		assert.equal(room.workerId, 0, 'the oldest router is the home');
	});

	it('a router left with no peers closes, and the room folds back; the last router stays', async () => {
		const { room, members } = await spanningRoom(2, 4);
		const second = room.routers[1]!;
		room.removeMember(members[2]!);
		assert.equal(second.closed, false);
		room.removeMember(members[3]!);
		assert.equal(second.router!.closed, true, 'the empty router closed');
		assert.deepEqual(layout(room), [[0, 2]]);
		room.removeMember(members[0]!);
		room.removeMember(members[1]!);
		assert.deepEqual(layout(room), [[0, 0]], 'an empty room keeps its home router until it closes');
	});

	it('a seat given back unused closes the router opened for it', async () => {
		const { room } = await spanningRoom(2, 2);
		const seat = await room.takeSeat();
		assert.equal(seat.router.workerId, 1);
		seat.release();
		seat.release();
		assert.deepEqual(layout(room), [[0, 2]]);
		assert.equal(seat.router.router!.closed, true);
	});

	it('an unused home closes once the first peer entered another router', async () => {
		const place = placer(0 as number);
		const home = (await place.workers[0]!.createRouter()) as unknown as FakeRouter;
		const room = new Room('r', 0, home.asRouter(), place);
		room.addMember(member('a'), await room.takeSeat());
		assert.equal(home.closed, true);
		assert.deepEqual(layout(room), [[1, 1]]);
		assert.equal(room.workerId, 1);
	});

	it('moving off a worker touches only the peers placed there', async () => {
		const { room, place, members } = await spanningRoom(2, 4);
		const moved: unknown[] = [];
		room.on('moved', (...args) => moved.push(args));
		place.dead.add(1);
		await room.moveOff(1, 'worker-died');
		assert.deepEqual(members.map((m) => m.movedTo), [[], [], ['2:worker-died'], ['2:worker-died']]);
		assert.deepEqual(layout(room), [[0, 2], [2, 2]]);
		assert.deepEqual(moved, [[1, 2, 'worker-died']]);
		assert.ok(members.every((m) => m.closedWith.length === 0));
	});

	it('moving an empty room off its only worker opens a new home', async () => {
		const place = placer(2);
		const home = (await place.workers[0]!.createRouter()) as unknown as FakeRouter;
		const room = new Room('r', 0, home.asRouter(), place);
		place.dead.add(0);
		await room.moveOff(0, 'worker-drained');
		assert.equal(home.closed, true);
		assert.deepEqual(layout(room), [[1, 0]]);
		assert.equal(room.workerId, 1);
	});

	it('closing the room closes every router', async () => {
		const { room, members } = await spanningRoom(1, 3);
		const routers = room.routers.map((r) => r.router!);
		room.close('deleted');
		assert.ok(routers.every((r) => r.closed));
		assert.ok(members.every((m) => m.closedWith[0] === 'deleted'));
	});
});

describe('ProducerPipes (fake routers)', () => {
	async function published() {
		const source = new FakeRouter();
		const target = new FakeRouter();
		const producer = await new FakeTransport(source, {}).produce({ kind: 'video' });
		return { source, target, producer, pipes: new ProducerPipes() };
	}

	it('one pipe per (producer, router) however many consumers ask at once', async () => {
		const { source, target, producer, pipes } = await published();
		let open!: () => void;
		source.pipeGate = new Promise((resolve) => (open = resolve));
		const asks = Array.from({ length: 10 }, () => pipes.ensure({ producerId: producer.id }, source.asRouter(), target.asRouter()));
		open();
		await Promise.all(asks);
		assert.equal(source.pipeCalls.length, 1);
		assert.ok(target.producers.has(producer.id));
		await pipes.ensure({ producerId: producer.id }, source.asRouter(), target.asRouter());
		assert.equal(source.pipeCalls.length, 1, 'an open pipe is reused');
	});

	it('pipes listen on loopback with large socket buffers (one pipe socket carries many producers)', async () => {
		const { source, target, producer, pipes } = await published();
		await pipes.ensure({ producerId: producer.id }, source.asRouter(), target.asRouter());
		assert.deepEqual(source.pipeCalls[0]?.listenInfo, { protocol: 'udp', ip: '127.0.0.1', recvBufferSize: PIPE_SOCKET_BUFFER_BYTES, sendBufferSize: PIPE_SOCKET_BUFFER_BYTES });
		assert.ok(PIPE_SOCKET_BUFFER_BYTES >= 1024 * 1024);
	});

	it('forgets the pipe when the producer closes, so a later ask fails cleanly', async () => {
		const { source, target, producer, pipes } = await published();
		await pipes.ensure({ producerId: producer.id }, source.asRouter(), target.asRouter());
		producer.close();
		assert.equal(pipes.size, 0);
		assert.equal(target.producers.has(producer.id), false, 'the pipe producer went with it');
		source.producers.delete(producer.id);
		await assert.rejects(pipes.ensure({ producerId: producer.id }, source.asRouter(), target.asRouter()), { code: 'NOT_FOUND' });
		assert.equal(pipes.size, 0);
	});

	it('a failed pipe is forgotten, and the next ask makes it anew', async () => {
		const { source, target, producer, pipes } = await published();
		source.pipeError = new Error('pipe transport failed');
		await assert.rejects(pipes.ensure({ producerId: producer.id }, source.asRouter(), target.asRouter()), { code: 'NOT_FOUND' });
		assert.equal(pipes.size, 0);
		source.pipeError = undefined;
		await pipes.ensure({ producerId: producer.id }, source.asRouter(), target.asRouter());
		assert.equal(source.pipeCalls.length, 2);
	});

	it('a closed router is refused without asking mediasoup', async () => {
		const { source, target, producer, pipes } = await published();
		target.close();
		await assert.rejects(pipes.ensure({ producerId: producer.id }, source.asRouter(), target.asRouter()), { code: 'NOT_FOUND' });
		assert.equal(source.pipeCalls.length, 0);
	});
});
