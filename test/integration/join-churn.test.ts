// Issue 21, findings 5 and 6: join/leave churn flooded every member with
// peerJoined/peerLeft, and the request budget was per socket only. Now each
// member hears coalesced announcements (at most once per
// PEER_ANNOUNCE_WINDOW_MS, a join and leave within it cancelling), joins are
// budgeted per address and per token identity, and requests per address
// across sockets. Fake sockets on a real server: counts, not timings, are
// asserted (bounded by rate x elapsed + one bucket).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { mintJoinToken } from '../../src/auth/joinToken.ts';
import type { NotificationMessage, ResponseMessage } from '../../src/protocol/messages.ts';
import type { Tureen } from '../../src/server.ts';
import { fakeJoin } from '../support/fakeJoin.ts';
import { fakeConnection, type FakeSocket } from '../support/fakeSocket.ts';
import { startTestServer } from '../support/server.ts';

const WINDOW_MS = 250;
const JOIN_SECRET = 'join-churn-secret-0123456789abcdef';

const join = (tureen: Tureen, roomId: string, name: string, options: { ip?: string; token?: string } = {}) => fakeJoin(tureen, roomId, name, options);

const announcements = (socket: FakeSocket) =>
	socket.sent.filter((m): m is NotificationMessage => 'notification' in m && (m.notification === 'peerJoined' || m.notification === 'peerLeft'));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('join churn in open mode (issue 21, findings 5 and 6)', () => {
	let tureen: Tureen;

	before(async () => {
		({ tureen } = await startTestServer({
			MEDIASOUP_WORKER_COUNT: '1',
			RTC_BASE_PORT: '46900',
			RTC_PORTS_PER_WORKER: '100',
			PEER_ANNOUNCE_WINDOW_MS: String(WINDOW_MS),
			MAX_JOINS_PER_IP_PER_MINUTE: '30',
			MAX_REQUESTS_PER_IP_PER_SECOND: '100',
		}));
	});

	after(async () => {
		await tureen?.close();
	});

	it('members hear join/leave churn at most twice per window (100 cycles from fresh sockets of many addresses)', async () => {
		const members = await Promise.all(['m1', 'm2', 'm3'].map((name, i) => join(tureen, 'churn', name, { ip: `10.0.0.${i + 1}` })));
		for (const m of members) assert.equal(m.reply.ok, true);
		await sleep(WINDOW_MS + 50);
		const heardBefore = members.map((m) => announcements(m.socket).length);
		const startedAt = Date.now();
		for (let i = 0; i < 100; i++) {
			// A fresh address each time: no per-address budget applies, only the coalescing.
			const { socket, reply } = await join(tureen, 'churn', `churner ${i}`, { ip: `10.1.${i}.1` });
			assert.equal(reply.ok, true);
			socket.hangUp();
		}
		const seconds = (Date.now() - startedAt) / 1000;
		await sleep(2 * WINDOW_MS);
		// Each flush tells at most the leave of the churner last announced and the join of the current one.
		const maxPerMember = 2 * (1 + Math.ceil((seconds * 1000 + WINDOW_MS) / WINDOW_MS));
		for (const [i, m] of members.entries()) {
			const heard = announcements(m.socket).length - heardBefore[i]!;
			console.log(`member ${i}: ${heard} announcements for 100 churn cycles in ${seconds.toFixed(2)} s (at most ${maxPerMember})`);
			assert.ok(heard <= maxPerMember, `member ${i} heard ${heard} announcements (at most ${maxPerMember})`);
		}
		// Net effect: the members end up knowing no churner (every join they heard of was followed by its leave).
		for (const m of members) {
			const known = new Set<string>();
			for (const a of announcements(m.socket)) {
				if (a.notification === 'peerJoined') known.add(a.data.peerId);
				else if (a.notification === 'peerLeft') known.delete(a.data.peerId);
			}
			const others = members.filter((o) => o !== m).map((o) => (o.reply as { data: { peerId: string } }).data.peerId);
			assert.deepEqual([...known].filter((id) => !others.includes(id)), []);
		}
		for (const m of members) m.socket.hangUp();
	});

	it('joins from fresh sockets of one address stop at MAX_JOINS_PER_IP_PER_MINUTE; another address still joins', async () => {
		const startedAt = Date.now();
		let joined = 0;
		let limited = 0;
		for (let i = 0; i < 50; i++) {
			const { socket, reply } = await join(tureen, 'churn-ip', `churner ${i}`, { ip: '10.0.9.9' });
			if (reply.ok) joined += 1;
			else if (reply.error.code === 'RATE_LIMITED') limited += 1;
			socket.hangUp();
		}
		const seconds = (Date.now() - startedAt) / 1000;
		assert.ok(joined <= 30 + Math.ceil(seconds * 0.5), `${joined} joins admitted in ${seconds.toFixed(2)} s`);
		assert.equal(joined + limited, 50);
		const other = await join(tureen, 'churn-ip', 'newcomer', { ip: '10.0.8.8' });
		assert.equal(other.reply.ok, true);
		other.socket.hangUp();
	});

	it('60 sockets of one address x 100 requests: at most the address budget is answered', async () => {
		const sockets = Array.from({ length: 60 }, () => fakeConnection(tureen, '10.0.7.7').socket);
		const startedAt = Date.now();
		const ids = sockets.map((s) => Array.from({ length: 100 }, () => s.deliver('getRoomState', {})));
		let answered = 0;
		let limited = 0;
		for (const [i, socket] of sockets.entries()) {
			for (const id of ids[i]!) {
				const reply = await socket.reply(id);
				if (!reply.ok && reply.error.code === 'RATE_LIMITED') limited += 1;
				else answered += 1;
			}
		}
		const seconds = (Date.now() - startedAt) / 1000;
		const max = 200 + 100 * seconds;
		console.log(`${answered} of 6000 answered, ${limited} RATE_LIMITED, in ${seconds.toFixed(2)} s (at most ${max.toFixed(0)})`);
		assert.ok(answered <= max, `${answered} answered in ${seconds.toFixed(2)} s (at most ${max.toFixed(0)})`);
		// Another address is not slowed by it.
		const other = fakeConnection(tureen, '10.0.6.6').socket;
		const reply = await other.reply(other.deliver('getRoomState', {}));
		assert.equal(!reply.ok && reply.error.code, 'NOT_JOINED');
		for (const s of [...sockets, other]) s.hangUp();
	});
});

