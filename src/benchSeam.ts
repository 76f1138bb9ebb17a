// The benchmark's one way in besides the public protocol (bench/README.md,
// "The seam"). The bench's publishers and light subscribers are ordinary
// participants: they connect to /ws, join, produce, consume and
// resumeConsumer as any client does. The one thing a client cannot ask for
// is a PlainTransport, which replayed RTP (in) and counting UDP sockets (out)
// need instead of ICE and DTLS: this module gives a joined participant one on
// its router, owned like its WebRTC transports (closed when it leaves), so
// that its produce and consume requests may name it.
//
// Nothing under src/ imports this file: a server started by src/index.ts
// never has it. The bench opens it explicitly, on a Tureen it created in its
// own process (bench/serverChild.ts).
import type { types as ms } from 'mediasoup';

import { TureenError } from './errors.ts';
import type { Tureen } from './server.ts';

export type PlainTransportRequest = {
	roomId: string;
	/** The participant, as its join answer named it. */
	peerId: string;
	/** What the participant will do on it: `send` for produce, `recv` for consume. */
	direction: 'send' | 'recv';
	/** mediasoup's options, as the bench wants them (listen address, comedia, SRTP). */
	options: ms.PlainTransportOptions;
	/** Where to send (a `recv` transport without comedia): mediasoup's connect parameters. */
	connect?: { ip: string; port: number; srtpParameters?: ms.SrtpParameters };
};

export type PlainTransportInfo = {
	transportId: string;
	/** The transport's own UDP address (where a `send` transport's RTP goes). */
	ip: string;
	port: number;
};

export type BenchSeam = {
	createPlainTransport(request: PlainTransportRequest): Promise<PlainTransportInfo>;
};

export function openBenchSeam(tureen: Tureen): BenchSeam {
	return {
		async createPlainTransport({ roomId, peerId, direction, options, connect }) {
			const peer = tureen.rooms.getRoom(roomId)?.members.get(peerId);
			if (!peer) throw new TureenError('NOT_FOUND', `no participant ${peerId} in room "${roomId}"`);
			const transport = await peer.createPlainTransport(direction, options, connect);
			return { transportId: transport.id, ip: transport.tuple.localAddress, port: transport.tuple.localPort };
		},
	};
}
