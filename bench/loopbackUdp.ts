// The benchmark's UDP ends on loopback: a socket bound to a free port of
// 127.0.0.1, and the one test that tells RTP from RTCP on an rtcp-mux socket.
import dgram from 'node:dgram';

/** A UDP socket bound to 127.0.0.1 on a port the kernel picks, with a larger receive buffer when asked. */
export async function bindLoopbackUdp(recvBufferBytes?: number): Promise<dgram.Socket> {
	const socket = dgram.createSocket('udp4');
	await new Promise<void>((resolve, reject) => {
		socket.once('error', reject);
		socket.bind(0, '127.0.0.1', () => resolve());
	});
	if (recvBufferBytes !== undefined) socket.setRecvBufferSize(recvBufferBytes);
	return socket;
}

/** RTP, not RTCP (which shares an rtcp-mux socket: payload types 72-76 once the marker bit is masked). */
export function isRtp(packet: Buffer): boolean {
	if (packet.length < 12) return false;
	const pt = packet[1]! & 0x7f;
	return pt < 72 || pt > 76;
}
