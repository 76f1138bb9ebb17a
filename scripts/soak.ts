// Soak: an hour (by default) of churn against a local two-node cluster, then a
// check that everything it made is gone again. Not in CI.
//
//   npm run soak                                   # 60 min, report every 5, kill a worker every 3, Redis restart at 30
//   npm run soak -- --minutes 3 --report-every-minutes 1 --kill-every-minutes 1 --redis-restart-at-minute 2
//
// Options (all optional):
//   --minutes N                   churn this long (default 60)
//   --report-every-minutes M      print the table every M minutes (default 5)
//   --kill-every-minutes K        kill -9 one mediasoup-worker every K minutes, nodes in turn (default 3; 0: never)
//   --redis-restart-at-minute R   kill -9 redis-server at minute R and start it again, empty (default N/2; -1: never)
//   --participants P              simulated participants (default 8; every third also sends video)
//   --rooms N                     rooms they pick from (default 3)
//   --rtc-base-port B             first RTC port (default 47000; each node takes 2 x 100 ports)
//   --seed S                      seed of the choices (default: the time)
//
// What runs: a throwaway redis-server and two Tureen nodes (2 mediasoup
// workers each), started as processes by scripts/localCluster.ts, with
// ROOM_MAX_PEERS_PER_ROUTER=2 so a room of 3 or more peers spans both workers
// of its node and folds back as it empties (docs/placement.md), and
// ROOM_IDLE_TIMEOUT_MS=5000 so empty rooms close soon. Participants are
// @roamhq/wrtc clients (client/tureenClient.ts through test/support): real
// ICE/DTLS/SRTP audio (and small 160x120 10 fps video for every third), a
// data channel with a message every 2 s, unpublish/republish now and then,
// 15-45 s per visit, through either node (the client follows WRONG_NODE).
//
// Measured only from outside the server:
//   node RSS            /proc/<node pid>/status VmRSS
//   node heap           /metrics nodejs_heap_size_used_bytes (prom-client default metrics)
//   sockets             socket descriptors in /proc/<pid>/fd, of the node and of each worker, by kind
//                       from /proc/net/{tcp,tcp6,udp,udp6,unix}: listen, redis, clients (HTTP/WebSocket
//                       in), unix (worker channels), udp/tcp (RTC ports); the soak's own HTTP polls use
//                       a connection each, closed at once, and the baseline waits until no client is connected
//   worker RSS          /proc/<worker pid>/status VmRSS, pids from GET /workers
//   mediasoup objects   /metrics tureen_worker_{routers,transports,producers,consumers}: no public
//                       endpoint exposes worker.dump(); these gauges are kept from mediasoup's observer
//                       events (src/metrics/mediaCounts.ts), i.e. the objects the server holds open
//   pipes               GET /workers pipeTransports (table) and pipedProducers (end check)
//   rooms, peers        /metrics tureen_rooms, tureen_peers (and GET /rooms for how many workers a room spans)
//
// End check, after every participant has left and the rooms have closed
// (polled until they match, up to 90 s): rooms, peers, routers, transports,
// producers, consumers, pipe transports, node and worker sockets and live
// workers all back to their value at the start, and each RSS within
// RSS_BOUND below of its start. Exit code 1 if not (or if a node died).
// Each node's log (warn and above) is written to $TMPDIR/tureen-soak-<pid>-<node>.log at the end.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

import { seededRandom } from '../test/support/random.ts';
import { freePort, ROOT, startNode, startRedis, waitFor, type NodePlan, type NodeProcess, type RedisProcess } from './localCluster.ts';
import { newCounters, Participant, type ChurnCounters } from './soak/participant.ts';
import { compare, isSettled, printSnapshot, RSS_BOUND, snapshot, type Snapshot } from './soak/snapshot.ts';
import {
	commandName,
	getJson,
	httpGet,
	MiB,
	parentPid,
	type RoomsJson,
	type WorkersJson,
} from './soak/probe.ts';


type Options = {
	minutes: number;
	reportEveryMinutes: number;
	killEveryMinutes: number;
	redisRestartAtMinute: number;
	participants: number;
	rooms: number;
	rtcBasePort: number;
	seed: number;
};

