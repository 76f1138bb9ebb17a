// Figure 3: placement quality, by deterministic simulation. Rooms of
// long-tailed sizes (Pareto, fixed seed) open, fill, empty and close over
// simulated hours; each new room is placed by a policy:
//   - tureen:       the real chooseWorker() of src/services/workers/placement.ts, fed
//                   snapshots built the way WorkerPool builds them, with the
//                   CPU feedback loop modelled (a sample of each worker's CPU
//                   every second, averaged over the last 5, as ManagedWorker does);
//   - round robin;
//   - fewest rooms: fewest rooms only, ties to the lowest id.
//   - tureen, spreading: every peer placed by the real placePeer() of
//                   src/services/workers/peerPlacement.ts (ROOM_SPREAD_CPU's
//                   and ROOM_SPREAD_MIN_PEERS's defaults from src/config.ts,
//                   no cap), so a room grows onto other workers once its
//                   worker is busy; pipes cost packets too (below). Re-run at
//                   a sweep of ROOM_SPREAD_CPU values, so the trade-off shows:
//                   a lower threshold balances better but spends more worker
//                   CPU on pipe streams; and at settings to compare (say
//                   without the minimum).
// A worker's CPU is modelled from its packets: (consumers + producers) x
// packets/s each x measured worker CPU per packet. Every policy sees the same
// trace. Loads are judged over the steady middle 80% of the time.
import { DEFAULT_ROOM_SPREAD_CPU, DEFAULT_ROOM_SPREAD_MIN_PEERS } from '../src/config.ts';
import { placePeer } from '../src/services/workers/peerPlacement.ts';
import { chooseWorker, type WorkerSnapshot } from '../src/services/workers/placement.ts';
import { mean, percentile, seededRandom } from './stats.ts';

export type SimParams = {
	workers: number;
	/** Mean offered load as a share of all workers' cores; sets how many rooms open. */
	targetUtilization: number;
	seconds: number;
	seed: number;
	/** Worker CPU per forwarded packet (microseconds), from the capacity figure. */
	usPerPacket: number;
	/** Packets/s one consumer carries on average (video and audio mixed). */
	packetsPerConsumer: number;
	/** Pareto shape and minimum of the target room size; capped at maxPeers. */
	paretoAlpha: number;
	minPeers: number;
	maxPeers: number;
	/** Mean room lifetime (exponential), seconds. */
	meanLifetimeS: number;
	cpuSimilarThreshold: number;
	/** ROOM_SPREAD_CPU, ROOM_SPREAD_MIN_PEERS and ROOM_MAX_PEERS_PER_ROUTER for the spreading policy (defaults: src/config.ts's, no cap). */
	roomSpreadCpu?: number;
	roomSpreadMinPeers?: number;
	maxPeersPerRouter?: number;
	/** Further ROOM_SPREAD_CPU values the spreading policy is re-run at (at roomSpreadMinPeers), on the same trace. */
	spreadSweep?: readonly number[];
	/** Other settings the spreading policy is re-run at for comparison, on the same trace. */
	spreadCompare?: readonly SpreadSetting[];
};

export type SpreadSetting = { roomSpreadCpu: number; roomSpreadMinPeers: number };

export type PolicyName = 'tureen' | 'tureen, spreading' | 'round robin' | 'fewest rooms';

export type PolicyResult = {
	policy: PolicyName;
	/** Over 1 s samples while the system is busy: max worker / mean worker. */
	consumersMaxOverMean: { mean: number | undefined; p95: number | undefined };
	cpuMaxOverMean: { mean: number | undefined; p95: number | undefined };
	/**
	 * The busiest worker's CPU (fraction of a core), over the same samples: pipe
	 * streams raise the mean as well as the max, so max/mean alone flatters
	 * spreading; this does not.
	 */
	busiestWorkerCpu: { mean: number | undefined; p95: number | undefined };
	/** Highest CPU any worker reached (fraction of a core). */
	peakWorkerCpu: number;
	/** Share of time some worker needed more than a whole core. */
	overloadedTimeShare: number;
	/** Share of all worker CPU spent sending and receiving pipe streams (0 when rooms do not spread). */
	pipeCpuShare: number;
};

/** The spreading policy at one setting. */
export type SpreadResult = PolicyResult & SpreadSetting;

