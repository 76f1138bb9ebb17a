// RoomRegistry and Room on fake workers: creation races, idle close,
// moving rooms off a worker and the room caps, with no mediasoup worker.
import assert from 'node:assert/strict';
import { afterEach, describe, it, mock } from 'node:test';

import { createLogger } from '../../src/logger.ts';
import { RoomRegistry } from '../../src/services/room.ts';
import { Room } from '../../src/services/rooms/room.ts';
import { fakeMember, FakePool, FakeRouter } from '../support/fakeMedia.ts';

const IDLE_MS = 30_000;

function registry(pool = new FakePool(2), options: { maxRooms?: number; roomsPerIpPerMinute?: number } = {}) {
	return new RoomRegistry({
		pool,
		logger: createLogger('silent'),
		roomIdleTimeoutMs: IDLE_MS,
		maxRooms: options.maxRooms ?? 100,
		roomsPerIpPerMinute: options.roomsPerIpPerMinute ?? 100,
	});
}

const member = fakeMember;

describe('RoomRegistry (fake workers)', () => {
	afterEach(() => mock.timers.reset());

	it('creates a room once however many ask for it at the same time', async () => {
		const pool = new FakePool(2);
		let open!: () => void;
		pool.slots[0]!.worker.gate = new Promise((resolve) => (open = resolve));
		const rooms = registry(pool);
		const asks = Array.from({ length: 50 }, () => rooms.getOrCreateRoom('same'));
		open();
		const results = await Promise.all(asks);
		assert.equal(pool.slots[0]!.worker.routers.length, 1, 'one router made');
		assert.equal(new Set(results.map((r) => r.room)).size, 1, 'everyone got the same room');
		assert.equal(results.filter((r) => r.created).length, 1, 'exactly one caller created it');
		assert.equal(rooms.rooms.length, 1);
	});

	it('closes a room that stays empty for the idle timeout, and keeps one that someone joined', async () => {
		mock.timers.enable({ apis: ['setTimeout'] });
		const rooms = registry();
		const { room: empty } = await rooms.getOrCreateRoom('empty');
		const { room: busy } = await rooms.getOrCreateRoom('busy');
		busy.addMember(member('a'));
		mock.timers.tick(IDLE_MS);
		assert.equal(empty.closed, true);
		assert.equal(busy.closed, false);
		assert.deepEqual(rooms.rooms.map((r) => r.roomId), ['busy']);
	});

	it('restarts the idle countdown when the last member leaves ("empty"), not before', async () => {
		mock.timers.enable({ apis: ['setTimeout'] });
		const rooms = registry();
		const { room } = await rooms.getOrCreateRoom('r');
		const a = member('a');
		room.addMember(a);
		mock.timers.tick(IDLE_MS - 1);
		room.removeMember(a);
		mock.timers.tick(IDLE_MS - 1);
		assert.equal(room.closed, false, 'a full idle period has not passed since it emptied');
		mock.timers.tick(1);
		assert.equal(room.closed, true);
		assert.deepEqual(a.closedWith, [], 'a member who left is not told the room closed');
	});

	it('moves every room of a worker to another, telling each room, and closes the old router', async () => {
		const pool = new FakePool(2);
		const rooms = registry(pool);
		const { room } = await rooms.getOrCreateRoom('r1');
		await rooms.getOrCreateRoom('r2');
		const oldRouter = room.router as unknown as FakeRouter;
		const moves: unknown[] = [];
		room.on('moved', (...args) => moves.push(args));
		pool.unavailable.add(0);
		await rooms.moveRoomsOff(0, 'worker-died');
		assert.deepEqual(moves, [[0, 1, 'worker-died']]);
		assert.deepEqual(rooms.roomIdsOn(1).sort(), ['r1', 'r2']);
		assert.equal(oldRouter.closed, true);
		assert.equal(room.closed, false);
	});

	it('closes the rooms it cannot move, telling their members why', async () => {
		const pool = new FakePool(1);
		const rooms = registry(pool);
		const { room } = await rooms.getOrCreateRoom('stranded');
		const a = member('a');
		room.addMember(a);
		pool.unavailable.add(0);
		await rooms.moveRoomsOff(0, 'worker-died');
		assert.equal(room.closed, true);
		assert.deepEqual(a.closedWith, ['worker-died']);
		assert.equal(rooms.getRoom('stranded'), undefined);
	});

	it('refuses bad room ids, rooms past MAX_ROOMS or the per-address quota, and new rooms while draining', async () => {
		const rooms = registry(new FakePool(1), { maxRooms: 2, roomsPerIpPerMinute: 1 });
		await assert.rejects(rooms.getOrCreateRoom('bad room'), { code: 'INVALID_ROOM_ID' });
		await rooms.getOrCreateRoom('one', '10.0.0.1');
		await assert.rejects(rooms.getOrCreateRoom('two', '10.0.0.1'), { code: 'LIMIT_REACHED', details: { limit: 'roomsPerIpPerMinute', max: 1 } });
		await rooms.getOrCreateRoom('two', '10.0.0.2');
		await assert.rejects(rooms.getOrCreateRoom('three'), { code: 'LIMIT_REACHED', details: { limit: 'rooms', max: 2 } });
		rooms.stopAcceptingRooms();
		await assert.rejects(rooms.getOrCreateRoom('four'), { code: 'SHUTTING_DOWN' });
		assert.equal((await rooms.getOrCreateRoom('one')).created, false, 'existing rooms are still found');
	});
});

describe('Room membership', () => {
	it("only the room changes its members; 'empty' once the last leaves", () => {
		const room = new Room('r', 0, new FakeRouter().asRouter());
		let empties = 0;
		room.on('empty', () => (empties += 1));
		const a = member('a');
		const b = member('b');
		room.addMember(a);
		room.addMember(b);
		room.removeMember(a);
		assert.equal(empties, 0);
		room.removeMember(a);
		assert.equal(empties, 0, 'removing a member twice changes nothing');
		room.removeMember(b);
		assert.equal(empties, 1);
		assert.equal(room.members.size, 0);
	});

	it('a closed room takes no members and tells the ones it had', () => {
		const room = new Room('r', 0, new FakeRouter().asRouter());
		const a = member('a');
		room.addMember(a);
		room.close('deleted');
		assert.deepEqual(a.closedWith, ['deleted']);
		assert.throws(() => room.addMember(member('b')), { code: 'ROOM_NOT_FOUND' });
	});
});
