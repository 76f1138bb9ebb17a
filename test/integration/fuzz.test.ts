// Seeded fuzzing of a real server (two real mediasoup workers): over 10,000
// WebSocket frames (random JSON of every shape, mutations of valid requests
// for every method, other peers' ids, out-of-order calls, binary, invalid
// UTF-8, empty and oversized frames) on 20 lanes of sockets, then ~500 mutated
// HTTP requests. Every reply must be well-formed; every frame gets exactly one
// reply or a permitted close; nothing answers 500 or INTERNAL; the process
// sees no unhandled rejection or exception; the server still works after.
// Valid requests naming another peer's objects must get NOT_FOUND (or NOT_JOINED),
// every ok reply is checked against the protocol by hand, the victims are
// checked untouched at the end, and a pinned list of hand-written frames must
// get exactly the replies written next to them.
// The seed is fixed: a failure reproduces with the same messages.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { SignallingErrorCode } from '../../src/protocol/messages.ts';
import type { Tureen } from '../../src/server.ts';
import { checkHttpReply, httpCases, rawHttp } from '../support/fuzz/http.ts';
import { runLane, setUpVictims, victimProblems } from '../support/fuzz/lanes.ts';
import { fail, opusRtpParameters, type Stats } from '../support/fuzz/oracle.ts';
import { FRAMES_PER_LANE, HTTP_CASES, LANES, MIN_FOREIGN_REFUSED, MIN_OK_PER_METHOD, SEED } from '../support/fuzz/settings.ts';
import { Rng } from '../support/fuzz/values.ts';
import { startTestServer } from '../support/server.ts';
import { connect, type WsTestClient } from '../support/wsClient.ts';

// The generator, the oracle, the lanes and the HTTP cases are in test/support/fuzz/.

