// The signalling WebSocket between peers, on a real server (one real
// mediasoup worker) with raw `ws` clients: ownership of transports, producers
// and consumers, parameters mediasoup refuses, rate limits, membership
// notifications and the cleanup that follows a closed socket.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { opusRtpParameters } from '../support/media.ts';
import { assertError, assertOk, inputServer, pollUntil } from '../support/signallingInput.ts';
import type { WsTestClient } from '../support/wsClient.ts';

describe('signalling between peers (1 worker, MAX_PEERS_PER_ROOM=2)', () => {
	const server = inputServer(59000);
	const { open, rtpCapabilities, join, createTransport } = server;

	describe('ownership between peers', () => {
		let a: WsTestClient;
		let b: WsTestClient;
		let aPeerId: string;
		let aSend: string;
		let aRecv: string;
		let bSend: string;
		let bRecv: string;
		let aProducer: string;
		let bProducer: string;
		let aConsumer: string;
		const roomId = 'input-owners';

		const produce = (client: WsTestClient, transportId: string, ssrc: number) =>
			client.request('produce', { transportId, kind: 'audio', rtpParameters: opusRtpParameters(ssrc) });

		before(async () => {
			a = await open();
			b = await open();
			aPeerId = (await join(a, roomId, 'A')).peerId;
			await join(b, roomId, 'B');
			aSend = await createTransport(a, 'send');
			aRecv = await createTransport(a, 'recv');
			bSend = await createTransport(b, 'send');
			bRecv = await createTransport(b, 'recv');
			aProducer = (assertOk(await produce(a, aSend, 1111)).data as { producerId: string }).producerId;
			bProducer = (assertOk(await produce(b, bSend, 2222)).data as { producerId: string }).producerId;
			const consumed = assertOk(await a.request('consume', { producerId: bProducer, transportId: aRecv })).data as { consumerId: string };
			aConsumer = consumed.consumerId;
			assert.equal(typeof aConsumer, 'string');
		});

		after(async () => {
			await Promise.all([a.close(), b.close()]);
		});

		it("each side heard of the other's producer", async () => {
			const heardByB = await b.waitForNotification('newProducer', 5000, (m) => m.data.producerId === aProducer);
			assert.deepEqual(heardByB.data, { producerId: aProducer, peerId: aPeerId, kind: 'audio', source: 'microphone', paused: false });
			const heardByA = await a.waitForNotification('newProducer', 5000, (m) => m.data.producerId === bProducer);
			assert.equal(heardByA.data.kind, 'audio');
		});

		it('getRoomState lists the other peer and its producers, never the caller', async () => {
			const state = assertOk(await b.request('getRoomState', {})).data as { roomId: string; peers: { peerId: string }[]; producers: { producerId: string; peerId: string }[] };
			assert.equal(state.roomId, roomId);
			assert.deepEqual(state.peers.map((p) => p.peerId), [aPeerId]);
			assert.deepEqual(state.producers.map((p) => [p.producerId, p.peerId]), [[aProducer, aPeerId]]);
			const outsider = await open();
			assertError(await outsider.request('getRoomState', {}), 'NOT_JOINED');
			await outsider.close();
		});

		it("B cannot connect, restartIce, produce or consume on A's transports (NOT_FOUND)", async () => {
			const aTransport = server.tureen.rooms.getRoom(roomId)?.members.get(aPeerId)?.transports.get(aSend);
			assert.ok(aTransport, "A's send transport exists server-side");
			for (const transportId of [aSend, aRecv]) {
				const dtlsParameters = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA:BB' }] };
				assertError(await b.request('connectWebRtcTransport', { transportId, dtlsParameters }), 'NOT_FOUND');
				assertError(await b.request('restartIce', { transportId }), 'NOT_FOUND');
				assertError(await produce(b, transportId, 3333), 'NOT_FOUND');
				assertError(await b.request('consume', { producerId: aProducer, transportId }), 'NOT_FOUND');
			}
			assert.equal(aTransport.closed, false);
			assert.equal(aTransport.dtlsState, 'new', "B's connect did not reach A's transport");
		});

		it("B cannot pause, resume or close A's producer (NOT_FOUND), and it is untouched", async () => {
			assertError(await b.request('pauseProducer', { producerId: aProducer }), 'NOT_FOUND');
			assertError(await b.request('closeProducer', { producerId: aProducer }), 'NOT_FOUND');
			assertError(await b.request('resumeProducer', { producerId: aProducer }), 'NOT_FOUND');
			const producer = server.tureen.rooms.getRoom(roomId)?.members.get(aPeerId)?.producers.get(aProducer);
			assert.ok(producer, "A's producer still exists");
			assert.equal(producer.closed, false);
			assert.equal(producer.paused, false);
			// The owner may: and B hears of it.
			assertOk(await a.request('pauseProducer', { producerId: aProducer }));
			const paused = await b.waitForNotification('producerPaused', 5000, (m) => m.data.producerId === aProducer);
			assert.equal(paused.data.peerId, aPeerId);
			assertOk(await a.request('resumeProducer', { producerId: aProducer }));
		});

		it("B cannot resume A's consumer (NOT_FOUND)", async () => {
			assertError(await b.request('resumeConsumer', { consumerId: aConsumer }), 'NOT_FOUND');
			const consumer = server.tureen.rooms.getRoom(roomId)?.members.get(aPeerId)?.consumers.get(aConsumer);
			assert.ok(consumer);
			assert.equal(consumer.paused, true, 'still paused as created');
			assertOk(await a.request('resumeConsumer', { consumerId: aConsumer }));
			assert.equal(consumer.paused, false);
		});

		it('a peer of another room cannot touch them either', async () => {
			const c = await open();
			await join(c, 'input-owners-elsewhere', 'C');
			const cRecv = await createTransport(c, 'recv');
			assertError(await c.request('consume', { producerId: aProducer, transportId: cRecv }), 'NOT_FOUND');
			assertError(await c.request('closeProducer', { producerId: aProducer }), 'NOT_FOUND');
			assertError(await c.request('restartIce', { transportId: aSend }), 'NOT_FOUND');
			assertError(await c.request('resumeConsumer', { consumerId: aConsumer }), 'NOT_FOUND');
			await c.close();
		});

		it('produce on a recv transport gets BAD_REQUEST; so do consume on a send transport and consuming oneself', async () => {
			assertError(await produce(b, bRecv, 4444), 'BAD_REQUEST');
			assertError(await b.request('consume', { producerId: aProducer, transportId: bSend }), 'BAD_REQUEST');
			assertError(await b.request('consume', { producerId: bProducer, transportId: bRecv }), 'BAD_REQUEST');
			assertError(await b.request('consume', { producerId: 'no-such-producer', transportId: bRecv }), 'NOT_FOUND');
		});

		it('the owner closing its producer tells the other side, and the consumer goes with it', async () => {
			assertOk(await b.request('closeProducer', { producerId: bProducer }));
			const closed = await a.waitForNotification('consumerClosed', 5000, (m) => m.data.consumerId === aConsumer);
			assert.equal(closed.data.producerId, bProducer);
			await a.waitForNotification('producerClosed', 5000, (m) => m.data.producerId === bProducer);
			// Both at once, consumerClosed first: nothing about it arrives later.
			const order = a.notifications.filter((m) => m.notification === 'consumerClosed' || m.notification === 'producerClosed').map((m) => m.notification);
			assert.deepEqual(order.slice(-2), ['consumerClosed', 'producerClosed']);
			assertError(await b.request('closeProducer', { producerId: bProducer }), 'NOT_FOUND');
			assertError(await a.request('resumeConsumer', { consumerId: aConsumer }), 'NOT_FOUND');
		});
	});

	describe('parameters mediasoup refuses', () => {
		it('get MEDIA_ERROR with mediasoup\'s reason, never INTERNAL', async () => {
			const client = await open();
			await join(client, 'input-media', 'M');
			const send = await createTransport(client, 'send');
			const recv = await createTransport(client, 'recv');
			const produce = (rtpParameters: Record<string, unknown>) => client.request('produce', { transportId: send, kind: 'audio', rtpParameters });
			assertOk(await produce(opusRtpParameters(5000)));

			// Refused by the worker with a plain Error (these were INTERNAL before).
			const duplicateSsrc = await produce(opusRtpParameters(5000));
			assertError(duplicateSsrc, 'MEDIA_ERROR');
			assert.match((duplicateSsrc as { error: { message: string } }).error.message, /ssrc already exists/);
			assertOk(await produce({ ...opusRtpParameters(5001), mid: 'm1' }));
			assertError(await produce({ ...opusRtpParameters(5002), mid: 'm1' }), 'MEDIA_ERROR');
			const dtlsParameters = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA:BB:CC' }] };
			assertOk(await client.request('connectWebRtcTransport', { transportId: send, dtlsParameters }));
			const connectedTwice = await client.request('connectWebRtcTransport', { transportId: send, dtlsParameters });
			assertError(connectedTwice, 'MEDIA_ERROR');
			assert.match((connectedTwice as { error: { message: string } }).error.message, /already called/);

			// Refused by mediasoup's own validation (TypeError and friends).
			assertError(await produce({ codecs: [{ mimeType: 'video/H265', payloadType: 100, clockRate: 90000 }], encodings: [{ ssrc: 5003 }] }), 'MEDIA_ERROR');
			assertError(await produce({ codecs: {}, encodings: [{ ssrc: 5004 }] }), 'MEDIA_ERROR');
			assertError(await client.request('connectWebRtcTransport', { transportId: recv, dtlsParameters: { role: 'sideways', fingerprints: [] } }), 'MEDIA_ERROR');

			// The transport and the first producer are fine after all that.
			assertOk(await client.request('restartIce', { transportId: send }));
			assert.equal(server.tureen.rooms.getRoom('input-media')?.members.values().next().value?.producers.size, 2);
			await client.close();
		});
	});

	describe('rate limits', () => {
		it('a burst of more than 100 requests on one socket gets RATE_LIMITED replies', async () => {
			const client = await open();
			const BURST = 300;
			// Sent back to back, without waiting: far faster than the 50/s refill.
			const first = client.nextId;
			for (let i = 0; i < BURST; i++) client.sendRaw(JSON.stringify({ id: first + i, method: 'leave', data: {} }));
			const responses = await Promise.all(Array.from({ length: BURST }, (_, i) => client.waitForResponse(first + i, 10_000)));
			const limited = responses.filter((r) => !r.ok && r.error.code === 'RATE_LIMITED');
			const ok = responses.filter((r) => r.ok);
			assert.equal(limited.length + ok.length, BURST, 'every reply is ok or RATE_LIMITED');
			assert.ok(ok.length >= 100, `the first 100 pass (${ok.length} ok)`);
			assert.ok(limited.length >= 1, `some were rate limited (${limited.length})`);
			for (let i = 0; i < 100; i++) assert.equal(responses[i]?.ok, true, `request ${i} of the burst passes`);
			assert.ok(client.isOpen, 'rate limiting does not close the socket');
		});

		it('more than 5 joins in quick succession get RATE_LIMITED', async () => {
			const client = await open();
			const caps = await rtpCapabilities(client, 'input-joins');
			const first = client.nextId;
			for (let i = 0; i < 10; i++) {
				client.sendRaw(JSON.stringify({ id: first + i, method: 'join', data: { roomId: 'input-joins', displayName: 'J', rtpCapabilities: caps } }));
			}
			const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => client.waitForResponse(first + i)));
			const codes = responses.map((r) => (r.ok ? 'ok' : r.error.code));
			assert.deepEqual(codes.slice(0, 5), ['ok', 'ALREADY_JOINED', 'ALREADY_JOINED', 'ALREADY_JOINED', 'ALREADY_JOINED'], codes.join());
			assert.ok(codes.slice(5).includes('RATE_LIMITED'), codes.join());
			assert.ok(codes.slice(5).every((c) => c === 'RATE_LIMITED' || c === 'ALREADY_JOINED'), codes.join());
			// Other requests have their own budget.
			assertOk(await client.request('getRouterRtpCapabilities', { roomId: 'input-joins' }));
			await client.close();
		});
	});

	describe('membership', () => {
		it('peerJoined and peerLeft go between two raw clients', async () => {
			const a = await open();
			const b = await open();
			const aJoin = await join(a, 'input-members', 'Alice');
			assert.deepEqual(aJoin.peers, []);
			const bJoin = await join(b, 'input-members', 'Bob');
			assert.deepEqual(bJoin.peers, [{ peerId: aJoin.peerId, displayName: 'Alice' }]);
			const joined = await a.waitForNotification('peerJoined');
			assert.deepEqual(joined.data, { peerId: bJoin.peerId, displayName: 'Bob' });

			assertOk(await b.request('leave', {}));
			const left = await a.waitForNotification('peerLeft');
			assert.deepEqual(left.data, { peerId: bJoin.peerId });

			// Back in, then gone by closing the socket.
			await join(b, 'input-members', 'Bob');
			await a.waitForNotification('peerJoined');
			await b.close();
			const gone = await a.waitForNotification('peerLeft');
			assert.deepEqual(gone.data, { peerId: bJoin.peerId });
			assert.equal(b.notifications.filter((n) => n.notification === 'peerJoined').length, 0, 'no one joined after Bob');
			await a.close();
		});

		it('a closed socket removes its peer, and the empty room closes after ROOM_IDLE_TIMEOUT_MS with its router', async () => {
			const roomId = 'input-cleanup';
			const peerCount = async (): Promise<number | undefined> => {
				const response = await fetch(`${server.baseUrl}/rooms/${roomId}`, { signal: AbortSignal.timeout(5000) });
				if (response.status === 404) return undefined;
				assert.equal(response.status, 200);
				return ((await response.json()) as { peerCount: number }).peerCount;
			};
			const a = await open();
			const b = await open();
			await join(a, roomId, 'A');
			await join(b, roomId, 'B');
			await createTransport(a, 'send');
			await createTransport(b, 'recv');
			assert.equal(await peerCount(), 2);
			const room = server.tureen.rooms.getRoom(roomId);
			assert.ok(room);
			const routerId = room.router.id;
			const worker = server.tureen.pool.getWorker(room.workerId)?.worker;
			assert.ok(worker);
			assert.ok((await worker.dump()).routerIds.includes(routerId));

			b.terminate();
			await pollUntil(async () => (await peerCount()) === 1, 'peerCount 1 after B is gone');
			assert.ok((await worker.dump()).routerIds.includes(routerId), 'the room lives on with A');

			await a.close();
			await pollUntil(async () => (await peerCount()) === undefined, 'the room to close when idle');
			assert.equal(room.closed, true);
			assert.equal(server.tureen.rooms.getRoom(roomId), undefined);
			await pollUntil(async () => !(await worker.dump()).routerIds.includes(routerId), 'the router to leave the worker');
		});
	});
});
