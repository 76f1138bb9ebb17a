// Minimal SRTP for tests that talk SRTP to a real worker (RTP only: no SRTCP,
// no MKI, key derivation rate 0, no replay list). Built on node:crypto:
//  - AES_CM_128_HMAC_SHA1_80/32: RFC 3711 (AES counter mode, key derivation,
//    HMAC-SHA1 tag truncated to 80 or 32 bits);
//  - AEAD_AES_128_GCM / AEAD_AES_256_GCM: RFC 7714 (the RTP header is the
//    associated data, 16-byte tag).
import { Buffer } from 'node:buffer';
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual, type CipherGCMTypes } from 'node:crypto';

import type { types as ms } from 'mediasoup';

interface SuiteSpec {
	keyLength: number;
	saltLength: number;
	/** Bytes of authentication tag appended to each packet. */
	tagLength: number;
	gcm: boolean;
}

const SUITES: Record<ms.SrtpCryptoSuite, SuiteSpec> = {
	AES_CM_128_HMAC_SHA1_80: { keyLength: 16, saltLength: 14, tagLength: 10, gcm: false },
	AES_CM_128_HMAC_SHA1_32: { keyLength: 16, saltLength: 14, tagLength: 4, gcm: false },
	AEAD_AES_128_GCM: { keyLength: 16, saltLength: 12, tagLength: 16, gcm: true },
	AEAD_AES_256_GCM: { keyLength: 32, saltLength: 12, tagLength: 16, gcm: true },
};

export const SRTP_SUITES = Object.keys(SUITES) as ms.SrtpCryptoSuite[];

/** Length of the master key + master salt that `keyBase64` carries for `suite`. */
export function srtpMasterLength(suite: ms.SrtpCryptoSuite): number {
	return SUITES[suite].keyLength + SUITES[suite].saltLength;
}

const LABEL = { rtpCipher: 0, rtpAuth: 1, rtpSalt: 2 } as const;
const HMAC_SHA1_KEY_LENGTH = 20;

function aesCtr(key: Buffer, iv: Buffer, data: Buffer): Buffer {
	const cipher = createCipheriv(`aes-${key.length * 8}-ctr`, key, iv);
	return Buffer.concat([cipher.update(data), cipher.final()]);
}

/**
 * RFC 3711 4.3.1 with key derivation rate 0: the AES-CM keystream under the
 * master key, IV = (master salt XOR label at byte 7) followed by two zero
 * bytes. RFC 7714's 12-byte salts are zero-padded on the right first.
 */
function deriveSessionKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
	const iv = Buffer.alloc(16);
	masterSalt.copy(iv);
	iv[7] = (iv[7] ?? 0) ^ label;
	return aesCtr(masterKey, iv, Buffer.alloc(length));
}

/** 12 + CSRCs + header extension: what SRTP leaves in the clear. */
export function rtpHeaderLength(packet: Buffer): number {
	const first = packet[0] ?? 0;
	let length = 12 + 4 * (first & 0x0f);
	if (first & 0x10) length += 4 + 4 * packet.readUInt16BE(length + 2);
	return length;
}

function xorInto(target: Buffer, offset: number, value: Buffer): void {
	for (let i = 0; i < value.length; i++) target[offset + i] = (target[offset + i] ?? 0) ^ (value[i] ?? 0);
}

function u32(value: number): Buffer {
	const b = Buffer.alloc(4);
	b.writeUInt32BE(value >>> 0);
	return b;
}

/** Rollover counter per SSRC, guessed from sequence numbers as RFC 3711 appendix A does. */
class RolloverCounter {
	#roc = 0;
	#highest: number | undefined;

