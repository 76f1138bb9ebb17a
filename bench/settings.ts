// Run parameters: --quick (every figure, under 3 minutes on 2 cores) and the
// full run (more rounds, longer windows, finer steps; under 15 minutes,
// also with --worker-bin).
import type { SpreadSetting } from './placementSim.ts';

export type BenchSettings = {
	quick: boolean;
	/** Rounds: every configuration is measured once per round; ratios pair figures of one round. */
	rounds: number;
	/** Highest sequence-gap loss of any single consumer. */
	lossThreshold: number;
	/**
	 * Highest received-vs-sent deficit over all consumers, in a window and for
	 * settling: looser than the loss threshold because a budgeted worker's
	 * queue swings by tens of ms within a window; a worker that really falls
	 * behind overflows its socket buffers within a second and loses packets.
	 */
	backlogThreshold: number;
	/** A consumer receiving less than this share of what was sent has stalled. */
	stallShare: number;
	/** Per-worker CPU budget (cgroup quota, fraction of a core), the same for every configuration. */
	workerBudget: number;
	/**
	 * Per-worker budget of the spread-room figure (spreadRoom.ts): larger, so
	 * its rooms (about 17-26 peers) come nearer to what a whole core holds
	 * and one peer more is a finer step; two workers still leave a fifth of
	 * the server's core to the replayers.
	 */
	spreadRoomBudget: number;
	roomsPerWorker: number;
	/** The cost probes run at this share of the budget (predicted from the calibration step). */
	probeLoad: number;
	/** Subscribers per worker of the calibration step, which only plans the probe load. */
	calibrationSubscribers: number;
	/** Ramps: first step at this multiple of the knee predicted from the probe (saturated workers batch, so > 1). */
	rampStart: number;
	/** Ramps: factor between steps until one fails, then bisection down to `resolution` (relative), at most `bisections`. */
	stride: number;
	maxStrides: number;
	bisections: number;
	resolution: number;
	/** Settling: at least `settleMs`, then intervals of `settleIntervalMs` until received matches sent, for at most `maxSettleMs`. */
	settleMs: number;
	settleIntervalMs: number;
	maxSettleMs: number;
	windowMs: number;
	/** Tureen's Node costs: wrtc peers joined per round, /stats calls per round, rooms present during them. */
	costPeers: number;
	costStatsCalls: number;
	costRooms: number;
	costWindowMs: number;
	latencyJoins: number;
	statsRooms: number;
	statsRequests: number;
	memoryPeers: number;
	/**
	 * The placement simulation; the spreading policy runs at the defaults, at
	 * each ROOM_SPREAD_CPU of `spreadSweep` (default ROOM_SPREAD_MIN_PEERS) and
	 * at each setting of `spreadCompare`.
	 */
	placement: {
		workers: number;
		seconds: number;
		targetUtilization: number;
		paretoAlpha: number;
		maxPeers: number;
		spreadSweep: number[];
		spreadCompare: SpreadSetting[];
	};
	rtcBasePort: number;
};

export function benchSettings(quick: boolean, env: Record<string, string | undefined> = process.env): BenchSettings {
	const budget = Number(env.BENCH_WORKER_BUDGET ?? '0.25');
	if (!(budget >= 0.1 && budget <= 1)) throw new RangeError(`BENCH_WORKER_BUDGET must be 0.1-1, got ${env.BENCH_WORKER_BUDGET}`);
	const spreadRoomBudget = Number(env.BENCH_SPREAD_ROOM_BUDGET ?? '0.4');
	if (!(spreadRoomBudget >= 0.1 && spreadRoomBudget <= 0.45)) throw new RangeError(`BENCH_SPREAD_ROOM_BUDGET must be 0.1-0.45 (two workers share one core), got ${env.BENCH_SPREAD_ROOM_BUDGET}`);
	const rounds = Number(env.BENCH_ROUNDS ?? (quick ? 3 : 4));
	if (!(Number.isInteger(rounds) && rounds >= 3)) throw new RangeError(`BENCH_ROUNDS must be an integer >= 3, got ${env.BENCH_ROUNDS}`);
	return {
		quick,
		rounds,
		lossThreshold: 0.01,
		backlogThreshold: 0.03,
		stallShare: 0.5,
		workerBudget: budget,
		spreadRoomBudget,
		roomsPerWorker: 3,
		probeLoad: 0.5,
		calibrationSubscribers: 16,
		rampStart: 1.05,
		stride: 1.08,
		// The probe's us/packet at low load overestimates the cost near saturation: leave room to climb.
		maxStrides: quick ? 6 : 8,
		bisections: quick ? 0 : 2,
		resolution: 0.02,
		settleMs: quick ? 500 : 1000,
		settleIntervalMs: quick ? 750 : 1000,
		maxSettleMs: quick ? 3000 : 5000,
		windowMs: quick ? 1500 : 3000,
		costPeers: quick ? 6 : 12,
		costStatsCalls: quick ? 100 : 400,
		costRooms: 200,
		costWindowMs: quick ? 2000 : 4000,
		latencyJoins: quick ? 8 : 30,
		statsRooms: 1000,
		statsRequests: quick ? 200 : 1000,
		memoryPeers: quick ? 8 : 24,
		placement: {
			workers: 4,
			seconds: quick ? 86_400 : 7 * 86_400,
			targetUtilization: 0.4,
			paretoAlpha: 2,
			maxPeers: 20,
			spreadSweep: [0.3, 0.4, 0.5, 0.6, 0.7],
			// Issue 12's policy, before ROOM_SPREAD_MIN_PEERS: what the minimum buys.
			spreadCompare: [{ roomSpreadCpu: 0.6, roomSpreadMinPeers: 1 }],
		},
		rtcBasePort: Number(env.BENCH_RTC_BASE_PORT ?? '40000'),
	};
}
