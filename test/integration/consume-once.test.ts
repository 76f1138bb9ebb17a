// Issue 21, finding 2: one socket consumed one producer 200 times on one
// transport and pulled hundreds of Mbit/s out of the worker. A peer now
// consumes a given producer (or data producer) at most once per transport:
// the repeat answers LIMIT_REACHED consumersPerProducerPerTransport (max 1),
// and the worker holds one consumer, however often it is asked.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Tureen } from '../../src/server.ts';
import { fakeJoined } from '../support/fakeJoin.ts';
import type { FakeSocket } from '../support/fakeSocket.ts';
import { assertLimit, opusRtpParameters } from '../support/media.ts';
import { startTestServer } from '../support/server.ts';

const joined = async (tureen: Tureen, roomId: string, name: string) => (await fakeJoined(tureen, roomId, name)).socket;

const transportOf = async (socket: FakeSocket, direction: 'send' | 'recv') =>
	((await socket.request('createWebRtcTransport', { direction })) as { transportId: string }).transportId;

describe('a producer is consumed once per transport (issue 21, finding 2)', () => {
	let tureen: Tureen;

	before(async () => {
		({ tureen } = await startTestServer({ MEDIASOUP_WORKER_COUNT: '1', RTC_BASE_PORT: '46700', RTC_PORTS_PER_WORKER: '100' }));
	});

	after(async () => {
		await tureen?.close();
	});

	it('90 consumes of one producer on one transport make one consumer; another transport may have its own', async () => {
		const publisher = await joined(tureen, 'once', 'Pub');
		const send = await transportOf(publisher, 'send');
		const { producerId } = (await publisher.request('produce', { transportId: send, kind: 'audio', rtpParameters: opusRtpParameters(1111) })) as { producerId: string };
		const greedy = await joined(tureen, 'once', 'Greedy');
		const recv = await transportOf(greedy, 'recv');
		await greedy.request('consume', { producerId, transportId: recv });
		const ids = Array.from({ length: 89 }, () => greedy.deliver('consume', { producerId, transportId: recv }));
		for (const id of ids) assertLimit(await greedy.reply(id), 'consumersPerProducerPerTransport', 1);
		const other = await transportOf(greedy, 'recv');
		await greedy.request('consume', { producerId, transportId: other });
		const router = await tureen.rooms.getRoom('once')!.router.dump();
		assert.equal(router.mapProducerIdConsumerIds.find((e) => e.key === producerId)?.values.length, 2, 'one consumer per transport');
		publisher.hangUp();
		greedy.hangUp();
	});

	it("a peer's outgoing bitrate is capped across its receive transports (MAX_PEER_OUTGOING_BITRATE, default 100 Mbit/s)", async () => {
		const { socket, connection } = await fakeJoined(tureen, 'outgoing', 'Greedy');
		for (let i = 0; i < 4; i++) await transportOf(socket, 'recv');
		const caps = [...connection.peer.transports.values()].map((t) => t.appData.outgoingBitrateCap);
		assert.deepEqual(caps, [25_000_000, 25_000_000, 25_000_000, 25_000_000], 'the cap split over the 4 receive transports');
		socket.hangUp();
	});

	it('the same for data producers', async () => {
		const publisher = await joined(tureen, 'once-data', 'Pub');
		const send = await transportOf(publisher, 'send');
		const { dataProducerId } = (await publisher.request('produceData', {
			transportId: send,
			sctpStreamParameters: { streamId: 1, ordered: true },
			label: 'chat',
		})) as { dataProducerId: string };
		const greedy = await joined(tureen, 'once-data', 'Greedy');
		const recv = await transportOf(greedy, 'recv');
		await greedy.request('consumeData', { dataProducerId, transportId: recv });
		for (let i = 0; i < 20; i++) {
			assertLimit(await greedy.reply(greedy.deliver('consumeData', { dataProducerId, transportId: recv })), 'consumersPerProducerPerTransport', 1);
		}
		publisher.hangUp();
		greedy.hangUp();
	});
});
