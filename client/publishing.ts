// Publishing: this peer's tracks on the send transport. Each published track
// has one record (what it is, whether it is paused, its producer on the
// current transport), so a room move re-publishes exactly what the app asked
// for. Camera video goes out as simulcast, a screen as one sharp encoding,
// and dynacast switches off the encodings nobody watches.
import type { Device, types as msc } from 'mediasoup-client';

import { defaultSource, MEDIA_SOURCES, type MediaSource } from '../src/protocol/messages.ts';
import type { PublishedProducer } from './clientTypes.ts';
import { screenProduceOptions } from './screenShare.ts';
import type { NotificationHandlers, Request } from './signallingSession.ts';
import { produceOptions } from './simulcast.ts';
import { createWebRtcTransport, type IcePolicy, type TransportWatch } from './webRtcTransport.ts';

/** A track the app published; `producer` is undefined while there is no send transport (mid-move) or producing failed. */
type PublishedTrack = { source: MediaSource; paused: boolean; producer: msc.Producer | undefined };

export type PublishingDeps = {
	request: Request;
	/** The Device loaded for the room's router; undefined before join. */
	device(): Device | undefined;
	simulcast: boolean;
	watch: TransportWatch;
	ice: IcePolicy;
	/** A new send transport: data channels ride it too. */
	onTransport(transport: msc.Transport): void;
};

export class Publishing {
	readonly #deps: PublishingDeps;
	readonly #tracks = new Map<MediaStreamTrack, PublishedTrack>();
	#transport: msc.Transport | undefined;
	/** The send transport being created: callers at the same moment (publish, openDataChannel) share it. */
	#transportCreating: Promise<msc.Transport> | undefined;
	#maxDataMessageSize = 0;

	constructor(deps: PublishingDeps) {
		this.#deps = deps;
	}

	get transport(): msc.Transport | undefined {
		return this.#transport;
	}

	/** The server's data message limit, from the send transport's SCTP parameters (0 before there is one). */
	get maxDataMessageSize(): number {
		return this.#maxDataMessageSize;
	}

	get producers(): PublishedProducer[] {
		return [...this.#tracks.values()].flatMap(({ source, producer }) =>
			producer ? [{ producerId: producer.id, source, encodings: producer.rtpParameters.encodings?.length ?? 0, paused: producer.paused }] : [],
		);
	}

	get producing(): boolean {
		return [...this.#tracks.values()].some((published) => published.producer !== undefined);
	}

	async publish(tracks: readonly MediaStreamTrack[], source: MediaSource | undefined): Promise<void> {
		for (const track of tracks) {
			if (this.#tracks.has(track)) continue;
			const published: PublishedTrack = { source: source ?? defaultSource(track.kind), paused: false, producer: undefined };
			this.#tracks.set(track, published);
			await this.#produce(track, published);
		}
	}

	async unpublish(track: MediaStreamTrack): Promise<void> {
		const producer = this.#tracks.get(track)?.producer;
		this.#tracks.delete(track);
		if (!producer) return;
		producer.close();
		await this.#deps.request('closeProducer', { producerId: producer.id });
	}

	async setPaused(track: MediaStreamTrack, paused: boolean): Promise<void> {
		const published = this.#tracks.get(track);
		if (!published) return;
		published.paused = paused;
		if (published.producer) await this.#applyPaused(published.producer, paused);
	}

	/** After a move: every published track still running, on the new send transport (paused ones paused). */
	async republish(): Promise<void> {
		for (const [track, published] of this.#tracks) {
			if (track.readyState === 'live') await this.#produce(track, published);
		}
	}

	/** The send transport, created on first use, once however many ask for it at the same time. */
	sendTransport(): Promise<msc.Transport> {
		if (this.#transport) return Promise.resolve(this.#transport);
		this.#transportCreating ??= this.#createTransport()
			.then((transport) => (this.#transport = transport))
			.finally(() => (this.#transportCreating = undefined));
		return this.#transportCreating;
	}

	/** The transport is gone with the room's router (moved, closed, left); the records stay, to be re-published. */
	close(): void {
		this.#transport?.close();
		this.#transport = undefined;
		for (const published of this.#tracks.values()) published.producer = undefined;
	}

	readonly notificationHandlers: Pick<NotificationHandlers, 'producerLayersWanted'> = {
		producerLayersWanted: ({ producerId, maxSpatialLayer }) => void this.#sendLayersUpTo(producerId, maxSpatialLayer),
	};

	async #produce(track: MediaStreamTrack, published: PublishedTrack): Promise<void> {
		const transport = await this.sendTransport();
		const { source } = published;
		// A screen is one high-resolution encoding; camera video goes out as simulcast (unless opted out).
		const options =
			source === 'screen' ? screenProduceOptions(track) : produceOptions(track, this.#deps.simulcast, this.#deps.device()?.rtpCapabilities.codecs ?? []);
		const producer = await transport.produce({ track, stopTracks: false, ...options, appData: { source } });
		published.producer = producer;
		if (published.paused) await this.#applyPaused(producer, true);
	}

	async #applyPaused(producer: msc.Producer, paused: boolean): Promise<void> {
		if (paused) producer.pause();
		else producer.resume();
		await this.#deps.request(paused ? 'pauseProducer' : 'resumeProducer', { producerId: producer.id });
	}

	async #createTransport(): Promise<msc.Transport> {
		const device = this.#deps.device();
		if (!device) throw new Error('join first');
		const { request } = this.#deps;
		const { transport, info } = await createWebRtcTransport(device, 'send', request, this.#deps.watch, this.#deps.ice);
		transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
			const source = MEDIA_SOURCES.find((s) => s === appData.source);
			request('produce', { transportId: transport.id, kind, rtpParameters: rtpParameters as never, ...(source ? { source } : {}) }).then(
				({ producerId }) => callback({ id: producerId }),
				errback,
			);
		});
		this.#deps.onTransport(transport);
		this.#maxDataMessageSize = (info.sctpParameters as msc.SctpParameters | undefined)?.maxReceiveMessageSize ?? 0;
		return transport;
	}

	/** Dynacast: send only the encodings some subscriber wants (RTCRtpSender encodings[i].active). */
	async #sendLayersUpTo(producerId: string, maxSpatialLayer: number): Promise<void> {
		const producer = [...this.#tracks.values()].find((published) => published.producer?.id === producerId)?.producer;
		if (!producer || producer.closed || (producer.rtpParameters.encodings?.length ?? 1) < 2) return;
		await producer.setMaxSpatialLayer(maxSpatialLayer).catch(() => undefined);
	}
}
