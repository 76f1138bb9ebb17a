// npm run bench [-- report] [--quick] [--worker-bin PATH] (and `-- spread-room`,
// which runs this with --only spread-room): Tureen's main benchmark.
// Figures, never pass/fail: per-packet worker costs with their SRTP-off floor
// and a raw-mediasoup calibration, saturation ramps with 1 and 2 workers,
// Tureen's own Node costs, latency, memory, a placement simulation (also with
// rooms spreading over workers), a piped consumer's cost against a local one; each over
// several rounds with median and spread, ratios paired inside a round. Prints
// a Markdown table, writes bench/results/<date>.json and bench/results/latest.md,
// and exits non-zero when any figure could not be measured.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { runCapacityRounds, summary } from './capacityRounds.ts';
import { CpuBudget } from './cpuBudget.ts';
import { canPin, ChildHandle } from './ipc.ts';
import { measureJoinLatency } from './latency.ts';
import { defaultWorkerBin, describeMachine, describeWorkerBinary } from './machineInfo.ts';
import { measureMemoryAndStats } from './memory.ts';
import { measurePipeCost } from './pipeCost.ts';
import { runPlacementSim } from './placementSim.ts';
import { computeFigures, renderMarkdown, type BenchResults } from './report.ts';
import { loadCapture } from './rtpCapture.ts';
import { captureRates, prepareCapture } from './rtpReplay.ts';
import { benchSettings } from './settings.ts';
import { runSpreadRoomRounds } from './spreadRoom.ts';
import { measureTureenCost, type TureenCostRound } from './tureenCost.ts';

const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');
const SERVER_CORE = 0;
const LOAD_CORE = 1;
const CONSUMERS_PER_SUBSCRIBER = 2;

const { values } = parseArgs({
	options: {
		quick: { type: 'boolean', default: false },
		'worker-bin': { type: 'string' },
		only: { type: 'string' },
		help: { type: 'boolean', short: 'h', default: false },
	},
	strict: true,
});
if (values.help) {
	console.log('usage: npm run bench -- [report|spread-room] [--quick] [--worker-bin PATH]   (see bench/README.md)');
	process.exit(0);
}
if (values.only !== undefined && values.only !== 'spread-room') {
	console.error(`--only takes "spread-room" (the one figure that can run alone), not "${values.only}"`);
	process.exit(2);
}
const only = values.only;
/** This run as it was asked for, named in its report. */
const command = ['npm run bench --', ...(only ? [only] : []), ...(values.quick ? ['--quick'] : []), ...(values['worker-bin'] ? ['--worker-bin', values['worker-bin']] : [])].join(' ').replace(/ --$/, '');

