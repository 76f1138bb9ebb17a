// The one path into a room. A client enters its room for three reasons: the
// first join; the room moved to another worker (roomMoved, on the same
// socket); in a cluster, its node is gone, draining or no longer owns the
// room (a new socket to another node). A node that does not own the room
// answers WRONG_NODE and is followed on the way in, whatever the reason.
// Every reason takes the same steps: reach the room's router, keep the
// Device while the router's capabilities are the same (a Device loads once),
// be a member of the room, re-create the media. What differs is where each
// try goes (entryRoutes) and what the app is told.
import { Device, type types as msc } from 'mediasoup-client';

import type { RoomMoveReason, RoomState } from '../src/protocol/messages.ts';
import { asError, type EmitClientEvent, type JoinOptions, type JoinResult } from './clientTypes.ts';
import { candidateUrls, REHOME_ATTEMPTS, rehomeDelayMs, shouldRehome } from './nodeRoute.ts';
import type { SignallingSession } from './signallingSession.ts';

export type EntryReason =
	| { kind: 'join' }
	| { kind: 'moved'; workerId: number; reason: RoomMoveReason }
	| { kind: 'rehome'; reason: string; preferredUrl?: string | undefined };

/** Where one try goes: the socket already open (the peer stays joined) or a new one to `url`. */
export type EntryRoute = { via: 'sameSocket' } | { via: 'newSocket'; url: string };

/**
 * The tries for a reason, in order. Join tries the app's URL once; a move
 * stays on its socket; a rehome goes round the suggested node, the app's URL
 * (often a load balancer) and the nodes seen at join, REHOME_ATTEMPTS times.
 */
export function entryRoutes(why: EntryReason, givenUrl: string, alternates: readonly string[]): EntryRoute[] {
	switch (why.kind) {
		case 'join':
			return [{ via: 'newSocket', url: givenUrl }];
		case 'moved':
			return [{ via: 'sameSocket' }];
		case 'rehome': {
			const urls = candidateUrls(why.preferredUrl, givenUrl, alternates);
			return Array.from({ length: REHOME_ATTEMPTS }, (_, attempt) => ({ via: 'newSocket', url: urls[attempt % urls.length]! }));
		}
	}
}

/** What entering asks of the media parts (publishing, subscribing, data channels). */
export type EntryMedia = {
	/** The room's producers and data producers, to consume once there is a receive transport. */
	expect(state: Pick<RoomState, 'producers' | 'dataProducers'>): void;
	/** Drops the transports of a router that is gone, keeping what the app published. */
	close(): void;
	/** Transports on the current router, published tracks re-sent, expected producers consumed; with `waitForMedia`, until media flows. */
	open(waitForMedia: boolean): Promise<void>;
};

export type RoomEntryDeps = {
	/** The URL the app gave. */
	url: string;
	session: Pick<SignallingSession, 'request' | 'openRoom' | 'drop'>;
	createDevice: (() => Promise<Device>) | undefined;
	media: EntryMedia;
	emit: EmitClientEvent;
};

/** This peer in the room, as the last join answered (workerId follows roomMoved). */
/** `iceServers`: TURN servers and credentials of the last join answer (renewed by every entry). */
type Membership = { peerId: string; workerId: number; nodeId: string | undefined; alternates: string[]; iceServers: RTCIceServer[] };

export class RoomEntry {
	readonly #deps: RoomEntryDeps;
	#joinOptions: JoinOptions | undefined;
	#membership: Membership | undefined;
	#device: Device | undefined;
	/** What the Device was loaded with, to tell whether a router needs a new one. */
	#routerCapabilities: string | undefined;
	#leaving = false;
	/** Entries run one at a time; publishing and the like wait for the one under way. */
	#entering: Promise<unknown> = Promise.resolve();

	constructor(deps: RoomEntryDeps) {
		this.#deps = deps;
	}

	get iceServers(): RTCIceServer[] {
		return this.#membership?.iceServers ?? [];
	}

	get device(): Device | undefined {
		return this.#device;
	}

	get peerId(): string | undefined {
		return this.#membership?.peerId;
	}

	get workerId(): number | undefined {
		return this.#membership?.workerId;
	}

	get nodeId(): string | undefined {
		return this.#membership?.nodeId;
	}

	get inCluster(): boolean {
		return this.nodeId !== undefined;
	}

	/** Resolves once no entry is under way. */
	settled(): Promise<void> {
		return this.#entering.then(() => undefined);
	}

	join(options: JoinOptions): Promise<JoinResult> {
		this.#joinOptions = options;
		return this.#enqueue({ kind: 'join' });
	}

	/** Enters again after a move or a lost node; failures are told as events (`error`, `closed`). */
	reenter(why: Exclude<EntryReason, { kind: 'join' }>): void {
		void this.#enqueue(why).catch(() => undefined);
	}