	guess(seq: number): number {
		const s = this.#highest;
		if (s === undefined) return 0;
		if (s < 0x8000) return seq - s > 0x8000 ? (this.#roc - 1) >>> 0 : this.#roc;
		return s - 0x8000 > seq ? (this.#roc + 1) >>> 0 : this.#roc;
	}

	/** Called once a packet with this index is known good. */
	accept(seq: number, roc: number): void {
		if (this.#highest === undefined || roc === (this.#roc + 1) >>> 0 || (roc === this.#roc && seq > this.#highest)) {
			this.#roc = roc;
			this.#highest = seq;
		}
	}
}

/** One direction of one SRTP session: protects or unprotects RTP packets with one master key. */
export class SrtpContext {
	readonly #spec: SuiteSpec;
	readonly #cipherKey: Buffer;
	readonly #authKey: Buffer;
	readonly #salt: Buffer;
	readonly #rocs = new Map<number, RolloverCounter>();

	constructor(suite: ms.SrtpCryptoSuite, keyBase64: string) {
		this.#spec = SUITES[suite];
		const master = Buffer.from(keyBase64, 'base64');
		if (master.length !== srtpMasterLength(suite)) {
			throw new Error(`${suite} needs ${srtpMasterLength(suite)} bytes of key and salt, got ${master.length}`);
		}
		const key = master.subarray(0, this.#spec.keyLength);
		const salt = master.subarray(this.#spec.keyLength);
		this.#cipherKey = deriveSessionKey(key, salt, LABEL.rtpCipher, this.#spec.keyLength);
		this.#authKey = deriveSessionKey(key, salt, LABEL.rtpAuth, HMAC_SHA1_KEY_LENGTH);
		this.#salt = deriveSessionKey(key, salt, LABEL.rtpSalt, this.#spec.saltLength);
	}

	#counter(ssrc: number): RolloverCounter {
		let counter = this.#rocs.get(ssrc);
		if (!counter) this.#rocs.set(ssrc, (counter = new RolloverCounter()));
		return counter;
	}

	/** RFC 3711 4.1.1: salt XOR (SSRC << 64) XOR (index << 16); RFC 7714 8.1: salt XOR (0 0 SSRC ROC SEQ). */
	#iv(ssrc: number, roc: number, seq: number): Buffer {
		const index = Buffer.concat([u32(ssrc), u32(roc), Buffer.from([seq >> 8, seq & 0xff])]);
		if (this.#spec.gcm) {
			const iv = Buffer.from(this.#salt);
			xorInto(iv, 2, index);
			return iv;
		}
		const iv = Buffer.alloc(16);
		this.#salt.copy(iv);
		xorInto(iv, 4, index);
		return iv;
	}

	#gcmAlgorithm(): CipherGCMTypes {
		return this.#cipherKey.length === 32 ? 'aes-256-gcm' : 'aes-128-gcm';
	}

	#hmacTag(authenticated: Buffer, roc: number): Buffer {
		const hmac = createHmac('sha1', this.#authKey).update(authenticated).update(u32(roc)).digest();
		return hmac.subarray(0, this.#spec.tagLength);
	}

	protect(rtp: Buffer): Buffer {
		const ssrc = rtp.readUInt32BE(8);
		const seq = rtp.readUInt16BE(2);
		const counter = this.#counter(ssrc);
		const roc = counter.guess(seq);
		counter.accept(seq, roc);
		const header = rtp.subarray(0, rtpHeaderLength(rtp));
		const payload = rtp.subarray(header.length);
		const iv = this.#iv(ssrc, roc, seq);
		if (this.#spec.gcm) {
			const cipher = createCipheriv(this.#gcmAlgorithm(), this.#cipherKey, iv);
			cipher.setAAD(header);
			const sealed = Buffer.concat([cipher.update(payload), cipher.final()]);
			return Buffer.concat([header, sealed, cipher.getAuthTag()]);
		}
		const packet = Buffer.concat([header, aesCtr(this.#cipherKey, iv, payload)]);
		return Buffer.concat([packet, this.#hmacTag(packet, roc)]);
	}

	/** The plain RTP packet, or undefined when the packet does not authenticate. */
	unprotect(srtp: Buffer): Buffer | undefined {
		const headerLength = rtpHeaderLength(srtp);
		if (srtp.length < headerLength + this.#spec.tagLength) return undefined;
		const ssrc = srtp.readUInt32BE(8);
		const seq = srtp.readUInt16BE(2);
		const counter = this.#counter(ssrc);
		const roc = counter.guess(seq);
		const header = srtp.subarray(0, headerLength);
		const tag = srtp.subarray(srtp.length - this.#spec.tagLength);
		const body = srtp.subarray(headerLength, srtp.length - this.#spec.tagLength);
		const iv = this.#iv(ssrc, roc, seq);
		let payload: Buffer;
		if (this.#spec.gcm) {
			const decipher = createDecipheriv(this.#gcmAlgorithm(), this.#cipherKey, iv);
			decipher.setAAD(header);
			decipher.setAuthTag(tag);
			try {
				payload = Buffer.concat([decipher.update(body), decipher.final()]);
			} catch {
				return undefined;
			}
		} else {
			const expected = this.#hmacTag(srtp.subarray(0, srtp.length - this.#spec.tagLength), roc);
			if (!timingSafeEqual(expected, tag)) return undefined;
			payload = aesCtr(this.#cipherKey, iv, body);
		}
		counter.accept(seq, roc);
		return Buffer.concat([header, payload]);
	}
}
