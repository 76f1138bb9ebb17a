// The server side of the benchmark, in its own process (pinned to a core by
// bench/reportRun.ts): either a real Tureen or the raw mediasoup baseline, plus the
// replayed publishers. With Tureen, every publisher and light subscriber is a
// participant speaking the public protocol over /ws (join, produce, consume,
// resumeConsumer), placed by Tureen as any client is; its PlainTransport
// comes from the bench seam (src/benchSeam.ts), the one thing a client cannot
// ask for. Worker pids come from GET /workers, first packets from mediasoup's
// own observer.
import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';

import { openBenchSeam, type BenchSeam } from '../src/benchSeam.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import type { ResponseData } from '../src/protocol/messages.ts';
import { Tureen } from '../src/server.ts';
import { serveParent } from './ipc.ts';
import { processCpuMs, processRssKb, selfCpuMs } from './procStats.ts';
import { createPublisher, createSinkTransport, PUBLISHER_TRANSPORT, sinkTransport, startPublisher, type BenchPublisher } from './publisher.ts';
import { loadCapture } from './rtpCapture.ts';
import { prepareCapture, ReplayScheduler, type PreparedCapture } from './rtpReplay.ts';
import { RawMediasoupServer } from './rawMediasoup.ts';
import { SignallingClient } from './signallingClient.ts';

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
 * `traceFirstPackets`: note when each consumer made from now on sends its
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
};

/** Where a publisher's producers live: consumers of the raw baseline are made on `router`. */
type PublisherEntry = { publisher: BenchPublisher; roomId: string; workerId: number; router?: ms.Router; member?: Participant };
/** `srtp: false` gives the floor: the same forwarding without SRTP encryption. */
export type SinkSubscriberSpec = { roomId: string; port: number; srtp: boolean };
export type SinkSubscriberPlaced = { port: number; workerId: number; consumers: { ssrc: number; producerId: string; kind: 'audio' | 'video' }[] };

/** A Tureen server, the bench's way in, and its address. */
type TureenSide = { tureen: Tureen; seam: BenchSeam; baseUrl: string; workers: { workerId: number; pid: number }[] };
/** A protocol participant of the bench, as its join answer placed it. */
type Participant = { client: SignallingClient; roomId: string; peerId: string; workerId: number };

let side: TureenSide | undefined;
let raw: RawMediasoupServer | undefined;
let prepared: PreparedCapture | undefined;
let scheduler: ReplayScheduler | undefined;
const publishers: PublisherEntry[] = [];
const participants: Participant[] = [];
const sinkTransports = new Map<number, ms.PlainTransport>();
/** Each room's router RTP capabilities, which the bench's participants join with (they receive what the router sends). */
const roomCapabilities = new Map<string, ResponseData['getRouterRtpCapabilities']>();
let phaseCounter = 0;
let answerKeyFrameRequests = true;
let tracing = false;
/** Epoch ms of each traced consumer's first RTP packet out of the worker. */
const firstPacketAt = new Map<string, number>();

/**
 * While tracing, every consumer made on any router of this process reports
 * its first outgoing RTP packet (a worker 'rtp' trace event), then stops
 * tracing. On loopback the client has it well under a millisecond later.
 */
mediasoup.observer.on('newworker', (worker) => {
	worker.observer.on('newrouter', (router) => {
		router.observer.on('newtransport', (transport) => {
			transport.observer.on('newconsumer', (consumer) => {
				if (!tracing) return;
				consumer.on('trace', () => {
					if (firstPacketAt.has(consumer.id)) return;
					firstPacketAt.set(consumer.id, Date.now());
					void consumer.enableTraceEvent([]).catch(() => undefined);
				});
				void consumer.enableTraceEvent(['rtp']).catch(() => undefined);
			});
		});
	});
});

function workerPids(): { workerId: number; pid: number }[] {
	if (side) return side.workers;
	if (raw) return [{ workerId: 0, pid: raw.worker.pid }];
	return [];
}

async function getJson<T>(url: string): Promise<T> {
	const response = await fetch(url);
	if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
	return (await response.json()) as T;
}