const quick = values.quick ?? false;
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s`;
const log = (line: string) => process.stderr.write(`[bench ${elapsed()}] ${line}\n`);
const budgetPrefix = `tureen-bench-${process.pid}-`;
const children: ChildHandle[] = [];

function spawnChild(name: string, file: string, core: number, env: Record<string, string> = {}, nodeArgs: string[] = []): ChildHandle {
	const child = ChildHandle.start(name, file, core, env, nodeArgs);
	children.push(child);
	return child;
}

process.once('SIGINT', () => {
	log('interrupted: stopping child processes');
	for (const child of children) if (child.pid > 0) process.kill(child.pid, 'SIGKILL');
	CpuBudget.removeLeftovers(budgetPrefix);
	process.exit(130);
});

/** Runs one figure; a failure is recorded (the run goes on and exits non-zero), never replaced by a guess. */
async function figure<T>(name: string, results: BenchResults, run: () => Promise<T>): Promise<T | undefined> {
	try {
		return await run();
	} catch (error) {
		const message = (error as Error).message.split('\n')[0] ?? String(error);
		log(`${name} FAILED: ${message}`);
		results.errors.push({ figure: name, message });
		CpuBudget.removeLeftovers(budgetPrefix);
		return undefined;
	}
}

async function main(): Promise<number> {
	const settings = benchSettings(quick);
	// Budgets and pinning are what make 1- and 2-worker figures comparable: without them, stop.
	if (!canPin(cpus().length)) throw new Error('the benchmark needs 2+ CPUs and /usr/bin/taskset (util-linux)');
	const noBudget = CpuBudget.unavailableReason();
	if (noBudget) throw new Error(`the benchmark needs cgroup CPU budgets (run as root): ${noBudget}`);
	spawnSync('/usr/bin/taskset', ['-a', '-p', '-c', String(LOAD_CORE), String(process.pid)], { stdio: 'ignore' });

	const mainBin = describeWorkerBinary(defaultWorkerBin());
	const otherBin = values['worker-bin'] ? describeWorkerBinary(values['worker-bin']) : undefined;
	const capture = await loadCapture();
	log(`${quick ? 'quick' : 'full'} run, ${settings.rounds} rounds; worker ${mainBin.path} (${mainBin.srtpCrypto})${otherBin ? `; --worker-bin ${otherBin.path} (${otherBin.srtpCrypto})` : ''}`);
	const rates = captureRates(prepareCapture(capture.capture));
	const packetsPerSubscriber = rates.videoPps + rates.audioPps;

	const date = new Date().toISOString();
	const stamp = date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
	const results: BenchResults = {
		date,
		command,
		resultsFile: `${stamp}${quick ? '-quick' : ''}${only ? `-${only}` : ''}.json`,
		quick,
		durationS: 0,
		machine: describeMachine(),
		cores: { server: SERVER_CORE, load: LOAD_CORE },
		workerBinaries: { main: mainBin, ...(otherBin ? { other: otherBin } : {}) },
		settings,
		load: { ...rates, packetsPerSubscriber, packetsPerConsumer: packetsPerSubscriber / CONSUMERS_PER_SUBSCRIBER, capture: capture.capture.params },
		errors: [],
		...(only ? { only } : {}),
	};

	const client = spawnChild('client', 'clientChild.ts', LOAD_CORE);
	const sink = spawnChild('sink', 'sinkChild.ts', LOAD_CORE);
	const mainServer = spawnChild('server', 'serverChild.ts', SERVER_CORE);
	const otherServer = otherBin ? spawnChild('server (--worker-bin)', 'serverChild.ts', SERVER_CORE, { MEDIASOUP_WORKER_BIN: otherBin.path }) : undefined;
	const freshServer = () => spawnChild('server', 'serverChild.ts', SERVER_CORE, {}, ['--expose-gc']);
	const spreadRoom = () =>
		figure('spread room', results, async () => {
			log('rooms spanning workers: the largest all-to-all room on 1 worker and spread over 2');
			const figures = await runSpreadRoomRounds(settings, { server: mainServer, sink }, packetsPerSubscriber, budgetPrefix, log);
			for (const message of figures.errors) results.errors.push({ figure: 'spread room', message });
			return figures;
		});
	try {
		if (only === 'spread-room') {
			results.spreadRoom = await spreadRoom();
			return await finish(results);
		}
		results.capacity = await figure('capacity', results, () =>
			runCapacityRounds(settings, { servers: { main: mainServer, other: otherServer }, sink }, packetsPerSubscriber, budgetPrefix, log),
		);
		for (const message of results.capacity?.errors ?? []) results.errors.push({ figure: 'capacity', message });
		results.spreadRoom = await spreadRoom();

		const cost: (TureenCostRound | undefined)[] = [];
		for (let round = 1; round <= settings.rounds; round++) {
			log(`Tureen's Node costs: round ${round} (${settings.costPeers} joins, ${settings.costStatsCalls} /stats calls)`);
			cost.push(
				await figure(`Tureen cost, round ${round}`, results, () =>
					measureTureenCost(mainServer, client, {
						peers: settings.costPeers,
						statsCalls: settings.costStatsCalls,
						rooms: settings.costRooms,
						windowMs: settings.costWindowMs,
						rtcBasePort: settings.rtcBasePort,
					}),
				),
			);
		}
		results.tureenCost = cost;

		results.placement = await figure('placement', results, async () => {
			const usPerPacket = summary(results.capacity?.usPerPacket.main, settings.rounds)?.median;
			if (usPerPacket === undefined) throw new Error('needs the worker CPU per packet, which was not measured');
			return runPlacementSim({
				workers: settings.placement.workers,
				targetUtilization: settings.placement.targetUtilization,
				seconds: settings.placement.seconds,
				seed: 20_261_124,
				usPerPacket,
				packetsPerConsumer: packetsPerSubscriber / CONSUMERS_PER_SUBSCRIBER,
				paretoAlpha: settings.placement.paretoAlpha,
				minPeers: 2,
				maxPeers: settings.placement.maxPeers,
				meanLifetimeS: 20 * 60,
				cpuSimilarThreshold: 0.1,
				spreadSweep: settings.placement.spreadSweep,
				spreadCompare: settings.placement.spreadCompare,
			});
		});
		log('rooms spanning workers: a piped consumer against a local one');
		results.pipeCost = await figure('pipe cost', results, () =>
			measurePipeCost({ rounds: settings.rounds, publishers: 4, subscribers: 4, settleMs: 1000, windowMs: settings.windowMs }, log),
		);
		log(`memory and /stats: ${settings.statsRooms} rooms, ${settings.memoryPeers} peers`);
		results.memory = await figure('memory', results, () =>
			measureMemoryAndStats(freshServer, client, {
				rooms: settings.statsRooms,
				peers: settings.memoryPeers,
				statsRequests: settings.statsRequests,
				rtcBasePort: settings.rtcBasePort,
			}),
		);
		log(`latency: ${settings.latencyJoins} joins`);
		results.latency = await figure('latency', results, () => measureJoinLatency(freshServer, client, settings.latencyJoins, settings.rtcBasePort));
	} finally {
		await Promise.all(children.map((child) => child.stop()));
		CpuBudget.removeLeftovers(budgetPrefix);
	}
	return finish(results);
}

/** Figures, report and results file; the exit status. */
async function finish(results: BenchResults): Promise<number> {
	results.durationS = (performance.now() - started) / 1000;
	results.machine.loadAverage.end = loadavg()[0]!;
	results.figures = computeFigures(results);
	for (const row of results.figures.rows) if (!row.value) results.errors.push({ figure: row.name, message: 'not measured in every round' });
	const markdown = renderMarkdown(results);
	await mkdir(RESULTS_DIR, { recursive: true });
	const jsonPath = join(RESULTS_DIR, results.resultsFile);
	await writeFile(jsonPath, `${JSON.stringify(results, null, '\t')}\n`);
	await writeFile(join(RESULTS_DIR, 'latest.md'), markdown);
	process.stdout.write(markdown);
	log(`wrote ${jsonPath} and bench/results/latest.md`);
	return results.errors.length ? 1 : 0;
}

main().then(
	(code) => process.exit(code),
	(error: unknown) => {
		log(`failed: ${(error as Error).stack ?? String(error)}`);
		CpuBudget.removeLeftovers(budgetPrefix);
		process.exit(1);
	},
);
