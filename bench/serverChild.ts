// The server side of the benchmark, in its own process (pinned to a core by
// bench/run.ts): either a real Tureen or the raw mediasoup baseline, plus the
// replayed publishers, which join Tureen rooms as server-side members so that
// subscribers discover and consume them through the normal protocol.
import type { types as ms } from 'mediasoup';

import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { Tureen } from '../src/server.ts';
import { Peer } from '../src/signalling/peer.ts';
import { serveParent } from './ipc.ts';
import { processCpuMs, processRssKb, selfCpuMs } from './procStats.ts';
import { createPublisher, createSinkTransport, type BenchPublisher } from './publisher.ts';
import { loadCapture } from './rtpCapture.ts';
import { prepareCapture, ReplayScheduler, type PreparedCapture } from './rtpReplay.ts';
import { RawMediasoupServer } from './rawMediasoup.ts';

export type ServerMode = 'tureen' | 'raw';

/**
 * `answerKeyFrameRequests` (default true): publishers jump to a key frame on
 * PLI/FIR. The capacity ramps turn it off: near saturation, lossy wrtc
 * subscribers' PLIs would multiply key frames (each fanned out to every
 * subscriber) and keep an overloaded worker overloaded after the load drops.
 */
export type StartParams = { mode: ServerMode; workers: number; rtcBasePort: number; env?: Record<string, string>; answerKeyFrameRequests?: boolean };
export type StartResult = { baseUrl: string; workerPids: number[] };
/**
 * `traceFirstPackets`: note when each consumer made in this room sends its
 * first RTP packet. `startReplay: false`: the publishers wait for the
 * startReplay request (so subscribers can be set up before media flows).
 */
export type RoomSpec = { roomId: string; publishers: number; traceFirstPackets?: boolean; startReplay?: boolean };
export type RoomPlaced = { roomId: string; workerId: number; producers: { producerId: string; kind: 'audio' | 'video' }[] };
export type WorkerSample = { workerId: number; pid: number; cpuMs: number; rssKb: number };
export type ServerSample = {
	atMs: number;
	nodeCpuMs: number;
	nodeRssKb: number;
	workers: WorkerSample[];
	/** Packets the replayers have sent, per producer id. */
	sent: Record<string, number>;
	keyFrameRequests: number;
	rooms: number;
	peers: number;
};

type PublisherEntry = { publisher: BenchPublisher; member?: Peer; roomId: string; workerId: number; router: ms.Router };
/** `srtp: false` gives the floor: the same forwarding without SRTP encryption. */
export type SinkSubscriberSpec = { roomId: string; port: number; srtp: boolean };
export type SinkSubscriberPlaced = { port: number; workerId: number; consumers: { ssrc: number; producerId: string; kind: 'audio' | 'video' }[] };

let tureen: Tureen | undefined;
let raw: RawMediasoupServer | undefined;
let prepared: PreparedCapture | undefined;
let scheduler: ReplayScheduler | undefined;
const publishers: PublisherEntry[] = [];
const sinkTransports = new Map<number, ms.PlainTransport>();
let phaseCounter = 0;
let answerKeyFrameRequests = true;
/** Epoch ms of each traced consumer's first RTP packet out of the worker. */
const firstPacketAt = new Map<string, number>();

/**
 * Every consumer created on this router reports its first outgoing RTP
 * packet (a worker 'rtp' trace event), then stops tracing. On loopback the
 * client has it well under a millisecond later.
 */
function traceFirstPackets(router: ms.Router): void {
	router.observer.on('newtransport', (transport) => {
		transport.observer.on('newconsumer', (consumer) => {
			consumer.on('trace', () => {
				if (firstPacketAt.has(consumer.id)) return;
				firstPacketAt.set(consumer.id, Date.now());
				void consumer.enableTraceEvent([]).catch(() => undefined);
			});
			void consumer.enableTraceEvent(['rtp']).catch(() => undefined);
		});
	});
}

function workerPids(): { workerId: number; pid: number }[] {
	if (tureen) return tureen.pool.workers.map((w) => ({ workerId: w.workerId, pid: w.pid ?? -1 }));
	if (raw) return [{ workerId: 0, pid: raw.worker.pid }];
	return [];
}

