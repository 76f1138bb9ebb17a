// The load clients, in their own process (pinned to a core by bench/reportRun.ts):
// receive-only subscribers on Tureen's client library over @roamhq/wrtc (real
// ICE, DTLS, SRTP and decoding), each consuming every producer of its room.
import { performance } from 'node:perf_hooks';

import { joinNodePeer, newNodeClient, type NodePeer } from '../test/support/nodeClient.ts';
import { countDecodedMedia, getInboundRtpCounts } from '../test/support/nodeWebRtc.ts';
import { serveParent } from './ipc.ts';
import { selfCpuMs } from './procStats.ts';

export type SubscriberSpec = { roomId: string; name: string };
export type JoinResult = { joined: number; failed: number; errors: string[]; joinMs: number[] };
export type ConsumerCount = {
	consumerId: string;
	producerId: string;
	kind: 'audio' | 'video';
	received: number;
	lost: number;
	framesDecoded: number;
};
export type ClientSample = { atMs: number; cpuMs: number; subscribers: number; consumers: ConsumerCount[] };
export type FirstMediaResult = {
	/** Date.now() when join() was called (the server's first-packet times are epoch ms too). */
	startedAtEpochMs: number;
	joinMs: number;
	consumers: { consumerId: string; kind: 'audio' | 'video' }[];
	firstFrameMs: number | undefined;
};

const subscribers: NodePeer[] = [];

function nowMs(): number {
	return performance.timeOrigin + performance.now();
}

async function join({ baseUrl, specs, concurrency }: { baseUrl: string; specs: SubscriberSpec[]; concurrency: number }): Promise<JoinResult> {
	const result: JoinResult = { joined: 0, failed: 0, errors: [], joinMs: [] };
	let next = 0;
	const lane = async () => {
		while (next < specs.length) {
			const spec = specs[next++]!;
			const started = performance.now();
			try {
				const peer = await joinNodePeer({ baseUrl, roomId: spec.roomId, displayName: spec.name, publish: {} });
				subscribers.push(peer);
				result.joined += 1;
				result.joinMs.push(performance.now() - started);
			} catch (error) {
				result.failed += 1;
				if (result.errors.length < 5) result.errors.push((error as Error).message);
			}
		}
	};
	await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
	return result;
}

async function sample(): Promise<ClientSample> {
	const consumers: ConsumerCount[] = [];
	for (const peer of subscribers) {
		const transport = peer.client.recvTransport;
		if (!transport || transport.closed) continue;
		const remotes = new Map(peer.client.remoteTracks.map((r) => [r.consumerId, r]));
		const counts = await getInboundRtpCounts(transport).catch(() => []);
		const byConsumer = new Map(counts.map((c) => [c.trackIdentifier, c]));
		for (const remote of remotes.values()) {
			const count = byConsumer.get(remote.consumerId);
			consumers.push({
				consumerId: remote.consumerId,
				producerId: remote.producerId,
				kind: remote.kind,
				received: count?.packetsReceived ?? 0,
				lost: Math.max(0, count?.packetsLost ?? 0),
				framesDecoded: count?.framesDecoded ?? 0,
			});
		}
	}
	return { atMs: nowMs(), cpuMs: selfCpuMs(), subscribers: subscribers.length, consumers };
}

/** Waits (bounded) until every consumer of every subscriber has received packets. */
async function waitFlowing({ timeoutMs }: { timeoutMs: number }): Promise<{ flowing: number; total: number; tookMs: number }> {
	const started = performance.now();
	for (;;) {
		const { consumers } = await sample();
		const flowing = consumers.filter((c) => c.received > 0).length;
		if (flowing === consumers.length || performance.now() - started > timeoutMs) {
			return { flowing, total: consumers.length, tookMs: performance.now() - started };
		}
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
}

async function leaveAll(): Promise<{ left: number }> {
	const all = subscribers.splice(0);
	await Promise.all(all.map((peer) => peer.leave().catch(() => undefined)));
	return { left: all.length };
}

/**
 * Joins `roomId` (where a publisher already sends) and times, from the call
 * to join(): the join itself (answer, receive transport, consumers resumed)
 * and the first decoded video frame (wrtc's video sink). The first packets
 * are timed on the server (see serverChild.ts traceFirstPackets), because
 * libwebrtc's stats are cached for 50 ms.
 */
async function firstMedia({ baseUrl, roomId, timeoutMs }: { baseUrl: string; roomId: string; timeoutMs: number }): Promise<FirstMediaResult> {
	const client = newNodeClient(baseUrl);
	const sinks: { stop(): void }[] = [];
	const startedAtEpochMs = Date.now();
	const started = performance.now();
	let firstFrameMs: number | undefined;
	let gotFrame: () => void = () => undefined;
	const frame = new Promise<void>((resolve) => {
		gotFrame = resolve;
	});
	client.on('track', (remote) => {
		if (remote.kind !== 'video') return;
		const counter = countDecodedMedia(remote.track);
		const watch = setInterval(() => {
			if (counter.count === 0 || firstFrameMs !== undefined) return;
			firstFrameMs = performance.now() - started;
			gotFrame();
		}, 1);
		sinks.push(counter, { stop: () => clearInterval(watch) });
	});
	let timer: NodeJS.Timeout | undefined;
	try {
		await client.join({ roomId, displayName: 'latency' });
		const joinMs = performance.now() - started;
		await Promise.race([frame, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
		const consumers = client.remoteTracks.map((r) => ({ consumerId: r.consumerId, kind: r.kind }));
		return { startedAtEpochMs, joinMs, consumers, firstFrameMs };
	} finally {
		clearTimeout(timer);
		for (const sink of sinks) sink.stop();
		await client.leave().catch(() => undefined);
	}
}

serveParent({
	join: (params: { baseUrl: string; specs: SubscriberSpec[]; concurrency: number }) => join(params),
	sample: () => sample(),
	waitFlowing: (params: { timeoutMs: number }) => waitFlowing(params),
	leaveAll: () => leaveAll(),
	firstMedia: (params: { baseUrl: string; roomId: string; timeoutMs: number }) => firstMedia(params),
	async cpu() {
		return { atMs: nowMs(), cpuMs: selfCpuMs() };
	},
	async exit() {
		await leaveAll();
		// wrtc must not run its finalizers at teardown (see test/support/nodeWebRtc.ts): exit explicitly.
		setTimeout(() => process.exit(0), 50);
		return {};
	},
});