async function start({ mode, workers, rtcBasePort, env = {}, answerKeyFrameRequests: answer = true }: StartParams): Promise<StartResult> {
	if (side || raw) throw new Error('already started');
	answerKeyFrameRequests = answer;
	tracing = false;
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
			// Every load generator shares one address, the memory figure needs 1000+ rooms and a
			// ramp puts 50+ subscribers in a room: the abuse caps would measure themselves, not the server.
			MAX_CONNECTIONS_PER_IP: '100000',
			MAX_CONNECTIONS: '100000',
			MAX_ROOMS_PER_IP_PER_MINUTE: '100000',
			MAX_REQUESTS_PER_IP_PER_SECOND: '1000000',
			MAX_JOINS_PER_IP_PER_MINUTE: '1000000',
			MAX_JOINS_PER_IDENTITY_PER_MINUTE: '1000000',
			MAX_ROOMS: '100000',
			MAX_PEERS_PER_ROOM: '10000',
			...env,
		});
		const tureen = await Tureen.create(config, createLogger(config.logLevel));
		await tureen.listen();
		const baseUrl = `http://127.0.0.1:${tureen.port}`;
		const { workers: stats } = await getJson<{ workers: { workerId: number; pid: number | null }[] }>(`${baseUrl}/workers`);
		side = { tureen, seam: openBenchSeam(tureen), baseUrl, workers: stats.map((w) => ({ workerId: w.workerId, pid: w.pid ?? -1 })) };
		return { baseUrl, workerPids: side.workers.map((w) => w.pid) };
	}
	raw = await RawMediasoupServer.start({ rtcPortRange: { min: rtcBasePort, max: rtcBasePort + 999 } });
	return { baseUrl: raw.baseUrl, workerPids: workerPids().map((w) => w.pid) };
}

/** A golden-ratio sequence: publishers' phases spread evenly whatever their number. */
function nextPhase(): number {
	phaseCounter += 1;
	return (phaseCounter * 0.618_033_988_75) % 1;
}

/** A new participant in `roomId`: a socket to /ws, joined with the room router's capabilities. */
async function join(t: TureenSide, roomId: string, displayName: string): Promise<Participant> {
	const client = await SignallingClient.connect(t.baseUrl);
	try {
		let capabilities = roomCapabilities.get(roomId);
		if (!capabilities) {
			capabilities = await client.request('getRouterRtpCapabilities', { roomId });
			roomCapabilities.set(roomId, capabilities);
		}
		const joined = await client.request('join', { roomId, displayName, rtpCapabilities: capabilities.rtpCapabilities as Record<string, unknown> });
		const participant: Participant = { client, roomId, peerId: joined.peerId, workerId: joined.workerId };
		participants.push(participant);
		return participant;
	} catch (error) {
		client.close();
		throw error;
	}
}

/** A replayed publisher owned by `member`: its producers made by its produce requests, on a seam transport. */
async function publish(t: TureenSide, member: Participant, startReplay: boolean): Promise<PublisherEntry> {
	if (!prepared || !scheduler) throw new Error('not started');
	const { roomId, peerId, client } = member;
	const transport = await t.seam.createPlainTransport({ roomId, peerId, direction: 'send', options: PUBLISHER_TRANSPORT });
	const produce = async (kind: 'audio' | 'video', rtpParameters: ms.RtpParameters) =>
		(await client.request('produce', { transportId: transport.transportId, kind, rtpParameters: rtpParameters as unknown as Record<string, unknown> })).producerId;
	const publisher = await startPublisher(transport, produce, { scheduler, prepared, phase: nextPhase(), start: startReplay }, () => client.close());
	publisher.replayer.answerKeyFrameRequests = answerKeyFrameRequests;
	const entry: PublisherEntry = { publisher, roomId, workerId: member.workerId, member };
	publishers.push(entry);
	return entry;
}

/** `member` consumes every one of `producerIds` into UDP `port` of this machine, over the protocol. */
async function subscribe(t: TureenSide, member: Participant, port: number, srtp: boolean, producerIds: string[]): Promise<SinkSubscriberPlaced> {
	const { roomId, peerId, client } = member;
	const { options, connect } = sinkTransport(port, srtp);
	const { transportId } = await t.seam.createPlainTransport({ roomId, peerId, direction: 'recv', options, connect });
	const placed: SinkSubscriberPlaced = { port, workerId: member.workerId, consumers: [] };
	for (const producerId of producerIds) {
		const consumer = await client.request('consume', { producerId, transportId });
		await client.request('resumeConsumer', { consumerId: consumer.consumerId });
		const ssrc = (consumer.rtpParameters as ms.RtpParameters).encodings?.[0]?.ssrc ?? 0;
		placed.consumers.push({ ssrc, producerId, kind: consumer.kind });
	}
	return placed;
}