export type SimResult = {
	params: SimParams;
	rooms: number;
	/** Mean offered load over all workers (cores), and the biggest room's load (cores). */
	meanTotalCpu: number;
	biggestRoomCpu: number;
	/** Every policy; 'tureen, spreading' at `roomSpreadCpu` and `roomSpreadMinPeers`. */
	policies: PolicyResult[];
	/** The setting of 'tureen, spreading' in `policies`: the configured defaults unless params say otherwise. */
	roomSpreadCpu: number;
	roomSpreadMinPeers: number;
	/** The spreading policy at every ROOM_SPREAD_CPU of the sweep and the default (at roomSpreadMinPeers), ascending, then at each comparison setting. */
	spreadSweep: SpreadResult[];
	simulated: true;
};

type RoomTrace = { openAt: number; peers: number; joinEvery: number; lifetime: number };

/** Every room's arrival, target size and lifetime: the same for every policy. */
function makeTrace(p: SimParams, rooms: number): RoomTrace[] {
	const random = seededRandom(p.seed);
	const trace: RoomTrace[] = [];
	for (let i = 0; i < rooms; i++) {
		const pareto = p.minPeers / Math.pow(1 - random(), 1 / p.paretoAlpha);
		trace.push({
			openAt: random() * p.seconds * 0.9,
			peers: Math.min(p.maxPeers, Math.floor(pareto)),
			// Peers arrive one by one over the first ~minute, and leave over the last.
			joinEvery: 2 + random() * 8,
			lifetime: -Math.log(1 - random()) * p.meanLifetimeS + 60,
		});
	}
	return trace.sort((a, b) => a.openAt - b.openAt);
}

/** Peers present `t` seconds after the room opened: ramp up, plateau, ramp down. */
function peersAt(room: RoomTrace, t: number): number {
	if (t < 0 || t >= room.lifetime) return 0;
	const up = Math.floor(t / room.joinEvery) + 1;
	const down = Math.floor((room.lifetime - t) / room.joinEvery) + 1;
	return Math.min(room.peers, up, down);
}

/** Everyone publishes audio + video and consumes everyone else. */
function consumersOf(peers: number): number {
	return peers * (peers - 1) * 2;
}

/** Packets/s a room costs its worker: every consumer's, plus receiving every producer's. */
function packetsOf(peers: number, packetsPerConsumer: number): number {
	return (consumersOf(peers) + 2 * peers) * packetsPerConsumer;
}

/**
 * Packets/s a room spread over workers costs each (peers per worker): each
 * worker forwards its own peers' consumers and receives their producers
 * (`own`); for a producer consumed elsewhere it sends one pipe stream per
 * other worker, and receives one pipe stream per producer of the other
 * workers (`pipe`).
 */
function spreadPacketsOf(peersOn: readonly number[], packetsPerConsumer: number): { own: number; pipe: number }[] {
	const total = peersOn.reduce((a, b) => a + b, 0);
	const routers = peersOn.filter((n) => n > 0).length;
	return peersOn.map((n) => ({
		own: ((consumersOf(total) * n) / Math.max(total, 1) + 2 * n) * packetsPerConsumer,
		pipe: n === 0 ? 0 : (2 * n * (routers - 1) + 2 * (total - n)) * packetsPerConsumer,
	}));
}

/** A room open in the spreading simulation: its peers' workers, and what they cost each worker until they change. */
type SpreadRoom = { room: RoomTrace; placed: number[]; load?: { cpu: number[]; pipeCpu: number; consumers: number[] } };

function spreadRoomLoad(entry: SpreadRoom, p: SimParams): NonNullable<SpreadRoom['load']> {
	const peersOn = countPeers(entry.placed, p.workers);
	const total = entry.placed.length;
	const packets = spreadPacketsOf(peersOn, p.packetsPerConsumer);
	const cpuPerPacket = p.usPerPacket / 1e6;
	return {
		cpu: packets.map(({ own, pipe }) => (own + pipe) * cpuPerPacket),
		pipeCpu: packets.reduce((sum, { pipe }) => sum + pipe * cpuPerPacket, 0),
		consumers: peersOn.map((n) => (consumersOf(total) * n) / Math.max(total, 1)),
	};
}

