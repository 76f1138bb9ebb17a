// A joining peer hears of its room only after its join answer: what the
// room says while the join runs (the current speaker, say) waits for it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { WebSocket } from 'ws';

import { createLogger } from '../../src/logger.ts';
import type { Participant } from '../../src/services/participants/participant.ts';
import { RoomRegistry } from '../../src/services/room.ts';
import { SignallingConnection, type ConnectionDeps } from '../../src/signalling/connection.ts';
import type { HandlerDeps } from '../../src/signalling/handlerTypes.ts';
import { FakePool, type FakeRouter } from '../support/fakeMedia.ts';
import { FakeSocket } from '../support/fakeSocket.ts';

const CAPS = { codecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 }] };
const LIMITS = { transportsPerPeer: 4, producersPerPeer: 4, consumersPerPeer: 4, dataProducersPerPeer: 2, dataMessageBytes: 16384, incomingBitratePerPeer: 10_000_000, outgoingBitratePerPeer: Infinity };

function serverOnFakes(): { rooms: RoomRegistry<Participant>; deps: ConnectionDeps } {
	const rooms = new RoomRegistry<Participant>({ pool: new FakePool(1), logger: createLogger('silent'), roomIdleTimeoutMs: 60_000, maxRooms: 10, roomsPerIpPerMinute: 10 });
	const host = { workerId: 0, alive: true, webRtcTransportListen: () => ({ listenInfos: [] }), trackTransport: () => undefined, notePortsExhausted: () => undefined };
	const handlerDeps: HandlerDeps = {
		rooms,
		transportHost: () => host,
		authorizeJoin: async () => undefined,
		settings: { maxPeersPerRoom: 10, limits: LIMITS, flood: { peerOutgoingBitrate: 100_000_000 } },
	};
	const deps: ConnectionDeps = {
		handlers: handlerDeps,
		wsMaxMessageBytes: 65536,
		limits: { wsMaxBufferedBytes: 1 << 20, slowReaderTimeoutMs: 10_000, joinTimeoutMs: 10_000, dataMessagesPerSecond: 100, dataBytesPerSecond: 1 << 20, dataMessageBytes: 16384 },
		metrics: { recordSignallingRequest: () => undefined },
		logger: { error: () => undefined },
		clientLog: { warn: () => undefined },
	};
	return { rooms, deps };
}

describe('notifications to a joining peer', () => {
	it('start after its join answer: the current active speaker comes second', async () => {
		const { rooms, deps } = serverOnFakes();
		const speaker = new FakeSocket();
		new SignallingConnection(deps, speaker as unknown as WebSocket, '10.0.0.1');
		await speaker.request('join', { roomId: 'room', displayName: 'Speaker', rtpCapabilities: CAPS });
		const { transportId } = (await speaker.request('createWebRtcTransport', { direction: 'send' })) as { transportId: string };
		const { producerId } = (await speaker.request('produce', { transportId, kind: 'audio', rtpParameters: {} })) as { producerId: string };
		const router = rooms.getRoom('room')!.router as unknown as FakeRouter;
		router.observers[0]!.emit('dominantspeaker', { producer: router.producers.get(producerId) });
		assert.ok(rooms.getRoom('room')!.activeSpeaker, 'the room has a speaker');

		const newcomer = new FakeSocket();
		new SignallingConnection(deps, newcomer as unknown as WebSocket, '10.0.0.2');
		const id = newcomer.deliver('join', { roomId: 'room', displayName: 'Newcomer', rtpCapabilities: CAPS });
		await newcomer.reply(id);
		await new Promise((resolve) => setImmediate(resolve));
		const frames = newcomer.sent.map((m) => ('notification' in m ? m.notification : `reply ${String(m.id)}`));
		assert.deepEqual(frames, [`reply ${id}`, 'activeSpeaker']);
	});
});
