// What the send and the receive transport share: made on the Device from the
// server's parameters, connected through signalling, restarting ICE when they
// fail. Publishing and subscribing each own one.
import type { Device, types as msc } from 'mediasoup-client';

import type { TransportInfo } from '../src/protocol/messages.ts';
import type { Request } from './signallingSession.ts';

/** What the owner of a transport hears of it. */
export type TransportWatch = {
	/** Its connection state changed (or it was made or closed): the client's summary may change. */
	onStateChange(): void;
	/** It failed: ICE is to be restarted. */
	onFailed(transport: msc.Transport): void;
};

/** The TURN servers of the last join answer, and whether media must go through them (iceTransportPolicy 'relay'). */
export type IcePolicy = { iceServers(): RTCIceServer[]; relay: boolean };

/** The client was told to relay (iceTransportPolicy 'relay') but the server hands out no TURN server. */
export class NoTurnServerError extends Error {
	constructor() {
		super("iceTransportPolicy 'relay' needs TURN servers, and the join answer named none (the server has no TURN_URLS)");
		this.name = 'NoTurnServerError';
	}
}

export async function createWebRtcTransport(
	device: Device,
	direction: 'send' | 'recv',
	request: Request,
	watch: TransportWatch,
	ice: IcePolicy,
): Promise<{ transport: msc.Transport; info: TransportInfo }> {
	const iceServers = ice.iceServers();
	if (ice.relay && iceServers.length === 0) throw new NoTurnServerError();
	const info = await request('createWebRtcTransport', { direction });
	const params = {
		iceServers,
		...(ice.relay ? { iceTransportPolicy: 'relay' as const } : {}),
		id: info.transportId,
		iceParameters: info.iceParameters as msc.IceParameters,
		iceCandidates: info.iceCandidates as msc.IceCandidate[],
		dtlsParameters: info.dtlsParameters as msc.DtlsParameters,
		sctpParameters: info.sctpParameters as msc.SctpParameters,
	};
	const transport = direction === 'send' ? device.createSendTransport(params) : device.createRecvTransport(params);
	transport.on('connect', ({ dtlsParameters }, callback, errback) => {
		request('connectWebRtcTransport', { transportId: transport.id, dtlsParameters: dtlsParameters as never }).then(() => callback(), errback);
	});
	transport.on('connectionstatechange', (state) => {
		if (state === 'failed' && !transport.closed) watch.onFailed(transport);
		watch.onStateChange();
	});
	watch.onStateChange();
	return { transport, info };
}

/** New ICE credentials from the server, handed to the transport. */
export async function restartIce(transport: msc.Transport, request: Request): Promise<void> {
	const { iceParameters } = await request('restartIce', { transportId: transport.id });
	await transport.restartIce({ iceParameters: iceParameters as msc.IceParameters });
}

/** Resolves once the transport is connected (DTLS done: media flows); rejects when it closes first or takes longer than `timeoutMs`. */
export function waitConnected(transport: msc.Transport, timeoutMs: number): Promise<void> {
	if (transport.connectionState === 'connected') return Promise.resolve();
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => finish(new Error(`transport ${transport.id} did not connect within ${timeoutMs} ms`)), timeoutMs);
		const onClose = () => finish(new Error(`transport ${transport.id} closed before it connected`));
		const onState = (state: string) => {
			if (state === 'connected') finish();
			else if (state === 'closed') onClose();
		};
		const finish = (error?: Error) => {
			clearTimeout(timer);
			transport.off('connectionstatechange', onState);
			transport.observer.off('close', onClose);
			if (error) reject(error);
			else resolve();
		};
		transport.on('connectionstatechange', onState);
		transport.observer.on('close', onClose);
	});
}
