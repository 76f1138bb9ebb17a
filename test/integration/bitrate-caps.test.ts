// mediasoup 3.32's per-transport bitrate bounds as Tureen applies them:
// MAX_INCOMING_BITRATE on every send (publishing) transport and
// MAX_OUTGOING_BITRATE on every receive (subscribing) transport, checked in
// the options Tureen hands mediasoup and in what the worker itself reports
// (transport.getStats()) once real ICE/DTLS peers are connected; and the
// transports' round-trip time in GET /rooms/:roomId. No timing assertions:
// the polls only wait for the worker to have built its estimators.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';

import type { Tureen } from '../../src/server.ts';
import { pollUntil } from '../support/demoPage.ts';
import { joinNodePeer, type NodePeer } from '../support/nodeClient.ts';
import { startTestServer } from '../support/server.ts';

const MAX_IN = 1_500_000;
const MAX_OUT = 900_000;

type Created = { options: ms.WebRtcTransportOptions; transport: ms.WebRtcTransport };
const created: Created[] = [];

// Every router the server makes records the options of each WebRtcTransport it creates.
function watchRouter(router: ms.Router): void {
	const create = router.createWebRtcTransport.bind(router);
	router.createWebRtcTransport = (async (options: ms.WebRtcTransportOptions) => {
		const transport = await create(options);
		created.push({ options, transport });
		return transport;
	}) as typeof router.createWebRtcTransport;
}
const onWorker = (worker: ms.Worker) => worker.observer.on('newrouter', watchRouter);

let tureen: Tureen;
let baseUrl: string;
const peers: NodePeer[] = [];

before(async () => {
	mediasoup.observer.on('newworker', onWorker);
	({ tureen, baseUrl } = await startTestServer({
		MEDIASOUP_WORKER_COUNT: '1',
		RTC_BASE_PORT: '47300',
		MAX_INCOMING_BITRATE: String(MAX_IN),
		MAX_OUTGOING_BITRATE: String(MAX_OUT),
	}));
});

after(async () => {
	mediasoup.observer.off('newworker', onWorker);
	for (const peer of peers) await peer.leave().catch(() => undefined);
	await tureen?.close();
});

const ofDirection = (direction: 'send' | 'recv') => created.filter((c) => c.transport.appData.direction === direction);

async function stat(transport: ms.WebRtcTransport): Promise<ms.WebRtcTransportStat> {
	const [s] = await transport.getStats();
	assert.ok(s, 'a transport has one stats entry');
	return s;
}

test('the caps go to mediasoup on every transport and the worker enforces them', async () => {
	const publisher = await joinNodePeer({ baseUrl, roomId: 'caps', displayName: 'pub' });
	peers.push(publisher);
	const viewer = await joinNodePeer({ baseUrl, roomId: 'caps', displayName: 'viewer', publish: {} });
	peers.push(viewer);
	await pollUntil(
		() => viewer.packetsByPeer(),
		(byPeer) => (byPeer.get(publisher.joined.peerId)?.video ?? 0) > 0,
		{ what: 'the viewer receiving the publisher\'s video' },
	);

	const sends = ofDirection('send');
	const recvs = ofDirection('recv');
	assert.ok(sends.length >= 1 && recvs.length >= 1, `send and recv transports were created (${created.length})`);
	for (const { options } of sends) {
		assert.equal(options.maxIncomingBitrate, MAX_IN);
		assert.equal(options.maxOutgoingBitrate, undefined);
	}
	for (const { options } of recvs) {
		assert.equal(options.maxOutgoingBitrate, MAX_OUT);
		assert.equal(options.maxIncomingBitrate, undefined);
	}

	// What the worker reports once its estimators exist (after ICE/DTLS and the first producer/consumer).
	const publisherSend = sends.find((c) => c.transport.appData.peerId === publisher.joined.peerId)!.transport;
	const viewerRecv = recvs.find((c) => c.transport.appData.peerId === viewer.joined.peerId)!.transport;
	const inbound = await pollUntil(() => stat(publisherSend), (s) => s.maxIncomingBitrate !== undefined, { what: 'maxIncomingBitrate in the stats' });
	assert.equal(inbound.maxIncomingBitrate, MAX_IN);
	const outbound = await pollUntil(() => stat(viewerRecv), (s) => s.maxOutgoingBitrate !== undefined, { what: 'maxOutgoingBitrate in the stats' });
	assert.equal(outbound.maxOutgoingBitrate, MAX_OUT);
	// The downlink estimate never goes above the bound.
	if (outbound.availableOutgoingBitrate !== undefined) assert.ok(outbound.availableOutgoingBitrate <= MAX_OUT, `available ${outbound.availableOutgoingBitrate}`);
});

test('GET /rooms/:roomId shows each peer\'s transports and, once RTCP has flowed, their round-trip time', async () => {
	type Described = { peers: { peerId: string; transports: { transportId: string; direction?: string; roundTripTime?: number }[] }[] };
	const read = async (): Promise<Described> => (await (await fetch(`${baseUrl}/rooms/caps`)).json()) as Described;
	const room = await pollUntil(
		read,
		(r) => r.peers.some((p) => p.transports.some((t) => typeof t.roundTripTime === 'number')),
		{ what: 'a transport with a roundTripTime' },
	);
	const publisher = room.peers.find((p) => p.peerId === peers[0]!.joined.peerId)!;
	assert.ok(publisher.transports.some((t) => t.direction === 'send'));
	for (const t of room.peers.flatMap((p) => p.transports)) {
		assert.match(t.transportId, /^[0-9a-f-]{36}$/);
		if (t.roundTripTime !== undefined) assert.ok(t.roundTripTime >= 0);
	}
	// The room list stays cheap: it does not ask the workers.
	const list = (await (await fetch(`${baseUrl}/rooms`)).json()) as { rooms: { peers: { transports?: unknown }[] }[] };
	assert.ok(list.rooms.every((r) => r.peers.every((p) => p.transports === undefined)));
});
