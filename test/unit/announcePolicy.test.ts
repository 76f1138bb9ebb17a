import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { nextFlushAt, queueAnnouncement, type Announcement } from '../../src/limits/announcePolicy.ts';
import type { NotificationMessage } from '../../src/protocol/messages.ts';
import { Announcer } from '../../src/services/participants/announcer.ts';

const joined = (peerId: string, displayName = peerId): Announcement => ({ kind: 'joined', peerId, displayName });
const left = (peerId: string): Announcement => ({ kind: 'left', peerId });
const queue = (...all: Announcement[]) => [...all.reduce((p, a) => queueAnnouncement(p, a), new Map<string, Announcement>()).values()];

describe('announcement coalescing policy', () => {
	it('a join then a leave cancel; a leave then a join is the join; repeats keep the last', () => {
		assert.deepEqual(queue(joined('a'), left('a')), []);
		assert.deepEqual(queue(left('a'), joined('a', 'A2')), [joined('a', 'A2')]);
		assert.deepEqual(queue(left('a'), left('a')), [left('a')]);
		assert.deepEqual(queue(joined('a', 'x'), joined('a', 'y')), [joined('a', 'y')]);
		assert.deepEqual(queue(left('a'), joined('a'), left('a')), []);
	});

	it('keeps the order peers were first queued in, and peers apart', () => {
		assert.deepEqual(queue(joined('a'), joined('b'), left('c'), left('a')), [joined('b'), left('c')]);
	});

	it('any sequence of churn of one peer nets to at most one announcement', () => {
		for (let mask = 0; mask < 1 << 8; mask++) {
			const seq = Array.from({ length: 8 }, (_, i) => ((mask >> i) & 1 ? joined('a') : left('a')));
			assert.ok(queue(...seq).length <= 1);
		}
	});

	it('flushes at once after a quiet window, else one window after the last flush', () => {
		assert.equal(nextFlushAt(undefined, 500, 250), 500);
		assert.equal(nextFlushAt(100, 350, 250), 350);
		assert.equal(nextFlushAt(100, 200, 250), 350);
	});
});

describe('Announcer', () => {
	function setup(windowMs: number) {
		const sent: NotificationMessage[] = [];
		let scope: unknown = 'room';
		const announcer = new Announcer({ send: (m) => sent.push(m), scope: () => scope, windowMs });
		return { sent, announcer, setScope: (s: unknown) => void (scope = s) };
	}
	const pj = (peerId: string): NotificationMessage => ({ notification: 'peerJoined', data: { peerId, displayName: peerId } });
	const pl = (peerId: string): NotificationMessage => ({ notification: 'peerLeft', data: { peerId } });
	const names = (sent: NotificationMessage[]) => sent.map((m) => `${m.notification}:${(m.data as { peerId?: string }).peerId ?? ''}`);

	it('the first announcement goes at once; the rest of the window is coalesced and flushed at its end', async () => {
		const { sent, announcer } = setup(40);
		announcer.notify(pj('a'));
		announcer.notify(pj('b'));
		announcer.notify(pl('b'));
		announcer.notify(pl('a'));
		assert.deepEqual(names(sent), ['peerJoined:a']);
		await new Promise((resolve) => setTimeout(resolve, 70));
		assert.deepEqual(names(sent), ['peerJoined:a', 'peerLeft:a']);
	});

	it('a notification naming a peer whose join is queued sends that join first; others pass at once', () => {
		const { sent, announcer } = setup(10_000);
		announcer.notify(pj('a'));
		announcer.notify(pj('b'));
		announcer.notify({ notification: 'newProducer', data: { producerId: 'p', peerId: 'b', kind: 'audio', source: 'microphone', paused: false } });
		announcer.notify({ notification: 'serverDraining', data: { deadlineMs: 1 } } as NotificationMessage);
		assert.deepEqual(names(sent), ['peerJoined:a', 'peerJoined:b', 'newProducer:b', 'serverDraining:']);
	});

	it('announcements queued in a room the member has left are dropped; window 0 sends everything at once', async () => {
		const { sent, announcer, setScope } = setup(30);
		announcer.notify(pj('a'));
		announcer.notify(pj('b'));
		setScope(undefined);
		await new Promise((resolve) => setTimeout(resolve, 50));
		assert.deepEqual(names(sent), ['peerJoined:a']);
		const direct = setup(0);
		for (const m of [pj('a'), pl('a'), pj('a')]) direct.announcer.notify(m);
		assert.equal(direct.sent.length, 3);
	});
});
