// How a participant asks mediasoup for its objects: the options every
// WebRTC transport gets, and how mediasoup's refusals of what a client sent
// become typed errors.
import type { types as ms } from 'mediasoup';

import { TureenError } from '../../errors.ts';
import type { MediaSource } from '../../protocol/messages.ts';
import type { ManagedWorker } from '../workers/managedWorker.ts';

/** The worker slot hosting the participant's router, as transports need it: its port range and port accounting. */
export type TransportHost = Pick<ManagedWorker, 'workerId' | 'alive' | 'webRtcTransportListen' | 'trackTransport' | 'notePortsExhausted'>;

/** How large a data message may be (where a transport listens is the host's); `incomingBitrate`/`outgoingBitrate`: MAX_INCOMING_BITRATE and MAX_OUTGOING_BITRATE per transport (Infinity: no cap); `peerOutgoingBitrate`: MAX_PEER_OUTGOING_BITRATE over its receive transports. */
export type TransportSettings = { dataMessageBytes: number; incomingBitrate: number; outgoingBitrate: number; peerOutgoingBitrate: number };

/** `source` is already checked against the kind; the client's appData travels with it. */
export type ProduceRequest = { transportId: string; kind: 'audio' | 'video'; rtpParameters: ms.RtpParameters; source: MediaSource; appData?: Record<string, unknown> };

/** mediasoup's worker says this when every port of the transport's range is bound. */
const NO_PORTS = /no more available ports/i;

export type PlainConnect = Parameters<ms.PlainTransport['connect']>[0];

/** A plain RTP transport on `router`, connected when `connect` says where to send (closed again if that fails). */
export async function createPlainTransportOn(router: ms.Router, options: ms.PlainTransportOptions, connect: PlainConnect | undefined, appData: { peerId: string; direction: 'send' | 'recv' }): Promise<ms.PlainTransport> {
	const transport = await router.createPlainTransport({ ...options, appData });
	try {
		if (connect) await transport.connect(connect);
	} catch (error) {
		transport.close();
		throw error;
	}
	return transport;
}

/** A WebRTC transport on `router`, its ports counted on `host`; NO_PORTS_AVAILABLE when the range is full. */
export async function createTransportOn(
	router: ms.Router,
	host: TransportHost,
	settings: TransportSettings,
	appData: { peerId: string; direction: 'send' | 'recv' },
): Promise<ms.WebRtcTransport> {
	let transport: ms.WebRtcTransport;
	try {
		transport = await router.createWebRtcTransport({
			...host.webRtcTransportListen(),
			enableUdp: true,
			enableTcp: true,
			preferUdp: true,
			initialAvailableOutgoingBitrate: 1_000_000,
			// The publisher's estimate is capped (told to it in REMB); a subscriber's downlink estimate is bounded.
			...(appData.direction === 'send'
				? { maxIncomingBitrate: settings.incomingBitrate }
				: Number.isFinite(settings.outgoingBitrate)
					? { maxOutgoingBitrate: settings.outgoingBitrate }
					: {}),
			// Data channels: the answer's sctpParameters carry the message limit to the client.
			enableSctp: true,
			maxReceiveMessageSize: settings.dataMessageBytes,
			maxSendMessageSize: settings.dataMessageBytes,
			appData,
		});
	} catch (error) {
		if (!(error instanceof Error && NO_PORTS.test(error.message))) throw error;
		host.notePortsExhausted();
		throw new TureenError('NO_PORTS_AVAILABLE', `worker ${host.workerId} has no free RTC port; retry later`);
	}
	host.trackTransport(transport);
	return transport;
}

/**
 * mediasoup's worker refuses some client-supplied parameters with a plain
 * Error ("ssrc already exists in RTP listener", "MID already exists in RTP
 * listener", "connect() already called"): the client's mistake, so
 * MEDIA_ERROR, not INTERNAL. mediasoup's typed errors pass through to
 * asTureenError.
 */
export async function withClientParameters<T>(operation: Promise<T>): Promise<T> {
	try {
		return await operation;
	} catch (error) {
		if (error instanceof Error && error.constructor === Error) throw new TureenError('MEDIA_ERROR', error.message);
		throw error;
	}
}
