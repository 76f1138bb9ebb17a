// The few STUN/TURN messages (RFC 8489, RFC 8656) Tureen sends to check its
// TURN servers: Binding, Allocate and CreatePermission with long-term
// credentials, and the parse of their answers. Pure: bytes in, bytes out.
import { createHash, createHmac } from 'node:crypto';

export const MAGIC_COOKIE = 0x2112a442;
const HEADER = 20;

export const StunMethod = { binding: 0x001, allocate: 0x003, refresh: 0x004, createPermission: 0x008 } as const;
export type StunClass = 'request' | 'success' | 'error' | 'indication';

const Attr = {
	username: 0x0006,
	messageIntegrity: 0x0008,
	errorCode: 0x0009,
	lifetime: 0x000d,
	xorPeerAddress: 0x0012,
	realm: 0x0014,
	nonce: 0x0015,
	xorRelayedAddress: 0x0016,
	requestedTransport: 0x0019,
	xorMappedAddress: 0x0020,
	fingerprint: 0x8028,
} as const;

export type StunAddress = { family: 4 | 6; ip: string; port: number };

export type StunResponse = {
	method: number;
	klass: StunClass;
	transactionId: Buffer;
	errorCode?: number;
	errorReason?: string;
	realm?: string;
	nonce?: string;
	xorMappedAddress?: StunAddress;
	xorRelayedAddress?: StunAddress;
};

/** Long-term credential (RFC 8489 9.2): key = MD5(username:realm:password). */
export type LongTermAuth = { username: string; password: string; realm: string; nonce: string };

export type StunRequest = {
	method: number;
	transactionId: Buffer;
	/** UDP (17) for an Allocate. */
	requestedTransport?: number;
	/** A CreatePermission's peer. */
	peer?: { ip: string; port: number };
	/** A Refresh's lifetime in seconds (0 ends the allocation). */
	lifetime?: number;
	auth?: LongTermAuth;
};

function classBits(klass: StunClass): number {
	return { request: 0x0000, indication: 0x0010, success: 0x0100, error: 0x0110 }[klass];
}

function attribute(type: number, value: Buffer): Buffer {
	const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
	padded.writeUInt16BE(type, 0);
	padded.writeUInt16BE(value.length, 2);
	value.copy(padded, 4);
	return padded;
}

function xorAddress(ip: string, port: number): Buffer {
	const parts = ip.split('.').map(Number);
	if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`only IPv4 peers are supported here: ${ip}`);
	const value = Buffer.alloc(8);
	value.writeUInt8(0x01, 1);
	value.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2);
	value.writeUInt32BE((((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) ^ MAGIC_COOKIE) >>> 0, 4);
	return value;
}

/** A request's bytes; with `auth`, USERNAME, REALM, NONCE and MESSAGE-INTEGRITY (HMAC-SHA1 over the message). */
export function encodeRequest(request: StunRequest): Buffer {
	const attrs: Buffer[] = [];
	if (request.requestedTransport !== undefined) attrs.push(attribute(Attr.requestedTransport, Buffer.from([request.requestedTransport, 0, 0, 0])));
	if (request.lifetime !== undefined) {
		const value = Buffer.alloc(4);
		value.writeUInt32BE(request.lifetime, 0);
		attrs.push(attribute(Attr.lifetime, value));
	}
	if (request.peer) attrs.push(attribute(Attr.xorPeerAddress, xorAddress(request.peer.ip, request.peer.port)));
	if (request.auth) {
		attrs.push(attribute(Attr.username, Buffer.from(request.auth.username)));
		attrs.push(attribute(Attr.realm, Buffer.from(request.auth.realm)));
		attrs.push(attribute(Attr.nonce, Buffer.from(request.auth.nonce)));
	}
	const body = Buffer.concat(attrs);
	const header = Buffer.alloc(HEADER);
	header.writeUInt16BE(request.method | classBits('request'), 0);
	header.writeUInt32BE(MAGIC_COOKIE, 4);
	request.transactionId.copy(header, 8);
	if (!request.auth) {
		header.writeUInt16BE(body.length, 2);
		return Buffer.concat([header, body]);
	}
	// The length counts MESSAGE-INTEGRITY (24 bytes) when the HMAC is computed.
	header.writeUInt16BE(body.length + 24, 2);
	const { username, realm, password } = request.auth;
	const key = createHash('md5').update(`${username}:${realm}:${password}`).digest();
	const hmac = createHmac('sha1', key).update(Buffer.concat([header, body])).digest();
	return Buffer.concat([header, body, attribute(Attr.messageIntegrity, hmac)]);
}

function readXorAddress(value: Buffer): StunAddress | undefined {
	if (value.length < 8 || value.readUInt8(1) !== 0x01) return undefined;
	const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
	const n = (value.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0;
	return { family: 4, ip: [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'), port };
}

/** Total length of the STUN message at the start of `data` (for framing over TCP/TLS), or undefined when the header is incomplete. */
export function messageLength(data: Buffer): number | undefined {
	return data.length < HEADER ? undefined : HEADER + data.readUInt16BE(2);
}

/** Parses a STUN answer; undefined when `data` is no STUN message. */
export function decodeResponse(data: Buffer): StunResponse | undefined {
	if (data.length < HEADER || data.readUInt32BE(4) !== MAGIC_COOKIE || (data[0]! & 0xc0) !== 0) return undefined;
	const type = data.readUInt16BE(0);
	const bits = type & 0x0110;
	const klass: StunClass = bits === 0x0000 ? 'request' : bits === 0x0010 ? 'indication' : bits === 0x0100 ? 'success' : 'error';
	const response: StunResponse = { method: type & ~0x0110 & 0x3fff, klass, transactionId: data.subarray(8, 20) };
	const end = Math.min(data.length, HEADER + data.readUInt16BE(2));
	for (let at = HEADER; at + 4 <= end; ) {
		const attrType = data.readUInt16BE(at);
		const length = data.readUInt16BE(at + 2);
		const value = data.subarray(at + 4, at + 4 + length);
		if (attrType === Attr.errorCode && value.length >= 4) {
			response.errorCode = (value[2]! & 0x07) * 100 + value[3]!;
			response.errorReason = value.subarray(4).toString('utf8');
		} else if (attrType === Attr.realm) response.realm = value.toString('utf8');
		else if (attrType === Attr.nonce) response.nonce = value.toString('utf8');
		else if (attrType === Attr.xorMappedAddress || attrType === Attr.xorRelayedAddress) {
			const address = readXorAddress(value);
			if (address) response[attrType === Attr.xorMappedAddress ? 'xorMappedAddress' : 'xorRelayedAddress'] = address;
		}
		at += 4 + Math.ceil(length / 4) * 4;
	}
	return response;
}