async function start({ mode, workers, rtcBasePort, env = {}, answerKeyFrameRequests: answer = true }: StartParams): Promise<StartResult> {
	if (tureen || raw) throw new Error('already started');
	answerKeyFrameRequests = answer;
	prepared = prepareCapture((await loadCapture()).capture);
	scheduler = new ReplayScheduler();
	if (mode === 'tureen') {
		const config = loadConfig({
			MEDIASOUP_WORKER_COUNT: String(workers),
			HTTP_HOST: '127.0.0.1',
			WEBRTC_LISTEN_IP: '127.0.0.1',
			PORT: '0',
			LOG_LEVEL: 'error',
			RTC_BASE_PORT: String(rtcBasePort),
			RTC_PORTS_PER_WORKER: '1000',
			// Every load generator shares one address and the memory figure needs 1000+ rooms:
			// the abuse caps would measure themselves, not the server.
			MAX_CONNECTIONS_PER_IP: '100000',
			MAX_ROOMS_PER_IP_PER_MINUTE: '100000',
			MAX_REQUESTS_PER_IP_PER_SECOND: '1000000',
			MAX_JOINS_PER_IP_PER_MINUTE: '1000000',
			MAX_JOINS_PER_IDENTITY_PER_MINUTE: '1000000',
			MAX_ROOMS: '100000',
			...env,
		});
		tureen = await Tureen.create(config, createLogger(config.logLevel));
		await tureen.listen();
		return { baseUrl: `http://127.0.0.1:${tureen.port}`, workerPids: workerPids().map((w) => w.pid) };
	}
	raw = await RawMediasoupServer.start({ rtcPortRange: { min: rtcBasePort, max: rtcBasePort + 999 } });
	return { baseUrl: raw.baseUrl, workerPids: workerPids().map((w) => w.pid) };
}

/** A golden-ratio sequence: publishers' phases spread evenly whatever their number. */
function nextPhase(): number {
	phaseCounter += 1;
	return (phaseCounter * 0.618_033_988_75) % 1;
}

async function addRoom({ roomId, publishers: count, traceFirstPackets: trace, startReplay = true }: RoomSpec): Promise<RoomPlaced> {
	if (!prepared || !scheduler) throw new Error('not started');
	const placed: RoomPlaced = { roomId, workerId: 0, producers: [] };
	if (tureen) {
		// Placement exactly as for a client's first request: the registry picks the worker.
		const { room } = await tureen.rooms.getOrCreateRoom(roomId);
		placed.workerId = room.workerId;
		if (trace) traceFirstPackets(room.router);
		for (let i = 0; i < count; i++) {
			const publisher = await createPublisher(room.router, scheduler, prepared, nextPhase(), startReplay);
			publisher.replayer.answerKeyFrameRequests = answerKeyFrameRequests;
			// A server-side member owning the producers: join answers list them, consume finds them.
			const member = new Peer({ notify: () => undefined, end: () => undefined });
			member.displayName = `replay-${i}`;
			member.enter(room);
			member.adoptProducer(room, publisher.video);
			member.adoptProducer(room, publisher.audio);
			publishers.push({ publisher, member, roomId, workerId: room.workerId, router: room.router });
			placed.producers.push({ producerId: publisher.video.id, kind: 'video' }, { producerId: publisher.audio.id, kind: 'audio' });
		}
		return placed;
	}
	if (!raw) throw new Error('not started');
	for (let i = 0; i < count; i++) {
		const publisher = await createPublisher(raw.router, scheduler, prepared, nextPhase(), startReplay);
		publisher.replayer.answerKeyFrameRequests = answerKeyFrameRequests;
		const peerId = `replay-${roomId}-${i}`;
		raw.addProducer(roomId, peerId, publisher.video);
		raw.addProducer(roomId, peerId, publisher.audio);
		publishers.push({ publisher, roomId, workerId: 0, router: raw.router });
		placed.producers.push({ producerId: publisher.video.id, kind: 'video' }, { producerId: publisher.audio.id, kind: 'audio' });
	}
	return placed;
}

async function addRooms({ rooms }: { rooms: RoomSpec[] }): Promise<RoomPlaced[]> {
	const placed: RoomPlaced[] = [];
	for (const spec of rooms) placed.push(await addRoom(spec));
	return placed;
}

async function addSinkSubscriber({ roomId, port, srtp }: SinkSubscriberSpec): Promise<SinkSubscriberPlaced> {
	const roomPublishers = publishers.filter((p) => p.roomId === roomId);
	const router = roomPublishers[0]?.router;
	if (!router) throw new Error(`no publisher in room ${roomId}`);
	const transport = await createSinkTransport(router, port, srtp);
	sinkTransports.set(port, transport);
	const placed: SinkSubscriberPlaced = { port, workerId: roomPublishers[0]!.workerId, consumers: [] };
	for (const { publisher } of roomPublishers) {
		for (const producer of [publisher.video, publisher.audio]) {
			const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
			placed.consumers.push({ ssrc: consumer.rtpParameters.encodings?.[0]?.ssrc ?? 0, producerId: producer.id, kind: consumer.kind });
		}
	}
	return placed;
}

/**
 * Light subscribers: a PlainTransport per subscriber on the room's router
 * (SRTP AES_CM_128_HMAC_SHA1_80 unless `srtp` is false), sending to a
 * counting UDP sink, consuming every producer of the room. Created 16 at a time.
 */
async function addSinkSubscribers({ subs }: { subs: SinkSubscriberSpec[] }): Promise<SinkSubscriberPlaced[]> {
	const placed: SinkSubscriberPlaced[] = [];
	for (let i = 0; i < subs.length; i += 16) {
		placed.push(...(await Promise.all(subs.slice(i, i + 16).map((spec) => addSinkSubscriber(spec)))));
	}
	return placed;
}

