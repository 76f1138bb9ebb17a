// Hand-written media parameters and reply checks shared by the signalling tests.
import assert from 'node:assert/strict';

import type { ResponseMessage } from '../../src/protocol/messages.ts';

/**
 * A hand-written Opus send: mediasoup accepts a producer on a transport whose
 * DTLS is not connected yet, so producing can be tested without real WebRTC.
 */
export function opusRtpParameters(ssrc: number): Record<string, unknown> {
	return {
		codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] }],
		encodings: [{ ssrc }],
		headerExtensions: [],
		rtcp: { cname: `cname-${ssrc}`, reducedSize: true },
	};
}

/** The reply is LIMIT_REACHED naming `limit` with its value `max`. */
export function assertLimit(reply: ResponseMessage, limit: string, max: number): void {
	assert.equal(reply.ok, false, JSON.stringify(reply));
	if (reply.ok) return;
	assert.equal(reply.error.code, 'LIMIT_REACHED');
	assert.deepEqual(reply.error.details, { limit, max });
}
