import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Device } from 'mediasoup-client';

import { REHOME_ATTEMPTS } from '../../client/nodeRoute.ts';
import { entryRoutes, RoomEntry } from '../../client/roomEntry.ts';
import type { Request } from '../../client/signallingSession.ts';
import type { Method } from '../../src/protocol/messages.ts';

const GIVEN = 'ws://lb/ws';

describe('entryRoutes: where each try into the room goes', () => {
	it('a first join tries the URL the app gave, once', () => {
		assert.deepEqual(entryRoutes({ kind: 'join' }, GIVEN, ['ws://b/ws']), [{ via: 'newSocket', url: GIVEN }]);
	});

	it('a room move stays on the socket it has (the peer is still joined)', () => {
		assert.deepEqual(entryRoutes({ kind: 'moved', workerId: 2, reason: 'worker-died' }, GIVEN, ['ws://b/ws']), [{ via: 'sameSocket' }]);
	});

	it('a rehome goes round the suggested node, the given URL and the alternates, REHOME_ATTEMPTS times', () => {
		const routes = entryRoutes({ kind: 'rehome', reason: 'server draining', preferredUrl: 'ws://c/ws' }, GIVEN, ['ws://b/ws', 'ws://c/ws']);
		assert.equal(routes.length, REHOME_ATTEMPTS);
		const urls = routes.map((route) => (route.via === 'newSocket' ? route.url : 'same socket'));
		assert.deepEqual(urls.slice(0, 4), ['ws://c/ws', GIVEN, 'ws://b/ws', 'ws://c/ws']);
	});

	it('a rehome with no suggestion and no alternates keeps trying the given URL', () => {
		const routes = entryRoutes({ kind: 'rehome', reason: 'connection lost' }, GIVEN, []);
		assert.ok(routes.every((route) => route.via === 'newSocket' && route.url === GIVEN));
	});
});

/** A room behind a fake session: logs each step the entry takes and each event it raises. */
function fakeRoom({ cluster = false } = {}) {
	const log: string[] = [];
	const events: { event: string; data: unknown }[] = [];
	const state = { capabilities: { codecs: ['vp8'] } as unknown, unreachable: new Set<string>(), failing: new Set<string>(), joins: 0 };
	const roomState = { roomId: 'r', workerId: 2, peers: [], producers: [], dataProducers: [] };
	const request = (async (method: Method) => {
		log.push(method);
		if (state.failing.has(method)) throw new Error(`${method} refused`);
		switch (method) {
			case 'getRouterRtpCapabilities':
				return { rtpCapabilities: state.capabilities, workerId: 2 };
			case 'join':
				state.joins += 1;
				return { ...roomState, workerId: 1, peerId: `p${state.joins}`, ...(cluster ? { node: { nodeId: 'n1', alternates: ['ws://b/ws'] } } : {}) };
			case 'getRoomState':
				return roomState;
			default:
				return {};
		}
	}) as Request;
	const entry = new RoomEntry({
		url: GIVEN,
		session: {
			request,
			async openRoom(url) {
				log.push(`open ${url}`);
				if (state.unreachable.has(url)) throw new Error(`${url} unreachable`);
				return state.capabilities;
			},
			drop: () => log.push('drop socket'),
		},
		createDevice: async () => {
			log.push('new device');
			return { load: async () => undefined, rtpCapabilities: {} } as unknown as Device;
		},
		media: {
			expect: () => log.push('expect producers'),
			close: () => log.push('close media'),
			open: async (waitForMedia) => void log.push(waitForMedia ? 'open media, wait for it' : 'open media'),
		},
		emit: (event, ...args) => void events.push({ event, data: args[0] }),
	});
	return { entry, log, events, state };
}

const JOIN = { roomId: 'r', displayName: 'Ada' };