/**
 * One all-to-all room: a member per port, each placed by Tureen's peer
 * placement (so ROOM_MAX_PEERS_PER_ROUTER spreads the room over workers),
 * each a replayed publisher on its router and a light subscriber (a
 * PlainTransport to its port) of every other member's audio and video,
 * consumed where the room makes them available (piped from another worker
 * when the publisher sits there). Replay waits for startReplay.
 */
async function addMeshRoom({ roomId, ports, srtp }: { roomId: string; ports: number[]; srtp: boolean }): Promise<SinkSubscriberPlaced[]> {
	if (!tureen || !prepared || !scheduler) throw new Error('a mesh room needs Tureen started');
	const { room } = await tureen.rooms.getOrCreateRoom(roomId);
	const members: { member: Peer; entry: PublisherEntry; port: number }[] = [];
	for (const [i, port] of ports.entries()) {
		const member = new Peer({ notify: () => undefined, end: () => undefined });
		member.displayName = `mesh-${i}`;
		member.enter(room, { seat: await room.takeSeat() });
		const placedOn = member.router;
		if (!placedOn?.router) throw new Error(`mesh peer ${i} has no router`);
		const publisher = await createPublisher(placedOn.router, scheduler, prepared, nextPhase(), false);
		publisher.replayer.answerKeyFrameRequests = answerKeyFrameRequests;
		member.adoptProducer(room, publisher.video);
		member.adoptProducer(room, publisher.audio);
		const entry: PublisherEntry = { publisher, member, roomId, workerId: placedOn.workerId, router: placedOn.router };
		publishers.push(entry);
		members.push({ member, entry, port });
	}
	const placed: SinkSubscriberPlaced[] = [];
	for (const { member, entry, port } of members) {
		const transport = await createSinkTransport(entry.router, port, srtp);
		sinkTransports.set(port, transport);
		const subscriber: SinkSubscriberPlaced = { port, workerId: entry.workerId, consumers: [] };
		for (const other of members) {
			if (other.member === member) continue;
			for (const producer of [other.entry.publisher.video, other.entry.publisher.audio]) {
				const router = await room.routerToConsume({ producerId: producer.id }, other.member, member);
				const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
				subscriber.consumers.push({ ssrc: consumer.rtpParameters.encodings?.[0]?.ssrc ?? 0, producerId: producer.id, kind: consumer.kind });
			}
		}
		placed.push(subscriber);
	}
	return placed;
}

function sample(): ServerSample {
	const sent: Record<string, number> = {};
	let keyFrameRequests = 0;
	for (const { publisher } of publishers) {
		const counts = publisher.replayer.counts;
		sent[publisher.video.id] = counts.videoSent;
		sent[publisher.audio.id] = counts.audioSent;
		keyFrameRequests += publisher.replayer.keyFrameRequests;
	}
	return {
		atMs: performance.timeOrigin + performance.now(),
		nodeCpuMs: selfCpuMs(),
		nodeRssKb: processRssKb(process.pid) ?? 0,
		workers: workerPids().map(({ workerId, pid }) => ({
			workerId,
			pid,
			cpuMs: processCpuMs(pid) ?? 0,
			rssKb: processRssKb(pid) ?? 0,
		})),
		sent,
		keyFrameRequests,
		rooms: tureen ? tureen.rooms.rooms.length : new Set(publishers.map((p) => p.roomId)).size,
		peers: tureen ? tureen.rooms.totalPeers : (raw?.peerCount ?? 0),
	};
}

/** Memory after a full garbage collection (the child runs with --expose-gc). */
async function settledSample(): Promise<ServerSample> {
	const gc = (globalThis as { gc?: () => void }).gc;
	for (let i = 0; i < 3; i++) {
		gc?.();
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	return sample();
}

async function closeAll(): Promise<void> {
	for (const transport of sinkTransports.values()) transport.close();
	sinkTransports.clear();
	for (const entry of publishers.splice(0)) {
		entry.member?.leave();
		entry.publisher.close();
	}
	scheduler?.close();
	await tureen?.close();
	await raw?.close();
	tureen = undefined;
	raw = undefined;
	scheduler = undefined;
}

serveParent({
	start: (params: StartParams) => start(params),
	addRooms: (params: { rooms: RoomSpec[] }) => addRooms(params),
	addSinkSubscribers: (params: { subs: SinkSubscriberSpec[] }) => addSinkSubscribers(params),
	addMeshRoom: (params: { roomId: string; ports: number[]; srtp: boolean }) => addMeshRoom(params),
	async startReplay() {
		for (const { publisher } of publishers) publisher.start();
		return { publishers: publishers.length };
	},
	/** Closes the server (Tureen or raw) and everything on it; `start` may follow again. */
	async stop() {
		await closeAll();
		return {};
	},
	firstPackets: async ({ consumerIds }: { consumerIds: string[] }) => Object.fromEntries(consumerIds.map((id) => [id, firstPacketAt.get(id) ?? null])),
	sample: async () => sample(),
	settledSample: () => settledSample(),
	async exit() {
		await closeAll();
		setTimeout(() => process.exit(0), 50);
		return {};
	},
});
