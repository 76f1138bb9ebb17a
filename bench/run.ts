// npm run bench [-- --quick]: Tureen's load benchmark. Figures, never
// pass/fail. Prints a Markdown table, writes bench/results/<date>.json and
// bench/results/latest.md. See bench/README.md for what each figure means.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import * as mediasoup from 'mediasoup';

import { runCapacityFigures } from './capacityFigures.ts';
import { CpuBudget } from './cpuBudget.ts';
import { canPin, ChildHandle } from './ipc.ts';
import { measureJoinLatency } from './latency.ts';
import { measureMemoryAndStats } from './memory.ts';
import { runPlacementSim } from './placementSim.ts';
import { renderMarkdown, type BenchResults } from './report.ts';
import { captureRates, prepareCapture } from './rtpReplay.ts';
import { loadCapture } from './rtpCapture.ts';
import { benchSettings } from './settings.ts';

const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'results');
const SERVER_CORE = 0;
const LOAD_CORE = 1;
/** The run gives up on a figure that takes longer than this (bounded runtime). */
const FIGURE_TIMEOUT_MS = { quick: 150_000, full: 600_000 };

const { values } = parseArgs({
	options: { quick: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
	strict: true,
});
if (values.help) {
	console.log('usage: npx tsx bench/run.ts [--quick]   (see bench/README.md)');
	process.exit(0);
}

const quick = values.quick ?? false;
const settings = benchSettings(quick);
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s`;
const log = (line: string) => process.stderr.write(`[bench ${elapsed()}] ${line}\n`);

const pinned = canPin(cpus().length);
const serverCore = pinned ? SERVER_CORE : undefined;
const loadCore = pinned ? LOAD_CORE : undefined;
// The orchestrator is a load generator too (it times /stats): it lives with the clients.
if (pinned) spawnSync('/usr/bin/taskset', ['-a', '-p', '-c', String(LOAD_CORE), String(process.pid)], { stdio: 'ignore' });

const children: ChildHandle[] = [];
const servers = new Set<ChildHandle>();
const startServer = () => {
	const child = ChildHandle.start('server', 'serverChild.ts', serverCore, {}, ['--expose-gc']);
	children.push(child);
	servers.add(child);
	return child;
};
const budgetPrefix = `tureen-bench-${process.pid}-`;
process.once('SIGINT', () => {
	log('interrupted: stopping child processes');
	for (const child of children) if (child.pid > 0) process.kill(child.pid, 'SIGKILL');
	CpuBudget.removeLeftovers(budgetPrefix);
	process.exit(130);
});

async function figure<T>(name: string, results: BenchResults, run: () => Promise<T>): Promise<T | undefined> {
	const timeoutMs = quick ? FIGURE_TIMEOUT_MS.quick : FIGURE_TIMEOUT_MS.full;
	let timer: NodeJS.Timeout | undefined;
	try {
		return await Promise.race([
			run(),
			new Promise<never>((_, reject) => {
				timer = setTimeout(() => reject(new Error(`${name} took longer than ${timeoutMs / 1000} s`)), timeoutMs);
			}),
		]);
	} catch (error) {
		const message = (error as Error).message.split('\n')[0] ?? String(error);
		log(`${name} failed: ${message}`);
		results.errors.push({ figure: name, message });
		// Whatever that figure left running must not disturb the next one.
		await Promise.all([...servers].map((server) => server.stop(2000)));
		servers.clear();
		CpuBudget.removeLeftovers(budgetPrefix);
		return undefined;
	} finally {
		clearTimeout(timer);
	}
}

async function main(): Promise<void> {
	log(`${quick ? 'quick' : 'full'} run; ${pinned ? `server on core ${SERVER_CORE}, load on core ${LOAD_CORE}` : 'no CPU pinning (needs taskset and 2+ CPUs)'}`);
	const capture = await loadCapture();
	log(`${capture.cached ? 'using' : 'recorded'} RTP capture ${capture.path}`);
	const rates = captureRates(prepareCapture(capture.capture));
	const packetsPerSubscriber = rates.videoPps + rates.audioPps;

	const results: BenchResults = {
		date: new Date().toISOString(),
		quick,
		durationS: 0,
		machine: {
			cpus: cpus().length,
			cpuModel: cpus()[0]?.model ?? 'unknown',
			node: process.versions.node,
			mediasoup: mediasoup.version,
			pinned,
			...(pinned ? { serverCore: SERVER_CORE, loadCore: LOAD_CORE } : {}),
		},
		load: { ...rates, capture: capture.capture.params },
		errors: [],
	};

	const client = ChildHandle.start('client', 'clientChild.ts', loadCore);
	const sink = ChildHandle.start('sink', 'sinkChild.ts', loadCore);
	children.push(client, sink);
	try {
		// Two workers get a core each (as in production), unless BENCH_SPREAD_WORKERS=0 keeps both on the server's core.
		const twoWorkerCores = pinned && process.env.BENCH_SPREAD_WORKERS !== '0' ? [SERVER_CORE, LOAD_CORE] : undefined;
		results.capacity = await figure('capacity', results, () =>
			runCapacityFigures(settings, { client, sink }, startServer, packetsPerSubscriber, log, twoWorkerCores),
		);
		log('placement: simulating');
		const usPerPacket = results.capacity?.ramps.find((r) => r.config.label === 'tureen-1w')?.workerUsPerPacket ?? 15;
		results.placement = await figure('placement', results, async () =>
			runPlacementSim({
				workers: settings.placement.workers,
				targetUtilization: settings.placement.targetUtilization,
				seconds: settings.placement.seconds,
				seed: 20_261_124,
				usPerPacket,
				packetsPerConsumer: packetsPerSubscriber / 2,
				paretoAlpha: settings.placement.paretoAlpha,
				minPeers: 2,
				maxPeers: settings.placement.maxPeers,
				meanLifetimeS: 20 * 60,
				cpuSimilarThreshold: 0.1,
			}),
		);
		log(`memory and /stats: ${settings.statsRooms} rooms, ${settings.memoryPeers} peers`);
		results.memory = await figure('memory', results, () =>
			measureMemoryAndStats(startServer, client, {
				rooms: settings.statsRooms,
				peers: settings.memoryPeers,
				statsRequests: settings.statsRequests,
				rtcBasePort: settings.rtcBasePort,
			}),
		);
		log(`latency: ${settings.latencyJoins} joins`);
		results.latency = await figure('latency', results, () => measureJoinLatency(startServer, client, settings.latencyJoins, settings.rtcBasePort));
	} finally {
		await Promise.all([client.stop(), sink.stop()]);
		await Promise.all(children.map((child) => child.stop()));
		CpuBudget.removeLeftovers(budgetPrefix);
	}

	results.durationS = (performance.now() - started) / 1000;
	const markdown = renderMarkdown(results);
	await mkdir(RESULTS_DIR, { recursive: true });
	const stamp = results.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
	const jsonPath = join(RESULTS_DIR, `${stamp}.json`);
	await writeFile(jsonPath, `${JSON.stringify(results, null, '\t')}\n`);
	await writeFile(join(RESULTS_DIR, 'latest.md'), markdown);
	process.stdout.write(markdown);
	log(`wrote ${jsonPath} and bench/results/latest.md`);
}

main().then(
	() => process.exit(0),
	(error: unknown) => {
		log(`failed: ${(error as Error).stack ?? String(error)}`);
		CpuBudget.removeLeftovers(budgetPrefix);
		process.exit(1);
	},
);
