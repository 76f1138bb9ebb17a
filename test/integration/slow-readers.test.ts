// Hardening finding 3, slow readers (issue 10): replies were sent without
// looking at bufferedAmount, so 40 sockets that stopped reading grew the
// server from 155 to 447 MiB in 60 s, not given back after they closed.
// Tested here: a socket whose client stops reading must not
// make the server buffer without bound. Over WS_MAX_BUFFERED_BYTES it gets
// no more non-essential notifications (replies and essential ones still go);
// if it stays over for SLOW_READER_TIMEOUT_MS, or passes 4x the bound, it is
// cut. The socket is a fake whose buffered amount the test sets, so nothing
// depends on kernel buffer sizes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Tureen } from '../../src/server.ts';
import { fakeConnection, type FakeSocket } from '../support/fakeSocket.ts';
import { startTestServer } from '../support/server.ts';

const BOUND = 65536;
// Long enough that a busy machine finishes each step well inside it.
const GRACE_MS = 3000;

async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

describe('slow readers: a client that stops reading cannot make the server buffer without bound', () => {
	let tureen: Tureen;
	let caps: Record<string, unknown>;

	before(async () => {
		({ tureen } = await startTestServer({
			MEDIASOUP_WORKER_COUNT: '1',
			RTC_BASE_PORT: '46500',
			WS_MAX_BUFFERED_BYTES: String(BOUND),
			SLOW_READER_TIMEOUT_MS: String(GRACE_MS),
		}));
		const { socket } = fakeConnection(tureen);
		caps = ((await socket.request('getRouterRtpCapabilities', { roomId: 'slow' })) as { rtpCapabilities: Record<string, unknown> }).rtpCapabilities;
		socket.hangUp();
	});

	after(async () => {
		await tureen?.close();
	});

	const join = async (roomId: string, name: string): Promise<FakeSocket> => {
		const { socket } = fakeConnection(tureen);
		await socket.request('join', { roomId, displayName: name, rtpCapabilities: caps });
		return socket;
	};

	it('over the bound: notifications dropped, replies kept; cut after the grace time', async () => {
		const slow = await join('slow-1', 'Slow');
		slow.bufferedAmount = BOUND + 1;
		const sentBefore = slow.sent.length;
		// 10 peers join and leave: 20 notifications the slow reader would have buffered.
		for (let i = 0; i < 10; i++) (await join('slow-1', `P${i}`)).hangUp();
		assert.equal(slow.sent.length, sentBefore, 'no peerJoined/peerLeft queued for a socket over the bound');
		// A reply is essential: the client asked for it.
		await slow.request('getRouterRtpCapabilities', { roomId: 'slow-1' });
		await waitFor(() => slow.closeInfo !== undefined, 'the slow reader to be cut');
		assert.equal((slow.closeInfo as FakeSocket['closeInfo'])?.terminated, true, 'terminated, not a close frame queued behind the backlog');
		assert.equal(tureen.rooms.getRoom('slow-1')?.members.size ?? 0, 0, 'and it left the room');
	});

	it('a reader that catches up within the grace time is kept', async () => {
		const reader = await join('slow-2', 'Reader');
		reader.bufferedAmount = BOUND + 1;
		(await join('slow-2', 'Other')).hangUp();
		reader.bufferedAmount = 0;
		await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 500));
		assert.equal(reader.closeInfo, undefined);
		(await join('slow-2', 'Third')).hangUp();
		assert.ok(reader.sent.some((m) => 'notification' in m && m.notification === 'peerJoined' && (m.data as { displayName?: string }).displayName === 'Third'));
		reader.hangUp();
	});

	it('far over the bound (4x) it is cut at once', async () => {
		const flooded = await join('slow-3', 'Flooded');
		flooded.bufferedAmount = 4 * BOUND + 1;
		(await join('slow-3', 'Trigger')).hangUp();
		assert.equal(flooded.closeInfo?.terminated, true);
	});
});