/** The spreading policy: every peer placed on its own, the way Room.takeSeat does. */
function simulateSpreading(p: SimParams, trace: RoomTrace[], setting: SpreadSetting): SpreadResult {
	const open: SpreadRoom[] = [];
	const cpuSamples: number[][] = Array.from({ length: p.workers }, () => []);
	const lastUsedAt = new Array<number>(p.workers).fill(0);
	const judge = new LoadJudge(p);
	let next = 0;
	for (let t = 0; t < p.seconds; t++) {
		while (next < trace.length && trace[next]!.openAt <= t) open.push({ room: trace[next++]!, placed: [] });
		for (let i = open.length - 1; i >= 0; i--) if (t - open[i]!.room.openAt >= open[i]!.room.lifetime) open.splice(i, 1);
		const cpuAvg = cpuSamples.map((samples) => mean(samples) ?? 0);
		for (const entry of open) {
			const want = peersAt(entry.room, t - entry.room.openAt);
			// The last to join leave first; a worker left with none of the room's peers drops its router.
			if (entry.placed.length !== want) entry.load = undefined;
			while (entry.placed.length > want) entry.placed.pop();
			while (entry.placed.length < want) {
				const peersOn = countPeers(entry.placed, p.workers);
				const roomCount = countRooms(open, p.workers);
				const snapshots: WorkerSnapshot[] = cpuAvg.map((cpu, workerId) => ({ workerId, alive: true, draining: false, roomCount: roomCount[workerId]!, cpu, lastUsedAt: lastUsedAt[workerId]! }));
				const routers = peersOn.flatMap((peerCount, workerId) => (peerCount > 0 ? [{ workerId, peerCount }] : []));
				const placed = placePeer(snapshots, routers, { ...setting, cpuSimilarThreshold: p.cpuSimilarThreshold, maxPeersPerRouter: p.maxPeersPerRouter ?? Infinity });
				const workerId = placed?.workerId ?? 0;
				if (placed?.kind === 'new') lastUsedAt[workerId] = (t + 1) * 1000;
				entry.placed.push(workerId);
			}
		}
		const consumers = new Array<number>(p.workers).fill(0);
		const cpu = new Array<number>(p.workers).fill(0);
		let pipeCpu = 0;
		for (const entry of open) {
			const load = (entry.load ??= spreadRoomLoad(entry, p));
			for (let w = 0; w < p.workers; w++) {
				cpu[w]! += load.cpu[w]!;
				consumers[w]! += load.consumers[w]!;
			}
			pipeCpu += load.pipeCpu;
		}
		cpu.forEach((c, w) => {
			cpuSamples[w]!.push(Math.min(1, c));
			if (cpuSamples[w]!.length > 5) cpuSamples[w]!.shift();
		});
		judge.sample(t, consumers, cpu, pipeCpu);
	}
	return { ...judge.result('tureen, spreading'), ...setting };
}

function countPeers(placed: readonly number[], workers: number): number[] {
	const counts = new Array<number>(workers).fill(0);
	for (const w of placed) counts[w]! += 1;
	return counts;
}

function countRooms(open: readonly { placed: number[] }[], workers: number): number[] {
	const counts = new Array<number>(workers).fill(0);
	for (const entry of open) for (const w of new Set(entry.placed)) counts[w]! += 1;
	return counts;
}

/** Max/mean over the steady middle of the time, peak CPU and overload share: the same judge for every policy. */
class LoadJudge {
	readonly #p: SimParams;
	readonly #consumerRatios: number[] = [];
	readonly #cpuRatios: number[] = [];
	readonly #busiest: number[] = [];
	#peak = 0;
	#overloaded = 0;
	#busySamples = 0;
	#cpuTotal = 0;
	#pipeCpuTotal = 0;

	constructor(p: SimParams) {
		this.#p = p;
	}

	/** One second: each worker's consumers and CPU, and the CPU all workers spent on pipe streams. */
	sample(t: number, consumers: number[], cpu: number[], pipeCpu = 0): void {
		const meanConsumers = mean(consumers) ?? 0;
		// Judge the steady part only: not the first and last tenth (filling up, emptying).
		if (meanConsumers > 0 && t >= this.#p.seconds * 0.1 && t < this.#p.seconds * 0.9) {
			this.#busySamples += 1;
			this.#cpuTotal += cpu.reduce((a, b) => a + b, 0);
			this.#pipeCpuTotal += pipeCpu;
			this.#consumerRatios.push(Math.max(...consumers) / meanConsumers);
			this.#cpuRatios.push(Math.max(...cpu) / (mean(cpu) ?? 1));
			this.#busiest.push(Math.max(...cpu));
			if (Math.max(...cpu) > 1) this.#overloaded += 1;
		}
		this.#peak = Math.max(this.#peak, ...cpu);
	}