function producerIdsOf(entries: readonly PublisherEntry[]): string[] {
	return entries.flatMap(({ publisher }) => [publisher.videoProducerId, publisher.audioProducerId]);
}

async function addRoom({ roomId, publishers: count, traceFirstPackets: trace, startReplay = true }: RoomSpec): Promise<RoomPlaced> {
	if (!prepared || !scheduler) throw new Error('not started');
	if (trace) tracing = true;
	const placed: RoomPlaced = { roomId, workerId: 0, producers: [] };
	const made: PublisherEntry[] = [];
	if (side) {
		// Placement exactly as for a client's first request: the room is made by getRouterRtpCapabilities.
		for (let i = 0; i < count; i++) made.push(await publish(side, await join(side, roomId, `replay-${i}`), startReplay));
		placed.workerId = made[0]?.workerId ?? 0;
	} else {
		if (!raw) throw new Error('not started');
		for (let i = 0; i < count; i++) {
			const publisher = await createPublisher(raw.router, scheduler, prepared, nextPhase(), startReplay);
			publisher.replayer.answerKeyFrameRequests = answerKeyFrameRequests;
			const peerId = `replay-${roomId}-${i}`;
			raw.addProducer(roomId, peerId, publisher.video);
			raw.addProducer(roomId, peerId, publisher.audio);
			const entry: PublisherEntry = { publisher, roomId, workerId: 0, router: raw.router };
			publishers.push(entry);
			made.push(entry);
		}
	}
	for (const { publisher } of made) {
		placed.producers.push({ producerId: publisher.videoProducerId, kind: 'video' }, { producerId: publisher.audioProducerId, kind: 'audio' });
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
	if (!roomPublishers.length) throw new Error(`no publisher in room ${roomId}`);
	if (side) return subscribe(side, await join(side, roomId, `sink-${port}`), port, srtp, producerIdsOf(roomPublishers));
	const router = roomPublishers[0]!.router!;
	const transport = await createSinkTransport(router, port, srtp);
	sinkTransports.set(port, transport);
	const placed: SinkSubscriberPlaced = { port, workerId: 0, consumers: [] };
	for (const producerId of producerIdsOf(roomPublishers)) {
		const consumer = await transport.consume({ producerId, rtpCapabilities: router.rtpCapabilities });
		placed.consumers.push({ ssrc: consumer.rtpParameters.encodings?.[0]?.ssrc ?? 0, producerId, kind: consumer.kind });
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
 * One all-to-all room: a participant per port, each placed by Tureen's peer
 * placement when it joins (so ROOM_MAX_PEERS_PER_ROUTER spreads the room over
 * workers), each a replayed publisher and a light subscriber (a
 * PlainTransport to its port) of every other participant's audio and video,
 * consumed where Tureen makes them available (piped from another worker
 * when the publisher sits there). Replay waits for startReplay.
 */
async function addMeshRoom({ roomId, ports, srtp }: { roomId: string; ports: number[]; srtp: boolean }): Promise<SinkSubscriberPlaced[]> {
	const t = side;
	if (!t) throw new Error('a mesh room needs Tureen started');
	const members: PublisherEntry[] = [];
	for (const i of ports.keys()) members.push(await publish(t, await join(t, roomId, `mesh-${i}`), false));
	return Promise.all(
		members.map((entry, i) =>
			subscribe(
				t,
				entry.member!,
				ports[i]!,
				srtp,
				producerIdsOf(members.filter((other) => other !== entry)),
			),
		),
	);
}

function sample(): ServerSample {
	const sent: Record<string, number> = {};
	let keyFrameRequests = 0;
	for (const { publisher } of publishers) {
		const counts = publisher.replayer.counts;
		sent[publisher.videoProducerId] = counts.videoSent;
		sent[publisher.audioProducerId] = counts.audioSent;
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
	for (const { publisher } of publishers.splice(0)) publisher.close();
	// A participant's socket closing ends it on the server: it leaves, its transports close.
	for (const { client } of participants.splice(0)) client.close();
	roomCapabilities.clear();
	scheduler?.close();
	await side?.tureen.close();
	await raw?.close();
	side = undefined;
	raw = undefined;
	scheduler = undefined;
	tracing = false;
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
