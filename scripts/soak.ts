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
import {
	commandName,
	describeCounts,
	getJson,
	httpGet,
	metric,
	MiB,
	parentPid,
	parsePrometheus,
	rssBytes,
	socketCounts,
	socketTable,
	totalOf,
	type RoomsJson,
	type SocketCounts,
	type WorkersJson,
} from './soak/probe.ts';

/**
 * How far an RSS (or the V8 heap in use) may end above its reference: the
 * larger of +30% and +40 MiB, against both the start (just after boot) and
 * the first churn sample ("warm", at the first report: the boot-time start of
 * a node is inflated by tsx compiling every module, ~150 MiB falling to ~110
 * once that is collected, so the warm sample is the stricter reference).
 * Why this much: JIT-compiled code, grown V8 spaces and glibc malloc arenas
 * are paid once in the first minutes of load and not handed back when the
 * load goes (glibc keeps freed heap, V8 keeps a grown new space), so a node
 * that is fine ends a few to some tens of MiB up and stays there; a mediasoup
 * worker likewise keeps its allocator's high-water mark (11 MiB idle, 13-15
 * MiB after a few minutes of churn). A leak grows with the churn instead: an
 * hour at this rate is ~1,000 joins and ~3,000 publishes, so 40 KiB kept per
 * join (a peer's state plus its transports', producers' and consumers'
 * objects) passes +40 MiB; and the object and socket counts catch a leaked
 * mediasoup object or socket at the first one. Workers are compared per slot;
 * a killed worker's replacement starts fresh (and smaller).
 */
const RSS_BOUND = { ratio: 1.3, plusBytes: 40 * MiB };
const rssLimit = (start: number) => Math.max(start * RSS_BOUND.ratio, start + RSS_BOUND.plusBytes);

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
const mib = (bytes: number | undefined) => (bytes === undefined ? '-' : (bytes / MiB).toFixed(1));
const started = Date.now();
const minutesSinceStart = () => (Date.now() - started) / 60_000;
function log(line: string): void {
	console.log(`[${minutesSinceStart().toFixed(2).padStart(6)} min] ${line}`);
}

// ---------------------------------------------------------------- measuring

type WorkerRow = {
	workerId: number;
	pid: number;
	alive: boolean;
	restarts: number;
	rss?: number;
	sockets?: SocketCounts;
	routers: number;
	transports: number;
	producers: number;
	consumers: number;
	pipeTransports: number;
	pipedProducers: number;
};
type NodeRow = { nodeId: string; pid: number; rss?: number; heapUsed?: number; sockets?: SocketCounts; rooms: number; peers: number; maxSpan: number; workers: WorkerRow[] };
type Snapshot = { minute: number; label: string; nodes: NodeRow[] };

/** A node's sockets by what they are for: its listening socket, Redis, HTTP/WebSocket clients, worker channels (unix). */
function nodeSocketKind(node: NodeProcess, redisPort: number | undefined) {
	return (info: { proto: string; localPort: number; remotePort: number; listening: boolean }) => {
		if (info.proto === 'unix' || info.proto === 'udp') return info.proto;
		if (info.listening) return 'listen';
		if (info.remotePort === redisPort) return 'redis';
		if (info.localPort === node.plan.port) return 'clients';
		return 'tcp-out';
	};
}

function workerSocketKind(info: { proto: string; listening: boolean }): string {
	return info.proto === 'tcp' ? (info.listening ? 'tcp-listen' : 'tcp') : info.proto;
}

async function measureNode(node: NodeProcess): Promise<NodeRow> {
	const [metricsText, workers, rooms] = await Promise.all([
		httpGet(`${node.baseUrl}/metrics`).then((a) => a.body),
		getJson<WorkersJson>(`${node.baseUrl}/workers`),
		getJson<RoomsJson>(`${node.baseUrl}/rooms`),
	]);
	const samples = parsePrometheus(metricsText);
	const table = socketTable();
	const perWorker = (name: string, workerId: number) => metric(samples, name, { worker_id: String(workerId) }) ?? Number.NaN;
	return {
		nodeId: node.plan.nodeId,
		pid: node.pid,
		rss: rssBytes(node.pid),
		heapUsed: metric(samples, 'nodejs_heap_size_used_bytes'),
		sockets: socketCounts(node.pid, table, nodeSocketKind(node, processes.redis?.port)),
		rooms: metric(samples, 'tureen_rooms') ?? Number.NaN,
		peers: metric(samples, 'tureen_peers') ?? Number.NaN,
		maxSpan: Math.max(0, ...rooms.rooms.map((r) => r.workers.length)),
		workers: workers.workers.map((w) => ({
			workerId: w.workerId,
			pid: w.pid,
			alive: !w.closed && perWorker('tureen_worker_alive', w.workerId) === 1,
			restarts: w.restarts,
			rss: w.closed ? undefined : rssBytes(w.pid),
			sockets: w.closed ? undefined : socketCounts(w.pid, table, workerSocketKind),
			routers: perWorker('tureen_worker_routers', w.workerId),
			transports: perWorker('tureen_worker_transports', w.workerId),
			producers: perWorker('tureen_worker_producers', w.workerId),
			consumers: perWorker('tureen_worker_consumers', w.workerId),
			pipeTransports: w.pipeTransports,
			pipedProducers: w.pipedProducers,
		})),
	};
}

async function snapshot(nodes: readonly NodeProcess[], label: string): Promise<Snapshot> {
	return { minute: minutesSinceStart(), label, nodes: await Promise.all(nodes.map(measureNode)) };
}