function parseOptions(argv: readonly string[]): Options {
	const values = new Map<string, number>();
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i]!;
		const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
		if (!match) throw new Error(`unexpected argument ${arg}`);
		const raw = match[2] ?? argv[++i];
		const value = Number(raw);
		if (raw === undefined || !Number.isFinite(value)) throw new Error(`--${match[1]} needs a number`);
		values.set(match[1]!, value);
	}
	const known = ['minutes', 'report-every-minutes', 'kill-every-minutes', 'redis-restart-at-minute', 'participants', 'rooms', 'rtc-base-port', 'seed'];
	for (const key of values.keys()) if (!known.includes(key)) throw new Error(`unknown option --${key} (known: ${known.map((k) => `--${k}`).join(', ')})`);
	const minutes = values.get('minutes') ?? 60;
	const options: Options = {
		minutes,
		reportEveryMinutes: values.get('report-every-minutes') ?? 5,
		killEveryMinutes: values.get('kill-every-minutes') ?? 3,
		redisRestartAtMinute: values.get('redis-restart-at-minute') ?? minutes / 2,
		participants: values.get('participants') ?? 8,
		rooms: values.get('rooms') ?? 3,
		rtcBasePort: values.get('rtc-base-port') ?? 47_000,
		seed: values.get('seed') ?? Date.now() % 1_000_000,
	};
	if (!(options.minutes > 0 && options.minutes <= 24 * 60)) throw new Error('--minutes must be in (0, 1440]');
	if (!(options.reportEveryMinutes > 0)) throw new Error('--report-every-minutes must be > 0');
	if (!(options.participants >= 1 && options.participants <= 40)) throw new Error('--participants must be 1..40');
	if (!(options.rooms >= 1 && options.rooms <= 20)) throw new Error('--rooms must be 1..20');
	return options;
}