	result(policy: PolicyName): PolicyResult {
		return {
			policy,
			consumersMaxOverMean: { mean: mean(this.#consumerRatios), p95: percentile(this.#consumerRatios, 95) },
			cpuMaxOverMean: { mean: mean(this.#cpuRatios), p95: percentile(this.#cpuRatios, 95) },
			busiestWorkerCpu: { mean: mean(this.#busiest), p95: percentile(this.#busiest, 95) },
			peakWorkerCpu: this.#peak,
			overloadedTimeShare: this.#busySamples ? this.#overloaded / this.#busySamples : 0,
			pipeCpuShare: this.#cpuTotal > 0 ? this.#pipeCpuTotal / this.#cpuTotal : 0,
		};
	}
}

function simulate(p: SimParams, trace: RoomTrace[], policy: PolicyName): PolicyResult {
	const roomsOn: RoomTrace[][] = Array.from({ length: p.workers }, () => []);
	const cpuSamples: number[][] = Array.from({ length: p.workers }, () => []);
	const lastUsedAt = new Array<number>(p.workers).fill(0);
	const cpuPerPacket = p.usPerPacket / 1e6;
	let next = 0;
	let roundRobin = 0;
	const judge = new LoadJudge(p);

	for (let t = 0; t < p.seconds; t++) {
		// Rooms that emptied close (the idle timeout is short against their life).
		for (const list of roomsOn) {
			for (let i = list.length - 1; i >= 0; i--) if (t - list[i]!.openAt >= list[i]!.lifetime) list.splice(i, 1);
		}
		const consumers = roomsOn.map((list) => list.reduce((sum, r) => sum + consumersOf(peersAt(r, t - r.openAt)), 0));
		const cpu = roomsOn.map((list) => list.reduce((sum, r) => sum + packetsOf(peersAt(r, t - r.openAt), p.packetsPerConsumer), 0) * cpuPerPacket);
		// ManagedWorker: one CPU sample per second (a worker cannot show more than
		// one core), and placement sees the mean of the last 5.
		cpu.forEach((c, w) => {
			cpuSamples[w]!.push(Math.min(1, c));
			if (cpuSamples[w]!.length > 5) cpuSamples[w]!.shift();
		});
		while (next < trace.length && trace[next]!.openAt <= t) {
			const room = trace[next++]!;
			let chosen: number;
			if (policy === 'round robin') {
				chosen = roundRobin++ % p.workers;
			} else {
				const snapshots: WorkerSnapshot[] = roomsOn.map((list, workerId) => ({
					workerId,
					alive: true,
					draining: false,
					roomCount: list.length,
					cpu: policy === 'tureen' ? (mean(cpuSamples[workerId]!) ?? 0) : 0,
					lastUsedAt: policy === 'tureen' ? lastUsedAt[workerId]! : 0,
				}));
				chosen = chooseWorker(snapshots, { cpuSimilarThreshold: p.cpuSimilarThreshold }) ?? 0;
			}
			lastUsedAt[chosen] = (t + 1) * 1000;
			roomsOn[chosen]!.push(room);
		}
		judge.sample(t, consumers, cpu);
	}
	return judge.result(policy);
}

/** Mean offered load of a trace (cores): every room's consumers over its life. */
function offeredCpu(p: SimParams, trace: RoomTrace[]): number {
	let packets = 0;
	for (const room of trace) {
		for (let t = 0; t < room.lifetime; t++) packets += packetsOf(peersAt(room, t), p.packetsPerConsumer);
	}
	return (packets * p.usPerPacket) / 1e6 / p.seconds;
}

export function runPlacementSim(p: SimParams): SimResult {
	// Size the room count so that the mean offered load is the target utilisation.
	const probeRooms = 1000;
	const probe = offeredCpu(p, makeTrace(p, probeRooms));
	const rooms = Math.max(1, Math.round((probeRooms * p.targetUtilization * p.workers) / Math.max(probe, 1e-9)));
	const trace = makeTrace(p, rooms);
	const roomSpreadCpu = p.roomSpreadCpu ?? DEFAULT_ROOM_SPREAD_CPU;
	const roomSpreadMinPeers = p.roomSpreadMinPeers ?? DEFAULT_ROOM_SPREAD_MIN_PEERS;
	const thresholds = [...new Set([...(p.spreadSweep ?? []), roomSpreadCpu])].sort((a, b) => a - b);
	const settings = [...thresholds.map((cpu) => ({ roomSpreadCpu: cpu, roomSpreadMinPeers })), ...(p.spreadCompare ?? [])];
	const spreadSweep = settings.map((setting) => simulateSpreading(p, trace, setting));
	const spreading = spreadSweep.find((r) => r.roomSpreadCpu === roomSpreadCpu && r.roomSpreadMinPeers === roomSpreadMinPeers)!;
	return {
		params: p,
		rooms,
		meanTotalCpu: offeredCpu(p, trace),
		biggestRoomCpu: (Math.max(...trace.map((r) => packetsOf(r.peers, p.packetsPerConsumer))) * p.usPerPacket) / 1e6,
		policies: [...(['tureen', 'round robin', 'fewest rooms'] as const).map((policy) => simulate(p, trace, policy)), spreading],
		roomSpreadCpu,
		roomSpreadMinPeers,
		spreadSweep,
		simulated: true,
	};
}