const HEADER = ['min', 'what', 'node', 'proc', 'pid', 'RSS MiB', 'heap MiB', 'sockets', 'rooms', 'peers', 'span', 'routers', 'transp', 'prod', 'cons', 'pipes', 'restarts'];
const WIDTHS = [7, 9, 7, 5, 8, 8, 9, 8, 6, 6, 5, 8, 7, 5, 5, 6, 8];

function formatRow(cells: readonly (string | number)[]): string {
	return cells.map((c, i) => String(c).padStart(WIDTHS[i] ?? 6)).join(' ');
}

function printSnapshot(s: Snapshot, withHeader: boolean): void {
	if (withHeader) console.log(formatRow(HEADER));
	for (const n of s.nodes) {
		console.log(formatRow([s.minute.toFixed(1), s.label, n.nodeId, 'node', n.pid, mib(n.rss), mib(n.heapUsed), totalOf(n.sockets) ?? '-', n.rooms, n.peers, n.maxSpan, '', '', '', '', '', '']));
		for (const w of n.workers) {
			console.log(
				formatRow(['', '', '', `w${w.workerId}`, w.alive ? w.pid : `${w.pid}x`, mib(w.rss), '', totalOf(w.sockets) ?? '-', '', '', '', w.routers, w.transports, w.producers, w.consumers, w.pipeTransports, w.restarts]),
			);
		}
	}
}

type Check = { what: string; start: string; end: string; ok: boolean; rule: string };

/**
 * Every count equal to the start; every RSS and heap within the bound of its
 * start and of its first churn sample (`warm`: a boot-time start can be high,
 * tsx compiling every module, so `warm` is the stricter reference once load
 * has run a while).
 */
function compare(start: Snapshot, end: Snapshot, warm?: Snapshot): Check[] {
	const checks: Check[] = [];
	const show = (v: number | undefined) => (v === undefined ? '-' : String(v));
	const equal = (what: string, a: number | undefined, b: number | undefined) =>
		checks.push({ what, start: show(a), end: show(b), ok: a !== undefined && a === b, rule: '= start' });
	const equalSockets = (what: string, a: SocketCounts | undefined, b: SocketCounts | undefined) => {
		const kinds = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
		const ok = a !== undefined && b !== undefined && [...kinds].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
		checks.push({ what, start: describeCounts(a), end: describeCounts(b), ok, rule: '= start, by kind' });
	};
	const bounded = (what: string, a: number | undefined, b: number | undefined, w: number | undefined) => {
		const limit = Math.min(a === undefined ? Number.POSITIVE_INFINITY : rssLimit(a), w === undefined ? Number.POSITIVE_INFINITY : rssLimit(w));
		checks.push({
			what,
			start: `${mib(a)} MiB`,
			end: `${mib(b)} MiB`,
			ok: a !== undefined && b !== undefined && b <= limit,
			rule: `<= ${mib(limit)} MiB${w === undefined ? '' : ` (start ${mib(a)}, warm ${mib(w)})`}`,
		});
	};
	for (const s of start.nodes) {
		const e = end.nodes.find((n) => n.nodeId === s.nodeId);
		const w = warm?.nodes.find((n) => n.nodeId === s.nodeId);
		const id = s.nodeId;
		equal(`${id} rooms`, s.rooms, e?.rooms);
		equal(`${id} peers`, s.peers, e?.peers);
		equalSockets(`${id} node sockets`, s.sockets, e?.sockets);
		bounded(`${id} node RSS`, s.rss, e?.rss, w?.rss);
		bounded(`${id} node heap used`, s.heapUsed, e?.heapUsed, w?.heapUsed);
		equal(`${id} live workers`, s.workers.filter((x) => x.alive).length, e?.workers.filter((x) => x.alive).length);
		for (const sw of s.workers) {
			const ew = e?.workers.find((x) => x.workerId === sw.workerId);
			const ww = w?.workers.find((x) => x.workerId === sw.workerId);
			const wid = `${id} w${sw.workerId}`;
			for (const key of ['routers', 'transports', 'producers', 'consumers', 'pipeTransports', 'pipedProducers'] as const) equal(`${wid} ${key}`, sw[key], ew?.[key]);
			equalSockets(`${wid} sockets`, sw.sockets, ew?.sockets);
			bounded(`${wid} RSS${ew && ew.pid !== sw.pid ? ' (respawned)' : ''}`, sw.rss, ew?.rss, ww?.alive ? ww.rss : undefined);
		}
	}
	return checks;
}

/** The counts (not the memory) are back: what the end waits for. */
function isSettled(start: Snapshot, now: Snapshot): boolean {
	return compare(start, now).every((c) => c.ok || c.rule.startsWith('<='));
}

// ---------------------------------------------------------------- the run

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
		async () => (await snapshot(nodes, 'start')).nodes.every((n) => (n.sockets?.clients ?? 0) === 0),
		120_000,
		{ intervalMs: 2_000 },
	).catch((error: Error) => log(`${error.message}: the baseline counts it`));
	const baseline = await snapshot(nodes, 'start');
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
			const s = await snapshot(nodes, 'churn').catch((error: Error) => {
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
	let end = await snapshot(nodes, 'end');
	const settleDeadline = Date.now() + 90_000;
	while (!isSettled(baseline, end) && Date.now() < settleDeadline) {
		await sleep(2_000);
		end = await snapshot(nodes, 'end');
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
