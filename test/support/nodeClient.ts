// The Node test client: Tureen's own client library (client/tureenClient.ts)
// on @roamhq/wrtc, so tests and benchmarks go through real ICE, DTLS and SRTP
// with the same code paths as the browser, publishing synthetic audio/video.
import WebSocket from 'ws';

import { TureenClient, type JoinResult, type TureenClientOptions } from '../../client/tureenClient.ts';
import type { WebSocketLike } from '../../client/signallingChannel.ts';
import {
	createSyntheticAudioTrack,
	createSyntheticVideoTrack,
	getInboundRtpCounts,
	installNodeWebRtc,
	type SyntheticTrack,
	type SyntheticVideoOptions,
} from './nodeWebRtc.ts';

export type PeerPackets = { audio: number; video: number };

export type NodePeer = {
	client: TureenClient;
	joined: JoinResult;
	tracks: SyntheticTrack[];
	/** RTP packets received so far, per remote peer and kind. */
	packetsByPeer(): Promise<Map<string, PeerPackets>>;
	leave(): Promise<void>;
};

export type NodePeerOptions = {
	baseUrl: string;
	roomId: string;
	displayName: string;
	token?: string;
	publish?: { audio?: boolean; video?: boolean | SyntheticVideoOptions };
	/** Rewrites each outgoing signalling frame: lets a test make one request fail on the real server. */
	tamper?: (frame: string) => string;
};

export function newNodeClient(baseUrl: string, tamper?: (frame: string) => string, options: Pick<TureenClientOptions, 'iceTransportPolicy'> = {}): TureenClient {
	const webrtc = installNodeWebRtc();
	return new TureenClient({
		url: `${baseUrl.replace(/^http/, 'ws')}/ws`,
		createWebSocket: (url) => {
			const socket = new WebSocket(url) as unknown as WebSocketLike;
			if (tamper) {
				const send = socket.send.bind(socket);
				socket.send = (data) => send(tamper(data));
			}
			return socket;
		},
		createDevice: async () => webrtc.createDevice(),
		...options,
	});
}

/** Joins a room from Node and (by default) publishes synthetic audio and video. */
export async function joinNodePeer(options: NodePeerOptions): Promise<NodePeer> {
	const client = newNodeClient(options.baseUrl, options.tamper);
	const joined = await client.join({
		roomId: options.roomId,
		displayName: options.displayName,
		...(options.token ? { token: options.token } : {}),
	});
	const publish = options.publish ?? { audio: true, video: true };
	const tracks: SyntheticTrack[] = [];
	if (publish.video) tracks.push(createSyntheticVideoTrack(typeof publish.video === 'object' ? publish.video : {}));
	if (publish.audio) tracks.push(createSyntheticAudioTrack());
	if (tracks.length > 0) await client.publish(tracks.map((t) => t.track));

	return {
		client,
		joined,
		tracks,
		async packetsByPeer() {
			const byPeer = new Map<string, PeerPackets>();
			const transport = client.recvTransport;
			if (!transport) return byPeer;
			const remotes = new Map(client.remoteTracks.map((r) => [r.consumerId, r]));
			for (const count of await getInboundRtpCounts(transport)) {
				const remote = count.trackIdentifier ? remotes.get(count.trackIdentifier) : undefined;
				if (!remote) continue;
				const entry = byPeer.get(remote.peerId) ?? { audio: 0, video: 0 };
				entry[remote.kind] += count.packetsReceived;
				byPeer.set(remote.peerId, entry);
			}
			return byPeer;
		},
		async leave() {
			for (const track of tracks) track.stop();
			await client.leave();
		},
	};
}