async function sha256(path: string): Promise<string> {
	const hash = createHash('sha256');
	for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
	return hash.digest('hex');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const started = Date.now();
const minutesSinceStart = () => (Date.now() - started) / 60_000;
const at = () => ({ minute: minutesSinceStart(), redisPort: processes.redis?.port });
function log(line: string): void {
	console.log(`[${minutesSinceStart().toFixed(2).padStart(6)} min] ${line}`);
}

// ---------------------------------------------------------------- measuring


const options = parseOptions(process.argv.slice(2));
const processes: { nodes: NodeProcess[]; redis: RedisProcess | undefined } = { nodes: [], redis: undefined };
const participants: Participant[] = [];
let shuttingDown = false;

async function stopEverything(): Promise<void> {
	for (const p of participants) p.stop();
	// Our own children only, by the handle (pid) we started them with.
	await Promise.all(processes.nodes.map((n) => n.stop('SIGTERM', 10_000)));
	await processes.redis?.stop('SIGKILL');
	// Their logs (LOG_LEVEL=warn, so short), for whoever reads a failure.
	for (const n of processes.nodes) {
		const file = join(tmpdir(), `tureen-soak-${process.pid}-${n.plan.nodeId}.log`);
		try {
			writeFileSync(file, n.output());
			console.log(`${n.plan.nodeId} log: ${file}`);
		} catch {
			// no log then
		}
	}
}

function onSignal(signal: NodeJS.Signals): void {
	if (shuttingDown) return;
	shuttingDown = true;
	console.log(`\n${signal}: stopping the participants, the nodes and redis-server`);
	void stopEverything().finally(() => process.exit(130));
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

async function printHeader(): Promise<void> {
	const list = cpus();
	const workerBin = process.env.MEDIASOUP_WORKER_BIN ?? join(ROOT, 'node_modules/mediasoup/worker/out/Release/mediasoup-worker');
	console.log('Tureen soak');
	console.log(`  machine   ${list.length} cores, ${list[0]?.model.trim() ?? 'unknown'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}, load ${loadavg()[0]!.toFixed(2)}`);
	console.log(`  node      ${process.version}`);
	console.log(`  worker    ${workerBin}`);
	console.log(`  sha256    ${existsSync(workerBin) ? await sha256(workerBin) : 'missing'}`);
	console.log(
		`  plan      ${options.minutes} min, report every ${options.reportEveryMinutes}, kill a worker every ${options.killEveryMinutes || 'never'}, ` +
			`Redis restart at ${options.redisRestartAtMinute >= 0 ? options.redisRestartAtMinute : 'never'}; ` +
			`${options.participants} participants, ${options.rooms} rooms, seed ${options.seed}`,
	);
	console.log(`  bound     RSS and heap at the end <= max(ref x ${RSS_BOUND.ratio}, ref + ${RSS_BOUND.plusBytes / MiB} MiB), ref = start and first report; every count = its start\n`);
}

const NODE_ENV: Record<string, string> = {
	LOG_LEVEL: 'warn',
	MAX_CONNECTIONS_PER_IP: '100000',
	MAX_ROOMS_PER_IP_PER_MINUTE: '100000',
	JOIN_TIMEOUT_MS: '600000',
	ROOM_MAX_PEERS_PER_ROUTER: '2',
	ROOM_IDLE_TIMEOUT_MS: '5000',
	DRAIN_TIMEOUT_MS: '10000',
};

async function startCluster(): Promise<void> {
	processes.redis = await startRedis(await freePort());
	for (let i = 0; i < 2; i++) {
		const plan: NodePlan = {
			nodeId: `soak-${i + 1}`,
			port: await freePort(),
			rtcBasePort: options.rtcBasePort + i * 200,
			rtcPortsPerWorker: 100,
			workers: 2,
			redisUrl: processes.redis.url,
		};
		const node = await startNode(plan, NODE_ENV);
		processes.nodes.push(node);
		void node.exited.then((exit) => {
			if (!shuttingDown) log(`NODE ${plan.nodeId} EXITED (${JSON.stringify(exit)}): ${node.output().slice(-2000)}`);
		});
		log(`${plan.nodeId} ready: pid ${node.pid}, ${node.baseUrl}, RTC ports ${plan.rtcBasePort}-${plan.rtcBasePort + 199}`);
	}
}

/** kill -9 of one live mediasoup-worker of `node`, checked to be that node's child. */
async function killWorker(node: NodeProcess, random: () => number): Promise<void> {
	const { workers } = await getJson<WorkersJson>(`${node.baseUrl}/workers`);
	const live = workers.filter((w) => !w.closed && parentPid(w.pid) === node.pid && commandName(w.pid)?.startsWith('mediasoup-work'));
	// A worker with peers when there is one: their rooms must move (roomMoved, re-created media).
	const busy = live.filter((w) => w.peerCount > 0);
	const pool = busy.length > 0 ? busy : live;
	const victim = pool[Math.floor(random() * pool.length)];
	if (!victim) {
		log(`worker kill on ${node.plan.nodeId}: no live worker that is its child (skipped)`);
		return;
	}
	process.kill(victim.pid, 'SIGKILL');
	log(`killed worker ${victim.workerId} (pid ${victim.pid}, ${victim.peerCount} peers) of ${node.plan.nodeId}`);
	await waitFor(
		`${node.plan.nodeId} worker ${victim.workerId} to respawn`,
		async () => (await getJson<WorkersJson>(`${node.baseUrl}/workers`)).workers.some((w) => w.workerId === victim.workerId && !w.closed && w.pid !== victim.pid),
		30_000,
		{ intervalMs: 500 },
	).then(
		() => log(`${node.plan.nodeId} worker ${victim.workerId} respawned`),
		(error: Error) => log(`${node.plan.nodeId} worker ${victim.workerId}: ${error.message}`),
	);
}

async function restartRedis(): Promise<void> {
	const old = processes.redis;
	if (!old) return;
	log(`kill -9 redis-server (pid ${old.pid})`);
	await old.stop('SIGKILL');
	await sleep(3_000);
	processes.redis = await startRedis(old.port);
	log(`redis-server started again, empty (pid ${processes.redis.pid})`);
	const t0 = Date.now();
	await waitFor('every node ready again', async () => (await Promise.all(processes.nodes.map((n) => httpGet(`${n.baseUrl}/ready`)))).every((a) => a.status === 200), 60_000, {
		intervalMs: 500,
	}).then(
		() => log(`every node ready again ${Date.now() - t0} ms after Redis came back`),
		(error: Error) => log(error.message),
	);
}

function summary(counters: ChurnCounters, kills: number, redisRestarts: number, maxSpan: number): void {
	const map = (m: Map<string, number>) => (m.size === 0 ? 'none' : [...m].map(([k, v]) => `${k} x${v}`).join('; '));
	console.log('\nChurn');
	console.log(`  joins ${counters.joins}, leaves ${counters.leaves}, publishes ${counters.publishes}, unpublishes ${counters.unpublishes}`);
	console.log(`  remote tracks received ${counters.tracksReceived}; data messages sent ${counters.dataSent}, received ${counters.dataReceived}`);
	console.log(`  worker kills ${kills}, Redis restarts ${redisRestarts}; roomMoved ${counters.roomMoved}, recovered ${counters.recovered}, reconnecting ${counters.reconnecting}, closed ${counters.closedByServer}`);
	console.log(`  widest room seen: ${maxSpan} worker(s)${maxSpan >= 2 ? ' (rooms spanned and folded)' : ' (NO ROOM SPANNED)'}`);
	console.log(`  join failures: ${map(counters.joinFailures)}`);
	console.log(`  step failures: ${map(counters.stepFailures)}`);
	console.log(`  client errors: ${map(counters.clientErrors)}`);
}

async function main(): Promise<number> {
	await printHeader();
	await startCluster();
	const nodes = processes.nodes;
	// Let the workers' CPU samples and Redis heartbeats settle before the baseline, and
	// wait out the keep-alive connections of startNode's /ready polls (fetch keeps them
	// open up to the server's keep-alive timeout): the baseline has no client connected.
	await sleep(5_000);
	await waitFor(
		'no client connection to any node',
		async () => (await snapshot(nodes, 'start', at())).nodes.every((n) => (n.sockets?.clients ?? 0) === 0),
		120_000,
		{ intervalMs: 2_000 },
	).catch((error: Error) => log(`${error.message}: the baseline counts it`));
	const baseline = await snapshot(nodes, 'start', at());
	printSnapshot(baseline, true);

	const random = seededRandom(options.seed);
	const counters = newCounters();
	const roomIds = Array.from({ length: options.rooms }, (_, i) => `soak-room-${i + 1}`);
	for (let i = 0; i < options.participants; i++) {
		participants.push(
			new Participant({
				index: i,
				nodeUrls: () => nodes.map((n) => n.baseUrl),
				roomIds,
				video: i % 3 === 0,
				stayMs: [15_000, 45_000],
				pauseMs: [1_000, 6_000],
				random: seededRandom(options.seed + 1 + i),
				counters,
				log,
			}),
		);
	}
	const runs = participants.map(async (p, i) => {
		await sleep(i * 1_500); // staggered start
		await p.run();
	});

	const nextAt = (every: number, after: number) => (every > 0 ? after + every * 60_000 : Number.POSITIVE_INFINITY);
	const churnStart = Date.now();
	let nextReport = nextAt(options.reportEveryMinutes, churnStart);
	let nextKill = nextAt(options.killEveryMinutes, churnStart);
	const redisAt = options.redisRestartAtMinute >= 0 ? churnStart + options.redisRestartAtMinute * 60_000 : Number.POSITIVE_INFINITY;
	let redisDone = false;
	let kills = 0;
	let killTurn = 0;
	let maxSpan = 0;
	let warm: Snapshot | undefined;
	let nextSpanPoll = Date.now();
	const deadline = churnStart + options.minutes * 60_000;
	while (Date.now() < deadline && !shuttingDown) {
		const now = Date.now();
		if (now >= nextSpanPoll) {
			nextSpanPoll = now + 5_000;
			for (const node of nodes) {
				const rooms = await getJson<RoomsJson>(`${node.baseUrl}/rooms`).catch(() => ({ rooms: [] }));
				maxSpan = Math.max(maxSpan, ...rooms.rooms.map((r) => r.workers.length));
			}
		}
		if (!redisDone && now >= redisAt) {
			redisDone = true;
			await restartRedis();
		}
		if (now >= nextKill) {
			nextKill = nextAt(options.killEveryMinutes, nextKill);
			const node = nodes[killTurn++ % nodes.length]!;
			await killWorker(node, random).catch((error: Error) => log(`worker kill on ${node.plan.nodeId} failed: ${error.message}`));
			kills++;
		}
		if (now >= nextReport) {
			nextReport = nextAt(options.reportEveryMinutes, nextReport);
			const s = await snapshot(nodes, 'churn', at()).catch((error: Error) => {
				log(`measuring failed: ${error.message}`);
				return undefined;
			});
			if (s) {
				warm ??= s;
				for (const n of s.nodes) maxSpan = Math.max(maxSpan, n.maxSpan);
				printSnapshot(s, true);
			}
		}
		await sleep(500);
	}

	log('churn over: every participant leaves');
	for (const p of participants) p.stop();
	await Promise.race([Promise.all(runs), sleep(60_000)]);
	log('every participant left; waiting for the rooms to close and the counts to return');
	let end = await snapshot(nodes, 'end', at());
	const settleDeadline = Date.now() + 90_000;
	while (!isSettled(baseline, end) && Date.now() < settleDeadline) {
		await sleep(2_000);
		end = await snapshot(nodes, 'end', at());
	}
	printSnapshot(baseline, true);
	printSnapshot(end, false);
	summary(counters, kills, redisDone ? 1 : 0, maxSpan);

	const checks = compare(baseline, end, warm);
	const dead = nodes.filter((n) => n.process.exitCode !== null || n.process.signalCode !== null);
	console.log('\nEnd against start');
	for (const c of checks) {
		console.log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.what.padEnd(30)} start ${c.start.padStart(10)}  end ${c.end.padStart(10)}  (${c.rule})`);
	}
	for (const n of dead) console.log(`  FAIL ${n.plan.nodeId} exited during the soak`);
	const failed = checks.filter((c) => !c.ok).length + dead.length;
	console.log(failed === 0 ? '\nSOAK PASSED' : `\nSOAK FAILED: ${failed} check(s)`);
	return failed === 0 ? 0 : 1;
}

let code: number;
try {
	code = await main();
} catch (error) {
	console.error(`soak aborted: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
	code = 1;
} finally {
	if (!shuttingDown) {
		shuttingDown = true;
		await stopEverything();
	}
}
// An explicit exit: @roamhq/wrtc crashes in Node's teardown otherwise (test/support/nodeWebRtc.ts).
process.exit(code);
