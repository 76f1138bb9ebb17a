// The light subscribers' receiving end, in its own process: UDP sockets that
// count the SRTP packets a PlainTransport consumer sends them, per SSRC, and
// the sequence-number gaps (the RTP header is not encrypted by SRTP). It
// costs a few microseconds per packet, against ~100 for a wrtc subscriber
// that decodes, so the server side can be pushed to saturation.
import type dgram from 'node:dgram';

import { serveParent } from './ipc.ts';
import { bindLoopbackUdp, isRtp } from './loopbackUdp.ts';
import { selfCpuMs } from './procStats.ts';

type SsrcCount = { received: number; firstSeq: number; highest: number };
export type SinkCount = { port: number; ssrc: number; received: number; expected: number };
export type SinkSample = { atMs: number; cpuMs: number; counts: SinkCount[] };

const sockets = new Map<number, dgram.Socket>();
const counts = new Map<number, Map<number, SsrcCount>>();

function onPacket(port: number, packet: Buffer): void {
	// RTCP (sender reports) shares the socket with rtcp-mux.
	if (!isRtp(packet)) return;
	const seq = packet.readUInt16BE(2);
	const ssrc = packet.readUInt32BE(8);
	const bySsrc = counts.get(port)!;
	const entry = bySsrc.get(ssrc);
	if (!entry) {
		bySsrc.set(ssrc, { received: 1, firstSeq: seq, highest: seq });
		return;
	}
	entry.received += 1;
	// Extend the 16-bit sequence number around the highest seen so far.
	const delta = ((seq - (entry.highest & 0xffff) + 0x8000) & 0xffff) - 0x8000;
	if (delta > 0) entry.highest += delta;
}

async function open({ count }: { count: number }): Promise<{ ports: number[] }> {
	const ports: number[] = [];
	for (let i = 0; i < count; i++) {
		const socket = await bindLoopbackUdp(1024 * 1024);
		const port = socket.address().port;
		counts.set(port, new Map());
		socket.on('message', (packet) => onPacket(port, packet));
		socket.on('error', () => undefined);
		sockets.set(port, socket);
		ports.push(port);
	}
	return { ports };
}

function sample(): SinkSample {
	const out: SinkCount[] = [];
	for (const [port, bySsrc] of counts) {
		for (const [ssrc, c] of bySsrc) out.push({ port, ssrc, received: c.received, expected: c.highest - c.firstSeq + 1 });
	}
	return { atMs: performance.timeOrigin + performance.now(), cpuMs: selfCpuMs(), counts: out };
}

function closeAll(): { closed: number } {
	const closed = sockets.size;
	for (const socket of sockets.values()) socket.close();
	sockets.clear();
	counts.clear();
	return { closed };
}

serveParent({
	open: (params: { count: number }) => open(params),
	sample: async () => sample(),
	closeAll: async () => closeAll(),
	async exit() {
		closeAll();
		setTimeout(() => process.exit(0), 20);
		return {};
	},
});
