// What the soak measures of each node and worker (from /proc and the nodes'
// public endpoints), the table it prints, and the end check against the start.
import type { NodeProcess } from '../localCluster.ts';
import {
	describeCounts,
	getJson,
	httpGet,
	metric,
	MiB,
	parsePrometheus,
	rssBytes,
	socketCounts,
	socketTable,
	totalOf,
	type RoomsJson,
	type SocketCounts,
	type WorkersJson,
} from './probe.ts';

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
export const RSS_BOUND = { ratio: 1.3, plusBytes: 40 * MiB };
const rssLimit = (start: number) => Math.max(start * RSS_BOUND.ratio, start + RSS_BOUND.plusBytes);

export const mib = (bytes: number | undefined) => (bytes === undefined ? '-' : (bytes / MiB).toFixed(1));

export type WorkerRow = {
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
export type NodeRow = { nodeId: string; pid: number; rss?: number; heapUsed?: number; sockets?: SocketCounts; rooms: number; peers: number; maxSpan: number; workers: WorkerRow[] };
export type Snapshot = { minute: number; label: string; nodes: NodeRow[] };

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

async function measureNode(node: NodeProcess, redisPort: number | undefined): Promise<NodeRow> {
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
		sockets: socketCounts(node.pid, table, nodeSocketKind(node, redisPort)),
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

/** `at`: the soak's minute now, and the Redis port (its sockets are told apart from clients'). */
export async function snapshot(nodes: readonly NodeProcess[], label: string, at: { minute: number; redisPort: number | undefined }): Promise<Snapshot> {
	return { minute: at.minute, label, nodes: await Promise.all(nodes.map((node) => measureNode(node, at.redisPort))) };
}

const HEADER = ['min', 'what', 'node', 'proc', 'pid', 'RSS MiB', 'heap MiB', 'sockets', 'rooms', 'peers', 'span', 'routers', 'transp', 'prod', 'cons', 'pipes', 'restarts'];
const WIDTHS = [7, 9, 7, 5, 8, 8, 9, 8, 6, 6, 5, 8, 7, 5, 5, 6, 8];

export function formatRow(cells: readonly (string | number)[]): string {
	return cells.map((c, i) => String(c).padStart(WIDTHS[i] ?? 6)).join(' ');
}

export function printSnapshot(s: Snapshot, withHeader: boolean): void {
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

export type Check = { what: string; start: string; end: string; ok: boolean; rule: string };

/**
 * Every count equal to the start; every RSS and heap within the bound of its
 * start and of its first churn sample (`warm`: a boot-time start can be high,
 * tsx compiling every module, so `warm` is the stricter reference once load
 * has run a while).
 */
export function compare(start: Snapshot, end: Snapshot, warm?: Snapshot): Check[] {
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
export function isSettled(start: Snapshot, now: Snapshot): boolean {
	return compare(start, now).every((c) => c.ok || c.rule.startsWith('<='));
}