describe('rejoins of one identity (issue 21, finding 5)', () => {
	let tureen: Tureen;

	before(async () => {
		({ tureen } = await startTestServer({
			MEDIASOUP_WORKER_COUNT: '1',
			RTC_BASE_PORT: '47000',
			RTC_PORTS_PER_WORKER: '100',
			JOIN_SECRET,
			MAX_JOINS_PER_IDENTITY_PER_MINUTE: '5',
		}));
	});

	after(async () => {
		await tureen?.close();
	});

	it('one token rejoining (each join replacing the last) is refused past MAX_JOINS_PER_IDENTITY_PER_MINUTE; another identity is not', async () => {
		const token = await mintJoinToken(JOIN_SECRET, { roomId: 'identity', peer: 'looper' }, 600);
		const replies: ResponseMessage[] = [];
		const sockets: FakeSocket[] = [];
		const startedAt = Date.now();
		for (let i = 0; i < 20; i++) {
			const { socket, reply } = await join(tureen, 'identity', 'looper', { token });
			replies.push(reply);
			sockets.push(socket);
		}
		const seconds = (Date.now() - startedAt) / 1000;
		const admitted = replies.filter((r) => r.ok).length;
		assert.ok(admitted >= 1 && admitted <= 5 + Math.ceil((seconds * 5) / 60), `${admitted} of 20 joins admitted`);
		assert.ok(replies.filter((r) => !r.ok).every((r) => !r.ok && r.error.code === 'RATE_LIMITED'));
		const otherToken = await mintJoinToken(JOIN_SECRET, { roomId: 'identity', peer: 'someone-else' }, 600);
		assert.equal((await join(tureen, 'identity', 'else', { token: otherToken })).reply.ok, true);
		for (const s of sockets) s.hangUp();
	});
});
