// Run parameters: --quick (under 2 minutes) and the full run (about 10).
export type BenchSettings = {
	quick: boolean;
	/** Loss threshold for "carried". */
	lossThreshold: number;
	/** Per-worker CPU budget for the server-bound ramps (fraction of a core). */
	workerBudget: number;
	/** Rounds of the budgeted ramps (A B C A B C ...). */
	rounds: number;
	roomsPerWorker: number;
	/** wrtc subscribers per worker in the mixed-load ramps (the rest are light subscribers). */
	wrtcPerWorker: number;
	/** Subscribers per worker of the calibration step. */
	firstStep: number;
	/** Steps as fractions of the predicted knee, then at most `extraSteps` 20% strides. */
	kneeFractions: number[];
	extraSteps: number;
	/** Bisection steps between the best good and the lowest failed step, and when to stop early (relative gap). */
	bisectSteps: number;
	resolution: number;
	windowMs: number;
	/** Window of a ramp's first (calibration) step. */
	calibrationWindowMs: number;
	settleMs: number;
	/** The client and sink processes stay below this share of a core (else the figure would be client-bound). */
	loadCpuCeiling: number;
	/** Steps of the wrtc-only ramp (each re-aimed at what the client process can carry). */
	wrtcOnlySteps: number;
	/** Also ramp Tureen and raw mediasoup on a whole core with the mixed load. */
	wholeCoreRamps: boolean;
	latencyJoins: number;
	statsRooms: number;
	statsRequests: number;
	memoryPeers: number;
	placement: { workers: number; seconds: number; targetUtilization: number; paretoAlpha: number; maxPeers: number };
	rtcBasePort: number;
};

export function benchSettings(quick: boolean, env: Record<string, string | undefined> = process.env): BenchSettings {
	const budget = Number(env.BENCH_WORKER_BUDGET ?? '0.25');
	return {
		quick,
		lossThreshold: 0.01,
		workerBudget: budget >= 0.1 && budget <= 1 ? budget : 0.25,
		rounds: quick ? 1 : 2,
		roomsPerWorker: 3,
		wrtcPerWorker: 3,
		firstStep: 40,
		// The knee predicted from the first step comes out ~20% low (a saturated
		// worker batches more work per wake-up), hence fractions above 1.
		kneeFractions: quick ? [1.05, 1.2, 1.35] : [0.9, 1.0, 1.1, 1.2, 1.3, 1.45],
		extraSteps: quick ? 1 : 3,
		bisectSteps: quick ? 0 : 3,
		resolution: 0.04,
		windowMs: quick ? 3000 : 6000,
		calibrationWindowMs: quick ? 2000 : 3000,
		settleMs: quick ? 1500 : 2500,
		loadCpuCeiling: 0.9,
		wrtcOnlySteps: quick ? 2 : 3,
		wholeCoreRamps: !quick,
		latencyJoins: quick ? 12 : 40,
		statsRooms: 1000,
		statsRequests: quick ? 200 : 1000,
		memoryPeers: quick ? 10 : 30,
		placement: { workers: 4, seconds: quick ? 86_400 : 7 * 86_400, targetUtilization: 0.4, paretoAlpha: 2, maxPeers: 20 },
		rtcBasePort: Number(env.BENCH_RTC_BASE_PORT ?? '40000'),
	};
}
