// Worker CPU is measured, and placement acts on it: one worker is loaded with
// real RTP (a plain transport fed from a UDP socket, forwarded to several
// consumers), its CPU reading must rise above the idle worker's, and with
// equal room counts the next room must go to the idle one. No timing
// assertions: bounded polling until the readings say so.
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, test } from 'node:test';

import type { types as ms } from 'mediasoup';

import type { Tureen } from '../../src/server.ts';
import { pollUntil } from '../support/demoPage.ts';
import { startTestServer } from '../support/server.ts';

const CPU_SIMILAR_THRESHOLD = 0.02;
const CONSUMERS = 10;
const PACKETS_PER_TICK = 60;
const TICK_MS = 5;

let tureen: Tureen | undefined;
const sockets: Socket[] = [];
after(async () => {
	for (const socket of sockets) socket.close();
	await tureen?.close();
});

function rtpPacket(seq: number, ssrc: number): Buffer {
	const packet = Buffer.alloc(12 + 160, 0x55);
	packet[0] = 0x80;
	packet[1] = 100;
	packet.writeUInt16BE(seq & 0xffff, 2);
	packet.writeUInt32BE((seq * 960) >>> 0, 4);
	packet.writeUInt32BE(ssrc, 8);
	return packet;
}

async function udpSocket(): Promise<Socket> {
	const socket = createSocket('udp4');
	sockets.push(socket);
	socket.bind(0, '127.0.0.1');
	await once(socket, 'listening');
	return socket;
}

/** Feeds RTP into `router` and forwards it to CONSUMERS plain consumers; returns a stop function. */
async function loadRouter(router: ms.Router): Promise<() => void> {
	const ssrc = 0x1234;
	const ingest = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
	const producer = await ingest.produce({
		kind: 'audio',
		rtpParameters: {
			codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
			encodings: [{ ssrc }],
		},
	});
	const sink = await udpSocket();
	sink.on('message', () => undefined);
	for (let i = 0; i < CONSUMERS; i++) {
		const out = await router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
		await out.connect({ ip: '127.0.0.1', port: sink.address().port });
		await out.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
	}
	const source = await udpSocket();
	const port = ingest.tuple.localPort;
	let seq = 0;
	const timer = setInterval(() => {
		for (let i = 0; i < PACKETS_PER_TICK; i++) source.send(rtpPacket(seq++, ssrc), port, '127.0.0.1');
	}, TICK_MS);
	return () => clearInterval(timer);
}

test('a loaded worker shows a higher CPU reading, and with equal room counts placement avoids it', async () => {
	({ tureen } = await startTestServer({
		MEDIASOUP_WORKER_COUNT: '2',
		RTC_BASE_PORT: '40000',
		CPU_SAMPLE_INTERVAL_MS: '200',
		CPU_SIMILAR_THRESHOLD: String(CPU_SIMILAR_THRESHOLD),
	}));
	const server = tureen;
	const hot = (await server.rooms.getOrCreateRoom('hot')).room;
	const cold = (await server.rooms.getOrCreateRoom('cold')).room;
	assert.notEqual(hot.workerId, cold.workerId, 'one room per worker');
	const hotWorker = server.pool.getWorker(hot.workerId)!;
	const coldWorker = server.pool.getWorker(cold.workerId)!;

	const stop = await loadRouter(hot.router);
	try {
		const cpu = await pollUntil(
			() => Promise.resolve({ hot: hotWorker.cpuUsageAverage, cold: coldWorker.cpuUsageAverage }),
			(cpu) => cpu.hot > cpu.cold + 2 * CPU_SIMILAR_THRESHOLD,
			{ timeoutMs: 30_000, what: 'the loaded worker to read more CPU than the idle one' },
		);
		console.log(`CPU average under load: loaded worker ${cpu.hot.toFixed(3)}, idle worker ${cpu.cold.toFixed(3)} (fraction of a core)`);
		const stats = server.pool.getWorkerStats();
		assert.ok(stats[hot.workerId]!.cpuUsageAvg > stats[cold.workerId]!.cpuUsageAvg, '/stats shows it too');
		// Equal room counts, and the cold worker was used last: only CPU can send the room there.
		assert.ok(coldWorker.lastUsedAt >= hotWorker.lastUsedAt);
		const { room } = await server.rooms.getOrCreateRoom('next');
		assert.equal(room.workerId, cold.workerId, 'the new room avoids the loaded worker');
	} finally {
		stop();
	}
});

test('a room of ROOM_SPREAD_MIN_PEERS peers whose worker stays above ROOM_SPREAD_CPU puts new peers on another worker, and folds back when they leave', async () => {
	const spreadCpu = 0.05;
	const { tureen: server } = await startTestServer({
		MEDIASOUP_WORKER_COUNT: '2',
		RTC_BASE_PORT: '43500',
		RTC_PORTS_PER_WORKER: '200',
		CPU_SAMPLE_INTERVAL_MS: '200',
		ROOM_SPREAD_CPU: String(spreadCpu),
		ROOM_SPREAD_MIN_PEERS: '2',
	});
	try {
		const room = (await server.rooms.getOrCreateRoom('busy')).room;
		const home = room.workerId;
		const seats = [await room.takeSeat()];
		assert.equal(seats[0]!.router.workerId, home, 'the first peer takes the room\'s router');

		const stop = await loadRouter(room.router);
		try {
			const hot = server.pool.getWorker(home)!;
			const cpu = await pollUntil(
				() => Promise.resolve(hot.cpuUsageAverage),
				(avg) => avg > 2 * spreadCpu,
				{ timeoutMs: 30_000, what: `the room's worker averaging above ${spreadCpu} of a core` },
			);
			console.log(`room's worker at ${cpu.toFixed(3)} of a core (5-sample average): the third peer goes elsewhere`);
			seats.push(await room.takeSeat());
			assert.equal(seats[1]!.router.workerId, home, 'one peer is below ROOM_SPREAD_MIN_PEERS: the hot worker still takes the second');
			const spread = await room.takeSeat();
			assert.notEqual(spread.router.workerId, home, 'two peers: a new router on the other worker');
			assert.deepEqual(room.routers.map((r) => r.workerId), [home, spread.router.workerId]);
			spread.release();
			assert.deepEqual(room.routers.map((r) => r.workerId), [home], 'the unused router closed: the room folded back');
		} finally {
			stop();
			for (const seat of seats) seat.release();
		}
	} finally {
		await server.close();
	}
});
