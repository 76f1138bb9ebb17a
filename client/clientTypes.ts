// The public shapes of TureenClient: its options, what join answers, its
// events and the errors it reports. In a file of their own so that the parts
// of the client (publishing, subscribing, room entry) can name the events
// they raise without importing the class that composes them.
import type { Device, types as msc } from 'mediasoup-client';

import type { MediaSource, Notifications, PeerInfo } from '../src/protocol/messages.ts';
import type { ConnectionState } from './connectionState.ts';
import type { DataMessage } from './dataChannels.ts';
import type { WebSocketFactory } from './signallingChannel.ts';

export type RemoteTrack = {
	track: MediaStreamTrack;
	kind: 'audio' | 'video';
	peerId: string;
	producerId: string;
	consumerId: string;
	consumer: msc.Consumer;
	/** What the publisher said the track is. */
	source: MediaSource;
	/** Whether the publisher has paused it (muted microphone, camera off). */
	paused: boolean;
};

/** A published producer, as `publishedProducers` lists it. */
export type PublishedProducer = { producerId: string; source: MediaSource; encodings: number; paused: boolean };

export type TureenClientEvents = {
	/** A remote track is ready to play. */
	track: [RemoteTrack];
	/** A remote track ended (its producer closed, its peer left, or the room moved). */
	trackEnded: [{ consumerId: string; peerId: string; producerId: string; source: MediaSource; kind: 'audio' | 'video' }];
	/** The publisher paused or resumed a remote track (mute, camera off). */
	trackPaused: [{ peerId: string; producerId: string; source: MediaSource; kind: 'audio' | 'video'; paused: boolean }];
	/** The room's dominant speaker changed. */
	activeSpeaker: [{ peerId: string }];
	audioLevels: [Notifications['audioLevels']];
	/** A message on another peer's data channel. */
	data: [DataMessage];
	/** The server holds (paused) or releases this peer's data channels for going over its data rate. */
	dataThrottled: [Notifications['dataThrottled']];
	/** Signalling and media transports summed up in one word, on every change. */
	connectionState: [ConnectionState];
	peerJoined: [PeerInfo];
	peerLeft: [{ peerId: string }];
	/** The room moved to another worker; the client is re-creating its media. */
	roomMoved: [{ workerId: number; reason: string }];
	/**
	 * Cluster only: the connection to the room's node was lost (node died,
	 * drained, or the room went to another node); the client is joining the
	 * room again through another node. New peer id; `recovered` follows.
	 */
	reconnecting: [{ reason: string }];
	/** Media is flowing again after a move or a reconnection: transports re-created and connected, tracks re-published. */
	recovered: [{ workerId: number; tookMs: number }];
	/** Something the client could not do by itself; the app decides what to tell the user. */
	error: [ClientError];
	/** With `signallingUrl` (cluster): the client moves to that node by itself (`reconnecting`, then `recovered`). */
	serverDraining: [Notifications['serverDraining']];
	/** The server closed the room or the connection. */
	closed: [{ reason: string }];
	/** The layers the server now forwards to a remote video (null: none, e.g. paused). */
	layersChanged: [Notifications['consumerLayersChanged']];
	consumerScore: [Notifications['consumerScore']];
};

/** How a part of the client raises one of TureenClient's events. */
export type EmitClientEvent = <E extends keyof TureenClientEvents>(event: E, ...args: TureenClientEvents[E]) => void;

export type ClientError =
	/** After roomMoved: media could not be re-created on the new worker (no 'recovered' follows). */
	| { during: 'recovery'; workerId: number; error: Error }
	/** Cluster: one try at joining again through another node failed (more tries follow, then `closed`). */
	| { during: 'reconnect'; url: string; attempt: number; error: Error }
	/** A remote track announced to us could not be received. */
	| { during: 'consume'; producerId: string; peerId: string; error: Error }
	/** Another peer's data channel could not be received. */
	| { during: 'consumeData'; dataProducerId: string; peerId: string; error: Error }
	/** A failed transport could not restart ICE. */
	| { during: 'iceRestart'; transportId: string; error: Error };

export type TureenClientOptions = {
	/** ws:// or wss:// URL of the server's /ws endpoint. */
	url: string;
	/** Defaults to the browser's WebSocket; Node passes one from the `ws` package. */
	createWebSocket?: WebSocketFactory;
	/** Defaults to mediasoup-client's browser detection; Node passes a Device on a Node WebRTC stack. */
	createDevice?: () => Promise<Device>;
	requestTimeoutMs?: number;
	/** How long a recovery may wait for the new transports to connect. Default 20 s. */
	recoveryTimeoutMs?: number;
	/** Publish camera video as VP8 simulcast (client/simulcast.ts). Default true; false sends one encoding. */
	simulcast?: boolean;
	/**
	 * Ask for the layer each attached video element needs and pause hidden
	 * ones (attachVideo). Default true; false leaves every consumer at the
	 * top layer unless the app asks otherwise.
	 */
	adaptiveQuality?: boolean;
	/**
	 * 'relay' sends media only through the TURN servers the join answer
	 * names (the server's TURN_URLS); without any, creating a transport
	 * fails with NoTurnServerError. Default 'all' (direct first, TURN as a fallback).
	 */
	iceTransportPolicy?: RTCIceTransportPolicy;
};

export type JoinOptions = { roomId: string; displayName: string; token?: string };
export type JoinResult = { peerId: string; roomId: string; workerId: number; peers: PeerInfo[] };

export function asError(error: unknown): Error {
	return error instanceof Error ? error : new Error(String(error));
}
