// Hardening finding 2, one peer exhausts a worker's ports (issue 10): with no
// cap on transports one peer made 970 transports, after which every peer on
// that worker got INTERNAL for new transports while /ready stayed 200 and
// placement kept choosing it; one peer also made 300 producers and 500
// consumers of one producer. Tested here: per-peer caps on
// transports, producers and consumers answer LIMIT_REACHED naming the limit;
// a worker out of ports answers NO_PORTS_AVAILABLE, says so in /workers and
// /metrics, and placement sends new rooms elsewhere.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { ResponseMessage } from '../../src/protocol/messages.ts';
import type { Tureen } from '../../src/server.ts';
import { fakeConnection, type FakeSocket } from '../support/fakeSocket.ts';
import { assertLimit, opusRtpParameters } from '../support/media.ts';
import { startTestServer } from '../support/server.ts';

async function joined(tureen: Tureen, roomId: string, name: string): Promise<FakeSocket> {
	const { socket } = fakeConnection(tureen);
	const { rtpCapabilities } = (await socket.request('getRouterRtpCapabilities', { roomId })) as { rtpCapabilities: Record<string, unknown> };
	await socket.request('join', { roomId, displayName: name, rtpCapabilities });
	return socket;
}

describe('per-peer caps: one peer cannot take all the ports of its worker or flood a room with producers and consumers', () => {
	let tureen: Tureen;

	before(async () => {
		({ tureen } = await startTestServer({
			MEDIASOUP_WORKER_COUNT: '1',
			RTC_BASE_PORT: '46300',
			MAX_TRANSPORTS_PER_PEER: '3',
			MAX_PRODUCERS_PER_PEER: '2',
			MAX_CONSUMERS_PER_PEER: '2',
		}));
	});

	after(async () => {
		await tureen?.close();
	});

	it('one peer cannot hold more than MAX_TRANSPORTS_PER_PEER transports', async () => {
		const socket = await joined(tureen, 'caps-transports', 'Greedy');
		for (let i = 0; i < 3; i++) await socket.request('createWebRtcTransport', { direction: 'send' });
		for (let i = 0; i < 20; i++) {
			assertLimit(await socket.reply(socket.deliver('createWebRtcTransport', { direction: 'recv' })), 'transportsPerPeer', 3);
		}
		assert.equal(tureen.pool.workers[0]!.portsInUse, 3);
		socket.hangUp();
	});

	it('producers and consumers per peer are capped too', async () => {
		const producer = await joined(tureen, 'caps-media', 'Prod');
		const { transportId } = (await producer.request('createWebRtcTransport', { direction: 'send' })) as { transportId: string };
		const producerIds: string[] = [];
		for (let i = 0; i < 2; i++) {
			const data = (await producer.request('produce', { transportId, kind: 'audio', rtpParameters: opusRtpParameters(100 + i) })) as { producerId: string };
			producerIds.push(data.producerId);
		}
		assertLimit(await producer.reply(producer.deliver('produce', { transportId, kind: 'audio', rtpParameters: opusRtpParameters(200) })), 'producersPerPeer', 2);

		const consumer = await joined(tureen, 'caps-media', 'Cons');
		const recv = (await consumer.request('createWebRtcTransport', { direction: 'recv' })) as { transportId: string };
		await consumer.request('consume', { producerId: producerIds[0]!, transportId: recv.transportId });
		await consumer.request('consume', { producerId: producerIds[1]!, transportId: recv.transportId });
		const recv2 = (await consumer.request('createWebRtcTransport', { direction: 'recv' })) as { transportId: string };
		assertLimit(await consumer.reply(consumer.deliver('consume', { producerId: producerIds[0]!, transportId: recv2.transportId })), 'consumersPerPeer', 2);
		producer.hangUp();
		consumer.hangUp();
	});
});

describe('port exhaustion is a known state: reported and avoided by placement, not answered INTERNAL', () => {
	let tureen: Tureen;
	let baseUrl: string;

	before(async () => {
		// Worker 0 has 4 ports per protocol; two peers with 2 transports each fill it.
		({ tureen, baseUrl } = await startTestServer({ MEDIASOUP_WORKER_COUNT: '2', RTC_BASE_PORT: '46400', RTC_PORTS_PER_WORKER: '4' }));
	});

	after(async () => {
		await tureen?.close();
	});

	it('NO_PORTS_AVAILABLE when the range is full; /workers, /metrics and placement know', async () => {
		const a = await joined(tureen, 'ports-full', 'A');
		const workerId = tureen.rooms.getRoom('ports-full')!.workerId;
		const b = await joined(tureen, 'ports-full', 'B');
		const c = await joined(tureen, 'ports-full', 'C');
		const replies: ResponseMessage[] = [];
		for (const socket of [a, b, c]) {
			for (const direction of ['send', 'recv'] as const) replies.push(await socket.reply(socket.deliver('createWebRtcTransport', { direction })));
		}
		const codes = replies.map((r) => (r.ok ? 'ok' : r.error.code));
		assert.deepEqual(codes.slice(0, 4), ['ok', 'ok', 'ok', 'ok']);
		assert.deepEqual(codes.slice(4), ['NO_PORTS_AVAILABLE', 'NO_PORTS_AVAILABLE'], codes.join());

		const { workers } = (await (await fetch(`${baseUrl}/workers`)).json()) as { workers: { workerId: number; ports: { mode: string; inUse: number; capacity: number; exhausted: boolean } }[] };
		assert.deepEqual(workers[workerId]!.ports, { mode: 'range', inUse: 4, capacity: 4, exhausted: true });
		const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
		assert.match(metrics, new RegExp(`tureen_worker_rtc_ports_exhausted\\{worker_id="${workerId}"\\} 1`));
		assert.match(metrics, new RegExp(`tureen_worker_rtc_ports_in_use\\{worker_id="${workerId}"\\} 4`));

		// The other worker gets every new room, even once it has more rooms.
		const other = 1 - workerId;
		for (let i = 0; i < 3; i++) {
			const { room } = await tureen.rooms.getOrCreateRoom(`ports-elsewhere-${i}`);
			assert.equal(room.workerId, other);
		}

		// A closed transport frees its ports and clears the state.
		a.hangUp();
		const after = tureen.pool.getWorkerStats()[workerId]!.ports;
		assert.deepEqual(after, { mode: 'range', inUse: 2, capacity: 4, exhausted: false });
		b.hangUp();
		c.hangUp();
	});
});
