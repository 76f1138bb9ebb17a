// The bench's seam (src/benchSeam.ts) on a real server: participants that
// joined over /ws get PlainTransports, produce and consume on them with the
// protocol's own requests, and RTP sent into one comes out of the other. The
// bench is not run by CI; this keeps its one way in working when the rooms
// and participants behind it change.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import type dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';

import type { types as ms } from 'mediasoup';

import { SignallingClient } from '../../bench/signallingClient.ts';
import { openBenchSeam, type BenchSeam } from '../../src/benchSeam.ts';
import type { Tureen } from '../../src/server.ts';
import { startTestServer } from '../support/server.ts';
import { bindSocket, isBweProbe, isRtcp, sendTo } from '../support/udp.ts';

const OPUS_PT = 100;
const SSRC = 0x5eed_0001;
const LISTEN: ms.PlainTransportOptions = { listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: true, comedia: true };

function opusPacket(seq: number): Buffer {
	const header = Buffer.alloc(12);
	header[0] = 0x80;
	header[1] = OPUS_PT;
	header.writeUInt16BE(seq, 2);
	header.writeUInt32BE(seq * 960, 4);
	header.writeUInt32BE(SSRC, 8);
	return Buffer.concat([header, Buffer.from([0x08, 1, 2, 3, 4, 5, 6, 7])]);
}

describe('bench seam', () => {
	let tureen: Tureen;
	let baseUrl: string;
	let seam: BenchSeam;
	const clients: SignallingClient[] = [];
	const sockets: dgram.Socket[] = [];

	before(async () => {
		({ tureen, baseUrl } = await startTestServer({ MEDIASOUP_WORKER_COUNT: '1' }));
		seam = openBenchSeam(tureen);
	});

	after(async () => {
		for (const client of clients) client.close();
		for (const socket of sockets) socket.close();
		await tureen.close();
	});

	async function participant(roomId: string, displayName: string): Promise<{ client: SignallingClient; peerId: string }> {
		const client = await SignallingClient.connect(baseUrl);
		clients.push(client);
		const { rtpCapabilities } = await client.request('getRouterRtpCapabilities', { roomId });
		const { peerId } = await client.request('join', { roomId, displayName, rtpCapabilities: rtpCapabilities as Record<string, unknown> });
		return { client, peerId };
	}

	it('carries RTP from a participant producing on one plain transport to one consuming on another', async () => {
		const roomId = 'seam-media';
		const publisher = await participant(roomId, 'publisher');
		const send = await seam.createPlainTransport({ roomId, peerId: publisher.peerId, direction: 'send', options: LISTEN });
		const { producerId } = await publisher.client.request('produce', {
			transportId: send.transportId,
			kind: 'audio',
			rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: SSRC }] },
		});

		const sink = await bindSocket();
		sockets.push(sink);
		const received: Buffer[] = [];
		sink.on('message', (packet) => {
			if (!isRtcp(packet) && !isBweProbe(packet)) received.push(packet);
		});
		const subscriber = await participant(roomId, 'subscriber');
		const recv = await seam.createPlainTransport({
			roomId,
			peerId: subscriber.peerId,
			direction: 'recv',
			options: { ...LISTEN, comedia: false },
			connect: { ip: '127.0.0.1', port: sink.address().port },
		});
		const consumer = await subscriber.client.request('consume', { producerId, transportId: recv.transportId });
		await subscriber.client.request('resumeConsumer', { consumerId: consumer.consumerId });

		const source = await bindSocket();
		sockets.push(source);
		for (let seq = 1; seq <= 20 && received.length === 0; seq++) {
			await sendTo(source, opusPacket(seq), send.port);
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
		assert.ok(received.length > 0, 'no RTP reached the consuming participant');
		const ssrc = (consumer.rtpParameters as ms.RtpParameters).encodings?.[0]?.ssrc;
		assert.equal(received[0]!.readUInt32BE(8), ssrc);
	});

	it('refuses a peer that is not in the room', async () => {
		await participant('seam-other', 'someone');
		await assert.rejects(seam.createPlainTransport({ roomId: 'seam-other', peerId: 'nobody', direction: 'send', options: LISTEN }), /no participant nobody/);
	});
});
