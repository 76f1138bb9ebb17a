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

/**
 * A bandwidth-estimation probe of mediasoup 3.32+: RTP padding with SSRC 1234
 * (payload type 127) that the new estimator sends on plain transports too
 * (enableBwe defaults to true). Not media: tests counting forwarded packets skip it.
 */
export function isBweProbe(packet: Buffer): boolean {
	return packet.length >= 12 && !isRtcp(packet) && packet.readUInt32BE(8) === 1234;
}
