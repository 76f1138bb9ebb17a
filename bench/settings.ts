// Run parameters: --quick (every figure, under 3 minutes on 2 cores) and the
// full run (more rounds, longer windows, finer steps; under 15 minutes).
export type BenchSettings = {
	quick: boolean;
	/** Rounds: every configuration is measured once per round; ratios pair figures of one round. */
	rounds: number;
	/** Highest sequence-gap loss of any single consumer, and highest received-vs-sent deficit of a step. */
	lossThreshold: number;
	/** A consumer receiving less than this share of what was sent has stalled. */
	stallShare: number;
	/** Per-worker CPU budget (cgroup quota, fraction of a core), the same for every configuration. */
	workerBudget: number;
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
	placement: { workers: number; seconds: number; targetUtilization: number; paretoAlpha: number; maxPeers: number };
	rtcBasePort: number;
};

export function benchSettings(quick: boolean, env: Record<string, string | undefined> = process.env): BenchSettings {
	const budget = Number(env.BENCH_WORKER_BUDGET ?? '0.25');
	if (!(budget >= 0.1 && budget <= 1)) throw new RangeError(`BENCH_WORKER_BUDGET must be 0.1-1, got ${env.BENCH_WORKER_BUDGET}`);
	const rounds = Number(env.BENCH_ROUNDS ?? (quick ? 3 : 5));
	if (!(Number.isInteger(rounds) && rounds >= 3)) throw new RangeError(`BENCH_ROUNDS must be an integer >= 3, got ${env.BENCH_ROUNDS}`);
	return {
		quick,
		rounds,
		lossThreshold: 0.01,
		stallShare: 0.5,
		workerBudget: budget,
		roomsPerWorker: 3,
		probeLoad: 0.6,
		calibrationSubscribers: 16,
		rampStart: 1.05,
		stride: quick ? 1.15 : 1.1,
		maxStrides: quick ? 3 : 6,
		bisections: quick ? 1 : 3,
		resolution: quick ? 0.06 : 0.025,
		settleMs: quick ? 1000 : 2000,
		settleIntervalMs: 1000,
		maxSettleMs: quick ? 6000 : 10_000,
		windowMs: quick ? 2000 : 4000,
		costPeers: quick ? 6 : 12,
		costStatsCalls: quick ? 100 : 400,
		costRooms: 200,
		costWindowMs: quick ? 2000 : 4000,
		latencyJoins: quick ? 8 : 30,
		statsRooms: 1000,
		statsRequests: quick ? 200 : 1000,
		memoryPeers: quick ? 8 : 24,
		placement: { workers: 4, seconds: quick ? 86_400 : 7 * 86_400, targetUtilization: 0.4, paretoAlpha: 2, maxPeers: 20 },
		rtcBasePort: Number(env.BENCH_RTC_BASE_PORT ?? '40000'),
	};
}
