import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { candidateUrls, openRoomChannel, rehomeDelayMs, shouldRehome, type RoutableChannel } from '../../client/nodeRoute.ts';
import { SignallingError } from '../../client/signallingChannel.ts';

/** A channel to one fake node: owns `owned` rooms, redirects the others to `redirectTo`. */
function fakeNode(name: string, log: string[], answer: { owns: boolean; redirectTo?: string }): RoutableChannel {
	return {
		async request(method, data) {
			log.push(`${name}:${method}:${JSON.stringify(data)}`);
			if (answer.owns) return { rtpCapabilities: { from: name }, workerId: 0 } as never;
			throw new SignallingError('WRONG_NODE', 'elsewhere', { nodeId: 'x', signallingUrl: answer.redirectTo ?? 'ws://nowhere/ws', url: answer.redirectTo ?? 'ws://nowhere/ws' });
		},
		close() {
			log.push(`${name}:close`);
		},
	};
}

describe('openRoomChannel', () => {
	it('stays on a node that owns the room', async () => {
		const log: string[] = [];
		const { rtpCapabilities } = await openRoomChannel('ws://a/ws', { roomId: 'r', token: 't' }, async () => fakeNode('a', log, { owns: true }));
		assert.deepEqual(rtpCapabilities, { from: 'a' });
		assert.deepEqual(log, ['a:getRouterRtpCapabilities:{"roomId":"r","token":"t"}']);
	});

	it('follows one WRONG_NODE to the owner, closing the first channel', async () => {
		const log: string[] = [];
		const nodes: Record<string, RoutableChannel> = {
			'ws://a/ws': fakeNode('a', log, { owns: false, redirectTo: 'ws://b/ws' }),
			'ws://b/ws': fakeNode('b', log, { owns: true }),
		};
		const { channel, rtpCapabilities } = await openRoomChannel('ws://a/ws', { roomId: 'r' }, async (url) => nodes[url]!);
		assert.equal(channel, nodes['ws://b/ws']);
		assert.deepEqual(rtpCapabilities, { from: 'b' });
		assert.deepEqual(log, ['a:getRouterRtpCapabilities:{"roomId":"r"}', 'a:close', 'b:getRouterRtpCapabilities:{"roomId":"r"}']);
	});

	it('a second WRONG_NODE in a row is an error (loop guard); the last channel is left to the caller', async () => {
		const log: string[] = [];
		const nodes: Record<string, RoutableChannel> = {
			'ws://a/ws': fakeNode('a', log, { owns: false, redirectTo: 'ws://b/ws' }),
			'ws://b/ws': fakeNode('b', log, { owns: false, redirectTo: 'ws://a/ws' }),
		};
		await assert.rejects(openRoomChannel('ws://a/ws', { roomId: 'r' }, async (url) => nodes[url]!), { name: 'SignallingError', code: 'WRONG_NODE' });
		assert.deepEqual(log.filter((l) => l.endsWith('close')), ['a:close']);
		assert.equal(log.filter((l) => l.includes('getRouterRtpCapabilities')).length, 2);
	});

	it('other errors are not followed, and the channel stays open', async () => {
		const channel: RoutableChannel = {
			request: async () => {
				throw new SignallingError('ROOM_FULL', 'full');
			},
			close() {
				assert.fail('closed');
			},
		};
		let opened = 0;
		await assert.rejects(
			openRoomChannel('ws://a/ws', { roomId: 'r' }, async () => {
				opened += 1;
				return channel;
			}),
			{ code: 'ROOM_FULL' },
		);
		assert.equal(opened, 1);
	});
});

describe('reconnection plan', () => {
	it('tries the suggested node, then the URL the app gave, then the alternates, each once', () => {
		assert.deepEqual(candidateUrls('ws://c/ws', 'ws://lb/ws', ['ws://b/ws', 'ws://c/ws']), ['ws://c/ws', 'ws://lb/ws', 'ws://b/ws']);
		assert.deepEqual(candidateUrls(undefined, 'ws://lb/ws', []), ['ws://lb/ws']);
	});

	it('backs off from 250 ms doubling to 4 s, within ±25 % jitter', () => {
		const mid = () => 0.5;
		assert.deepEqual([0, 1, 2, 3, 4, 5, 11].map((a) => rehomeDelayMs(a, mid)), [250, 500, 1000, 2000, 4000, 4000, 4000]);
		assert.equal(rehomeDelayMs(0, () => 0), 188);
		assert.equal(rehomeDelayMs(4, () => 0.999999), 5000);
	});

	it('reconnects after a lost or relocated connection, never after a decision about the client', () => {
		for (const code of [1001, 1006, 1011, 1012, 1013, 4012]) assert.equal(shouldRehome(code), true, String(code));
		for (const code of [1000, 1008, 4401, 4403, 4408, 4409]) assert.equal(shouldRehome(code), false, String(code));
	});
});