	/** Whether a lost connection is to be re-established on another node (in a cluster, unless the server or the app ended it). */
	rehomesAfter(closeCode: number): boolean {
		return this.inCluster && !this.#leaving && shouldRehome(closeCode);
	}

	leave(): void {
		this.#leaving = true;
	}

	#enqueue(why: EntryReason): Promise<JoinResult> {
		const entry = this.#entering.then(() => this.#enter(why));
		this.#entering = entry.catch(() => undefined);
		return entry;
	}

	async #enter(why: EntryReason): Promise<JoinResult> {
		const started = Date.now();
		const { session, media, emit } = this.#deps;
		if (why.kind === 'moved') {
			this.#membership &&= { ...this.#membership, workerId: why.workerId };
			emit('roomMoved', { workerId: why.workerId, reason: why.reason });
			media.close();
		} else if (why.kind === 'rehome') {
			session.drop();
			media.close();
			emit('reconnecting', { reason: why.reason });
		}
		const routes = entryRoutes(why, this.#deps.url, this.#membership?.alternates ?? []);
		for (const [attempt, route] of routes.entries()) {
			if (why.kind === 'rehome' && this.#leaving) break;
			try {
				const entered = await this.#enterVia(route, why.kind !== 'join');
				if (why.kind !== 'join') emit('recovered', { workerId: entered.workerId, tookMs: Date.now() - started });
				return entered;
			} catch (error) {
				if (why.kind === 'moved') emit('error', { during: 'recovery', workerId: why.workerId, error: asError(error) });
				// Only a rehome has other nodes to try; this one could not take the room.
				if (why.kind !== 'rehome' || route.via === 'sameSocket') throw error;
				session.drop();
				media.close();
				emit('error', { during: 'reconnect', url: route.url, attempt, error: asError(error) });
				await new Promise((resolve) => setTimeout(resolve, rehomeDelayMs(attempt)));
			}
		}
		if (!this.#leaving) emit('closed', { reason: 'no node of the cluster could take the room' });
		throw new Error('no node of the cluster could take the room');
	}

	/** One try: the room's router reached, this peer a member with a Device for it, the media re-created. */
	async #enterVia(route: EntryRoute, waitForMedia: boolean): Promise<JoinResult> {
		const { session, media } = this.#deps;
		const { roomId, token } = this.#options();
		const room = { roomId, ...(token ? { token } : {}) };
		const rtpCapabilities =
			route.via === 'newSocket' ? await session.openRoom(route.url, room) : (await session.request('getRouterRtpCapabilities', room)).rtpCapabilities;
		const sameDevice = JSON.stringify(rtpCapabilities) === this.#routerCapabilities ? this.#device : undefined;
		let entered: JoinResult;
		if (route.via === 'sameSocket' && sameDevice) {
			const state = await session.request('getRoomState', {});
			media.expect(state);
			entered = { peerId: this.#member().peerId, roomId: state.roomId, workerId: this.#member().workerId, peers: state.peers };
		} else {
			// The server holds the capabilities the peer joined with: a new Device on the same socket means joining again.
			if (route.via === 'sameSocket') await session.request('leave', {});
			entered = await this.#joinWith(sameDevice ?? (await this.#loadDevice(rtpCapabilities)));
		}
		await media.open(waitForMedia);
		return entered;
	}

	async #loadDevice(rtpCapabilities: unknown): Promise<Device> {
		const device = this.#deps.createDevice ? await this.#deps.createDevice() : await Device.factory();
		await device.load({ routerRtpCapabilities: rtpCapabilities as msc.RtpCapabilities });
		this.#device = device;
		this.#routerCapabilities = JSON.stringify(rtpCapabilities);
		return device;
	}

	async #joinWith(device: Device): Promise<JoinResult> {
		const { roomId, displayName, token } = this.#options();
		const joined = await this.#deps.session.request('join', {
			roomId,
			displayName,
			rtpCapabilities: device.rtpCapabilities as unknown as Record<string, unknown>,
			...(token ? { token } : {}),
		});
		this.#membership = { peerId: joined.peerId, workerId: joined.workerId, nodeId: joined.node?.nodeId, alternates: joined.node?.alternates ?? [], iceServers: joined.iceServers ?? [] };
		this.#deps.media.expect(joined);
		return { peerId: joined.peerId, roomId: joined.roomId, workerId: joined.workerId, peers: joined.peers };
	}

	#options(): JoinOptions {
		if (!this.#joinOptions) throw new Error('join first');
		return this.#joinOptions;
	}

	#member(): Membership {
		if (!this.#membership) throw new Error('join first');
		return this.#membership;
	}
}