describe('fuzz: WebSocket signalling and HTTP API (seeded)', () => {
	let tureen: Tureen;
	let baseUrl: string;
	let wsUrl: string;
	const processErrors: string[] = [];
	const onUnhandledRejection = (reason: unknown) => processErrors.push(`unhandledRejection: ${String((reason as Error)?.stack ?? reason)}`);
	const onUncaughtException = (error: Error) => processErrors.push(`uncaughtException: ${error.stack ?? error.message}`);
	const leakWarnings: string[] = [];
	const onWarning = (warning: Error) => {
		if (warning.name === 'MaxListenersExceededWarning') leakWarnings.push(warning.message);
	};
	const victimClients: WsTestClient[] = [];
	let fuzzStats: Stats | undefined;

	before(async () => {
		process.on('unhandledRejection', onUnhandledRejection);
		process.on('uncaughtException', onUncaughtException);
		process.on('warning', onWarning);
		({ tureen, baseUrl } = await startTestServer({
			MEDIASOUP_WORKER_COUNT: '2',
			RTC_BASE_PORT: '56000',
			ROOM_IDLE_TIMEOUT_MS: '5000',
			DRAIN_TIMEOUT_MS: '600000',
			// Up to 22 peers share the victims' room: it spreads over workers only if
			// its worker averages a whole core, so a busy machine cannot change the run.
			ROOM_SPREAD_CPU: '1',
			// The fuzz's own messages must not drown the output.
			LOG_LEVEL: 'fatal',
		}));
		wsUrl = `${baseUrl.replace(/^http/, 'ws')}/ws`;
	});

	after(async () => {
		await Promise.all(victimClients.map((c) => c.close()));
		await tureen?.close();
		process.off('unhandledRejection', onUnhandledRejection);
		process.off('uncaughtException', onUncaughtException);
		process.off('warning', onWarning);
	});

	it('pinned cases: hand-written frames get exactly the replies the protocol promises; others\' ids are NOT_FOUND', async () => {
		const { victims, rtpCapabilities, v } = await setUpVictims(wsUrl, 'fuzz-pinned', victimClients);
		const [t0send, t0recv, t1send, t1recv] = victims.transports as [string, string, string, string];
		const [p0, p1] = victims.producers as [string, string];
		const c1 = victims.consumers[0]!;
		const dtls = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }] };
		const me = await connect(wsUrl);
		victimClients.push(me);
		const frame = (id: number, method: string, data: unknown) => JSON.stringify({ id, method, data });
		type Pinned = [payload: string | Buffer, expected: { id: number | null; code: SignallingErrorCode } | { id: number; data: unknown }];
		const check = async (cases: Pinned[]) => {
			for (const [payload, expected] of cases) {
				me.sendRaw(payload, { binary: Buffer.isBuffer(payload) });
				const reply = await me.nextResponse();
				const got = reply.ok ? { id: reply.id, data: reply.data } : { id: reply.id, code: reply.error.code };
				assert.deepEqual(got, expected, `reply to ${String(payload).slice(0, 120)}`);
			}
		};

		// Before joining.
		await check([
			['this is not JSON', { id: null, code: 'INVALID_JSON' }],
			[frame(1, 'fly', {}), { id: 1, code: 'UNKNOWN_METHOD' }],
			['{"id":2,"method":"join"}', { id: 2, code: 'BAD_REQUEST' }],
			[frame(-1, 'leave', {}), { id: null, code: 'BAD_REQUEST' }],
			['{"id":3,"method":"leave","data":{},"extra":1}', { id: null, code: 'BAD_REQUEST' }],
			[Buffer.from(frame(4, 'leave', {})), { id: null, code: 'BAD_REQUEST' }],
			[frame(5, 'createWebRtcTransport', { direction: 'send' }), { id: 5, code: 'NOT_JOINED' }],
			[frame(6, 'leave', {}), { id: 6, data: {} }],
			[frame(7, 'join', { roomId: 'a b', displayName: 'x', rtpCapabilities: {} }), { id: 7, code: 'INVALID_ROOM_ID' }],
			[frame(8, 'createWebRtcTransport', { direction: 'sideways' }), { id: 8, code: 'BAD_REQUEST' }],
			[frame(9, 'restartIce', { transportId: t0send }), { id: 9, code: 'NOT_FOUND' }],
			[frame(10, 'produce', { transportId: t0send, kind: 'audio', rtpParameters: opusRtpParameters(9100) }), { id: 10, code: 'NOT_JOINED' }],
			[frame(11, 'resumeConsumer', { consumerId: c1 }), { id: 11, code: 'NOT_FOUND' }],
			[frame(12, 'pauseProducer', { producerId: p0 }), { id: 12, code: 'NOT_FOUND' }],
		]);

		// Joined to the victims' room, with transports of its own.
		const joined = (await me.requestOk('join', { roomId: victims.roomId, displayName: 'intruder', rtpCapabilities })) as { peerId: string; peers: unknown[]; producers: { producerId: string }[] };
		assert.deepEqual(joined.peers, [
			{ peerId: victims.peerIds[0], displayName: 'victim 0' },
			{ peerId: victims.peerIds[1], displayName: 'victim 1' },
		]);
		assert.deepEqual(joined.producers.map((p) => p.producerId), [p0, p1]);
		const mySend = ((await me.requestOk('createWebRtcTransport', { direction: 'send' })) as { transportId: string }).transportId;
		const myRecv = ((await me.requestOk('createWebRtcTransport', { direction: 'recv' })) as { transportId: string }).transportId;
		await check([
			[frame(20, 'connectWebRtcTransport', { transportId: t0send, dtlsParameters: dtls }), { id: 20, code: 'NOT_FOUND' }],
			[frame(21, 'restartIce', { transportId: t1recv }), { id: 21, code: 'NOT_FOUND' }],
			[frame(22, 'produce', { transportId: t1send, kind: 'audio', rtpParameters: opusRtpParameters(9200) }), { id: 22, code: 'NOT_FOUND' }],
			[frame(23, 'consume', { producerId: p1, transportId: t0recv }), { id: 23, code: 'NOT_FOUND' }],
			[frame(24, 'closeProducer', { producerId: p0 }), { id: 24, code: 'NOT_FOUND' }],
			[frame(25, 'pauseProducer', { producerId: p1 }), { id: 25, code: 'NOT_FOUND' }],
			[frame(26, 'resumeProducer', { producerId: p0 }), { id: 26, code: 'NOT_FOUND' }],
			[frame(27, 'resumeConsumer', { consumerId: c1 }), { id: 27, code: 'NOT_FOUND' }],
			[frame(28, 'join', { roomId: victims.roomId, displayName: 'again', rtpCapabilities }), { id: 28, code: 'ALREADY_JOINED' }],
			[frame(29, 'produce', { transportId: myRecv, kind: 'audio', rtpParameters: opusRtpParameters(9300) }), { id: 29, code: 'BAD_REQUEST' }],
			[frame(30, 'consume', { producerId: p0, transportId: mySend }), { id: 30, code: 'BAD_REQUEST' }],
			[frame(31, 'consume', { producerId: 'no-such-producer', transportId: myRecv }), { id: 31, code: 'NOT_FOUND' }],
		]);
		const consumed = (await me.requestOk('consume', { producerId: p0, transportId: myRecv })) as Record<string, unknown>;
		assert.deepEqual(
			{ producerId: consumed.producerId, peerId: consumed.peerId, kind: consumed.kind, paused: consumed.paused },
			{ producerId: p0, peerId: victims.peerIds[0], kind: 'audio', paused: false },
		);
		const { producerId: mine } = (await me.requestOk('produce', { transportId: mySend, kind: 'audio', rtpParameters: opusRtpParameters(9400) })) as { producerId: string };
		const announced = await v[0]!.waitForNotification('newProducer', undefined, (m) => m.data.producerId === mine);
		assert.deepEqual(announced.data, { producerId: mine, peerId: joined.peerId, kind: 'audio', source: 'microphone', paused: false });
		await check([
			[frame(40, 'consume', { producerId: mine, transportId: myRecv }), { id: 40, code: 'BAD_REQUEST' }],
			[frame(41, 'closeProducer', { producerId: mine }), { id: 41, data: {} }],
			[frame(42, 'closeProducer', { producerId: mine }), { id: 42, code: 'NOT_FOUND' }],
		]);
		assert.deepEqual(victimProblems(tureen, victims), []);
	});

	it(`${LANES} lanes x ${FRAMES_PER_LANE} WebSocket frames and ${HTTP_CASES} HTTP requests leave the server well and every reply well-formed`, async () => {
		const startedAt = Date.now();
		const stats: Stats = (fuzzStats = { wsFrames: 0, answered: 0, foreignRefused: 0, sockets: 0, closes: {}, replies: {}, byMethod: {}, notifications: 0, http: 0, httpStatuses: {}, httpFrameworkShape: {}, failures: [], failureCount: 0 });

		const { victims, rtpCapabilities } = await setUpVictims(wsUrl, 'fuzz-victims', victimClients);

		await Promise.all(Array.from({ length: LANES }, (_, lane) => runLane(lane, wsUrl, victims, rtpCapabilities, stats)));
		const wsDoneAt = Date.now();
		// Before the HTTP phase, which may delete the victims' room.
		for (const problem of victimProblems(tureen, victims)) fail(stats, `after the WebSocket fuzz: ${problem}`);

		const rng = new Rng(SEED ^ 0x4854_5450);
		const cases = httpCases(rng);
		for (let i = 0; i < cases.length; i += 10) {
			const batch = cases.slice(i, i + 10);
			const results = await Promise.all(batch.map((c) => rawHttp(baseUrl, c)));
			batch.forEach((c, j) => checkHttpReply(c, results[j]!, stats));
			stats.http += batch.length;
		}
		for (const { workerId } of tureen.pool.getWorkerStats()) tureen.setWorkerDraining(workerId, false);

		for (const v of victimClients) {
			for (const { text, problem } of v.invalidFrames) fail(stats, `malformed frame to a victim (${problem}): ${text}`);
		}

		const total = stats.wsFrames + stats.http;
		console.log(
			`fuzz: ${total} cases (${stats.wsFrames} WebSocket frames on ${stats.sockets} sockets in ${wsDoneAt - startedAt} ms, ` +
				`${stats.http} HTTP requests in ${Date.now() - wsDoneAt} ms), seed 0x${SEED.toString(16)}\n` +
				`  replies: ${JSON.stringify(stats.replies)}; others' ids refused: ${stats.foreignRefused}\n  valid requests by method: ${JSON.stringify(stats.byMethod)}\n  closes: ${JSON.stringify(stats.closes)}; notifications: ${stats.notifications}\n` +
				`  HTTP statuses: ${JSON.stringify(stats.httpStatuses)}\n` +
				`  HTTP errors in Fastify's own shape: ${JSON.stringify(Object.fromEntries(Object.entries(stats.httpFrameworkShape).map(([k, v]) => [k, v.count])))}`,
		);

		assert.equal(stats.answered, stats.wsFrames, 'every frame got its reply or its expected close');
		assert.ok(stats.answered >= 10_000, `at least 10,000 WebSocket frames answered (${stats.answered})`);
		assert.ok(stats.foreignRefused >= MIN_FOREIGN_REFUSED, `requests naming other peers' objects were tried and refused (${stats.foreignRefused})`);
		for (const method of ['join', 'createWebRtcTransport', 'produce', 'consume', 'closeProducer', 'resumeConsumer'] as const) {
			const ok = stats.byMethod[method]?.ok ?? 0;
			assert.ok(ok >= MIN_OK_PER_METHOD, `valid ${method} requests succeeded and had their replies checked (${ok})`);
		}
		assert.equal(stats.failureCount, 0, `${stats.failureCount} failures, first ones:\n${stats.failures.join('\n')}`);
		assert.deepEqual(processErrors, []);
		// Most frames reached parsing and validation rather than the limiter.
		assert.ok((stats.replies.RATE_LIMITED ?? 0) < stats.wsFrames / 100, `few RATE_LIMITED (${stats.replies.RATE_LIMITED ?? 0})`);
		assert.ok((stats.replies.ok ?? 0) > 500, 'plenty of requests got through to their handlers');
	});

	it(
		"HTTP errors Fastify makes itself (bad URL encoding, over-long params, requests the parser refuses) use the { error: { code, message } } shape",
		() => {
			assert.ok(fuzzStats, 'the fuzz ran');
			const examples = Object.entries(fuzzStats.httpFrameworkShape).map(([kind, { count, example }]) => `${kind} x${count}: ${example}`);
			assert.deepEqual(examples, []);
		},
	);

	it(
		'rooms of more than 10 peers raise no MaxListenersExceededWarning (the lanes and victims share one room)',
		() => {
			assert.deepEqual(leakWarnings, []);
		},
	);

	it('afterwards: /health is 200 and a normal join works', async () => {
		const health = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(10_000) });
		assert.equal(health.status, 200);
		assert.deepEqual(await health.json(), { status: 'ok' });
		const ready = await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(10_000) });
		assert.equal(ready.status, 200);
		await ready.body?.cancel();

		const a = await connect(wsUrl);
		const b = await connect(wsUrl);
		try {
			const { rtpCapabilities } = (await a.requestOk('getRouterRtpCapabilities', { roomId: 'after-fuzz' })) as { rtpCapabilities: Record<string, unknown> };
			const joinedA = (await a.requestOk('join', { roomId: 'after-fuzz', displayName: 'Alice', rtpCapabilities })) as { peerId: string; peers: unknown[] };
			assert.deepEqual(joinedA.peers, []);
			const joinedB = (await b.requestOk('join', { roomId: 'after-fuzz', displayName: 'Bob', rtpCapabilities })) as { peers: unknown[] };
			assert.deepEqual(joinedB.peers, [{ peerId: joinedA.peerId, displayName: 'Alice' }]);
			await a.waitForNotification('peerJoined');
			const transport = (await a.requestOk('createWebRtcTransport', { direction: 'send' })) as { transportId: string };
			assert.equal(typeof transport.transportId, 'string');
		} finally {
			await Promise.all([a.close(), b.close()]);
		}
		assert.deepEqual(processErrors, []);
	});
});
