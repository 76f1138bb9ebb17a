// Loopback UDP for tests that send RTP to a worker and read what it sends back.
import type { Buffer } from 'node:buffer';
import dgram from 'node:dgram';

export function bindSocket(): Promise<dgram.Socket> {
	return new Promise((resolve, reject) => {
		const socket = dgram.createSocket('udp4');
		socket.once('error', reject);
		socket.bind(0, '127.0.0.1', () => {
			socket.off('error', reject);
			resolve(socket);
		});
	});
}

export function sendTo(socket: dgram.Socket, packet: Buffer, port: number): Promise<void> {
	return new Promise((resolve, reject) => {
		socket.send(packet, port, '127.0.0.1', (error) => (error ? reject(error) : resolve()));
	});
}

/** RTCP on an rtcp-mux port: packet types 200-204 (SR, RR, SDES, BYE, APP) read as RTP payload types 72-76. */
export function isRtcp(packet: Buffer): boolean {
	const pt = (packet[1] ?? 0) & 0x7f;
	return pt >= 72 && pt <= 76;
}