describe('RoomEntry: join, room moves and rehoming take one path', () => {
	it('join: a socket to the given URL, a Device for the router, join, then the media', async () => {
		const { entry, log, events } = fakeRoom();
		const joined = await entry.join(JOIN);
		assert.deepEqual(log, [`open ${GIVEN}`, 'new device', 'join', 'expect producers', 'open media']);
		assert.equal(joined.peerId, 'p1');
		assert.equal(entry.workerId, 1);
		assert.deepEqual(events, []);
	});

	it('a move to a router with the same capabilities keeps the Device and the membership: the room state, then the media', async () => {
		const { entry, log, events } = fakeRoom();
		await entry.join(JOIN);
		log.length = 0;
		entry.reenter({ kind: 'moved', workerId: 2, reason: 'worker-died' });
		await entry.settled();
		assert.deepEqual(log, ['close media', 'getRouterRtpCapabilities', 'getRoomState', 'expect producers', 'open media, wait for it']);
		assert.deepEqual(events.map((e) => e.event), ['roomMoved', 'recovered']);
		assert.equal(entry.workerId, 2);
		assert.equal(entry.peerId, 'p1');
	});

	it('a move to a router with other capabilities loads a new Device and joins again on the same socket', async () => {
		const { entry, log, state } = fakeRoom();
		await entry.join(JOIN);
		log.length = 0;
		state.capabilities = { codecs: ['h264'] };
		entry.reenter({ kind: 'moved', workerId: 2, reason: 'worker-drained' });
		await entry.settled();
		assert.deepEqual(log, ['close media', 'getRouterRtpCapabilities', 'leave', 'new device', 'join', 'expect producers', 'open media, wait for it']);
		assert.equal(entry.peerId, 'p2');
	});

	it('a move that fails is an error event, no recovered, and later entries still run', async () => {
		const { entry, events, state } = fakeRoom();
		await entry.join(JOIN);
		state.failing.add('getRoomState');
		entry.reenter({ kind: 'moved', workerId: 2, reason: 'worker-died' });
		await entry.settled();
		assert.deepEqual(events.map((e) => e.event), ['roomMoved', 'error']);
		assert.deepEqual(events[1]!.data, { during: 'recovery', workerId: 2, error: new Error('getRoomState refused') });
		state.failing.clear();
		entry.reenter({ kind: 'moved', workerId: 3, reason: 'worker-died' });
		await entry.settled();
		assert.equal(events.at(-1)!.event, 'recovered');
	});

	it('a rehome drops the socket, tries the suggested node, then the given URL, and joins there with the Device it has', async () => {
		const { entry, log, events, state } = fakeRoom({ cluster: true });
		await entry.join(JOIN);
		log.length = 0;
		state.unreachable.add('ws://c/ws');
		entry.reenter({ kind: 'rehome', reason: 'server draining', preferredUrl: 'ws://c/ws' });
		await entry.settled();
		assert.deepEqual(log, [
			'drop socket',
			'close media',
			'open ws://c/ws',
			'drop socket',
			'close media',
			`open ${GIVEN}`,
			'join',
			'expect producers',
			'open media, wait for it',
		]);
		assert.deepEqual(events.map((e) => e.event), ['reconnecting', 'error', 'recovered']);
		assert.deepEqual(events[1]!.data, { during: 'reconnect', url: 'ws://c/ws', attempt: 0, error: new Error('ws://c/ws unreachable') });
		assert.equal(entry.peerId, 'p2');
	});

	it('a lost connection rehomes only in a cluster, and not once the app has left', async () => {
		const single = fakeRoom();
		await single.entry.join(JOIN);
		assert.equal(single.entry.rehomesAfter(1006), false);
		const clustered = fakeRoom({ cluster: true });
		await clustered.entry.join(JOIN);
		assert.equal(clustered.entry.rehomesAfter(1006), true);
		assert.equal(clustered.entry.rehomesAfter(4409), false, 'the server ended this session');
		clustered.entry.leave();
		assert.equal(clustered.entry.rehomesAfter(1006), false);
	});

	it('a join that fails rejects, and leaves the way clear for the next one', async () => {
		const { entry, state } = fakeRoom();
		state.failing.add('join');
		await assert.rejects(entry.join(JOIN), /join refused/);
		state.failing.clear();
		assert.equal((await entry.join(JOIN)).peerId, 'p1');
	});
});
