// The Markdown report: one summary table (figures, never pass/fail; goals
// are shown as references), then the detail behind each figure.
import type { CapacityFigures } from './capacityFigures.ts';
import type { RampResult } from './capacity.ts';
import type { JoinLatency, Quantiles } from './latency.ts';
import type { MemoryFigures } from './memory.ts';
import type { SimResult } from './placementSim.ts';

export type BenchResults = {
	date: string;
	quick: boolean;
	durationS: number;
	machine: { cpus: number; cpuModel: string; node: string; mediasoup: string; pinned: boolean; serverCore?: number; loadCore?: number };
	load: { videoPps: number; audioPps: number; videoKbps: number; capture: Record<string, unknown> };
	capacity?: CapacityFigures;
	placement?: SimResult;
	memory?: MemoryFigures;
	latency?: JoinLatency;
	errors: { figure: string; message: string }[];
};

const NA = 'n/a';

function num(x: number | undefined, digits = 0): string {
	return x === undefined || !Number.isFinite(x) ? NA : x.toFixed(digits);
}

function pct(x: number | undefined, digits = 1): string {
	return x === undefined ? NA : `${(x * 100).toFixed(digits)}%`;
}

function ms(q: Quantiles | undefined, a: 'p50' | 'p95' | 'p99'): string {
	const v = q?.[a];
	return v === undefined ? NA : `${Math.round(v)} ms`;
}

function ramp(c: CapacityFigures | undefined, label: string): RampResult | undefined {
	return c?.ramps.find((r) => r.config.label === label);
}

function limit(r: RampResult | undefined): string {
	if (!r) return NA;
	const byName = { server: 'server-bound', client: 'client-bound', 'not reached': 'not reached (top step)', unclear: 'unclear' } as const;
	const sat = r.saturationPpsPerWorker ? `; saturated at ${Math.round(r.saturationPpsPerWorker)} pkt/s per worker` : '';
	return `${byName[r.limitedBy]}${sat}`;
}

/** The rounds of one budgeted configuration: `label`, `label#2`, ... */
function rounds(c: CapacityFigures | undefined, label: string): RampResult[] {
	return c?.ramps.filter((r) => r.config.label === label || r.config.label.startsWith(`${label}#`)) ?? [];
}

/** "226" for one round, "226 (rounds: 220, 232)" for more. */
function perRound(mean: number | undefined, rs: RampResult[]): string {
	const value = `**${num(mean)}**`;
	return rs.length > 1 ? `${value} (rounds: ${rs.map((r) => num(r.consumersPerWorker)).join(', ')})` : value;
}

/** "server-bound; saturated at 20450 / 19800 pkt/s per worker" over the rounds. */
function limits(rs: RampResult[]): string {
	if (rs.length <= 1) return limit(rs[0]);
	const kinds = [...new Set(rs.map((r) => limit({ ...r, saturationPpsPerWorker: undefined })))].join(' / ');
	const sat = rs.map((r) => (r.saturationPpsPerWorker ? String(Math.round(r.saturationPpsPerWorker)) : NA));
	return sat.some((x) => x !== NA) ? `${kinds}; saturated at ${sat.join(' / ')} pkt/s per worker` : kinds;
}

function capacityRows(c: CapacityFigures | undefined, res: BenchResults): string[] {
	if (!c) return [`| 1-2 | capacity | error | ${res.errors.find((e) => e.figure === 'capacity')?.message ?? ''} |`];
	const b = c.budget;
	const budget = b === undefined ? 'no budget' : `${b}-core budget per worker`;
	const t1 = rounds(c, 'tureen-1w');
	const t2 = rounds(c, 'tureen-2w');
	const raw = rounds(c, 'raw-1w');
	const wrtc = ramp(c, 'tureen-1w-wrtc');
	const wrtcTop = wrtc?.steps.filter((s) => s.good).at(-1);
	const tCore = ramp(c, 'tureen-1w-core');
	const rCore = ramp(c, 'raw-1w-core');
	const rows = [
		`| 1 | Consumers per worker at <= 1% loss: Tureen, 1 worker (${budget}) | ${perRound(c.tureen1w, t1)} | ${limits(t1)} |`,
		`| 1 | ... Tureen, 2 workers (${budget}) | ${perRound(c.tureen2w, t2)} per worker | ${limits(t2)}; ${c.twoWorkerCores ? `worker i on core ${c.twoWorkerCores.join(', ')}` : 'both workers on one core'} |`,
		`| 1 | Scaling: 2 workers / 1 worker (total consumers) | **${num(c.scaling, 2)}** (from saturation throughput: ${num(c.scalingAtSaturation, 2)}) | goal >= 1.9 |`,
		`| 1 | ... per whole core, extrapolated (consumers / budget) | ~${b && c.tureen1w ? Math.round(c.tureen1w / b) : NA} | estimate, not measured; see README |`,
		`| 1 | Real clients only (wrtc, every subscriber decodes), Tureen 1 worker, whole core | ${num(wrtc?.consumersPerWorker)} consumers, loss ${pct(wrtcTop?.window.loss)}; the worker at ${pct(wrtcTop?.window.workerCpu['0'])} of a core | client-bound: the client process at ${pct(wrtcTop?.window.clientCpu, 0)} of its core (${pct(wrtc?.clientCpuPerWrtcSubscriber)} per subscriber) |`,
	];
	if (tCore || rCore) {
		rows.push(
			`| 1 | Consumers per worker at <= 1% loss, whole core: Tureen / raw mediasoup | ${num(tCore?.consumersPerWorker)} / ${num(rCore?.consumersPerWorker)} | ${limit(tCore)} / ${limit(rCore)} |`,
		);
	}
	rows.push(
		`| 2 | Raw mediasoup, 1 worker (${budget}) | ${perRound(c.raw1w, raw)} | ${limits(raw)} |`,
		`| 2 | Tureen 1 worker / raw mediasoup | **${num(c.vsRaw, 2)}** (from saturation throughput: ${num(c.vsRawAtSaturation, 2)}${c.vsRawWholeCore !== undefined ? `; whole core: ${num(c.vsRawWholeCore, 2)}` : ''}) | goal >= 0.9 |`,
	);
	return rows;
}

function placementRows(p: SimResult | undefined): string[] {
	if (!p) return ['| 3 | placement | error | |'];
	const by = (name: string) => p.policies.find((x) => x.policy === name);
	const cell = (name: string, key: 'consumersMaxOverMean' | 'cpuMaxOverMean') => `${num(by(name)?.[key].mean, 2)} (p95 ${num(by(name)?.[key].p95, 2)})`;
	const ref = `simulated (real chooseWorker), ${p.params.workers} workers, ${p.rooms} rooms over ${Math.round(p.params.seconds / 3600)} h, Pareto(${p.params.paretoAlpha}) sizes 2-${p.params.maxPeers}, mean load ${pct(p.meanTotalCpu / p.params.workers, 0)}`;
	return [
		`| 3 | Max/mean worker consumers: Tureen / round robin / fewest rooms | ${cell('tureen', 'consumersMaxOverMean')} / ${cell('round robin', 'consumersMaxOverMean')} / ${cell('fewest rooms', 'consumersMaxOverMean')} | ${ref} |`,
		`| 3 | Max/mean worker CPU: Tureen / round robin / fewest rooms | ${cell('tureen', 'cpuMaxOverMean')} / ${cell('round robin', 'cpuMaxOverMean')} / ${cell('fewest rooms', 'cpuMaxOverMean')} | time some worker > 1 core: ${pct(by('tureen')?.overloadedTimeShare, 0)} / ${pct(by('round robin')?.overloadedTimeShare, 0)} / ${pct(by('fewest rooms')?.overloadedTimeShare, 0)} |`,
	];
}

function latencyRows(l: JoinLatency | undefined, m: MemoryFigures | undefined): string[] {
	const n = l ? `${l.joinMs.n} joins${l.failed ? `, ${l.failed} failed` : ''}` : 'error';
	return [
		`| 4 | Join -> first media packet, p50 / p95 | **${ms(l?.firstPacketMs, 'p50')} / ${ms(l?.firstPacketMs, 'p95')}** | ${n}; from the call to join() (WebSocket, join, transport, ICE + DTLS) to the worker's first RTP packet to that client (loopback); join() itself: ${ms(l?.joinMs, 'p50')} / ${ms(l?.joinMs, 'p95')} |`,
		`| 4 | Join -> first video packet / first decoded video frame, p50 / p95 | ${ms(l?.firstVideoPacketMs, 'p50')} / ${ms(l?.firstVideoPacketMs, 'p95')}; ${ms(l?.firstVideoFrameMs, 'p50')} / ${ms(l?.firstVideoFrameMs, 'p95')} | the replayed publisher answers the key-frame request (PLI) like an encoder |`,
		`| 4 | GET /stats with ${m?.statsFull.rooms ?? NA} rooms, p50 / p99 | **${m?.statsFull.p50 === undefined ? NA : `${m.statsFull.p50.toFixed(1)} ms`} / ${m?.statsFull.p99 === undefined ? NA : `${m.statsFull.p99.toFixed(1)} ms`}** | ${m ? `${m.statsFull.requests} sequential requests, ${Math.round(m.statsFull.bytes / 1024)} KiB each; with 0 rooms: ${num(m.statsEmpty.p50, 1)} / ${num(m.statsEmpty.p99, 1)} ms` : ''} |`,
	];
}

function memoryRows(m: MemoryFigures | undefined): string[] {
	if (!m) return ['| 5 | memory | error | |'];
	return [
		`| 5 | RSS per idle room (Node + workers) | **${num(m.perRoomKb.total, 1)} KiB** | ${m.rooms} rooms via POST /rooms: Node ${num(m.perRoomKb.node, 1)} + workers ${num(m.perRoomKb.workers, 1)} KiB |`,
		`| 5 | RSS per connected peer (receive-only, 2 consumers) | **${num(m.perPeerKb.total, 0)} KiB** | ${m.peers} wrtc peers: Node ${num(m.perPeerKb.node, 0)} + workers ${num(m.perPeerKb.workers, 0)} KiB; base: Node ${Math.round(m.baseRssKb.node / 1024)} MiB, ${m.workers} workers ${Math.round(m.baseRssKb.workers / 1024)} MiB |`,
	];
}

function stepTable(c: CapacityFigures | undefined): string[] {
	if (!c) return [];
	const lines = [
		'| ramp | subscribers/worker (wrtc) | consumers/worker | loss | received vs sent | wrtc loss | forwarded pkt/s | worker CPU | throttled | server Node | client | sink | verdict |',
		'|---|---|---|---|---|---|---|---|---|---|---|---|---|',
	];
	for (const r of c.ramps) {
		for (const s of r.steps) {
			const w = s.window;
			lines.push(
				`| ${r.config.label} | ${s.subscribersPerWorker} (${s.wrtcPerWorker}) | ${s.consumersPerWorker} | ${pct(w.loss, 2)} | ${pct(w.lossVsSent, 2)} | ${pct(w.wrtcLoss, 2)} | ${Math.round(Object.values(w.forwardedPps).reduce((a, b) => a + b, 0))} | ${Object.values(w.workerCpu).map((x) => pct(x, 0)).join(' / ')} | ${s.throttledShare ? s.throttledShare.map((x) => pct(x, 0)).join(' / ') : '-'} | ${pct(w.serverNodeCpu, 0)} | ${pct(w.clientCpu, 0)} | ${pct(w.sinkCpu, 0)} | ${s.good ? 'ok' : 'over'} |`,
			);
		}
	}
	return lines;
}

export function renderMarkdown(res: BenchResults): string {
	const c = res.capacity;
	const out = [
		`# Tureen benchmark, ${res.date}${res.quick ? ' (--quick)' : ''}`,
		'',
		`${res.machine.cpus} CPUs (${res.machine.cpuModel}), Node ${res.machine.node}, mediasoup ${res.machine.mediasoup}; ` +
			(res.machine.pinned ? `server side pinned to core ${res.machine.serverCore}, load generators to core ${res.machine.loadCore}. ` : 'no CPU pinning. ') +
			`Load per publisher: VP8 ${Math.round(res.load.videoKbps)} kbit/s at ${num(res.load.videoPps)} pkt/s + Opus ${num(res.load.audioPps)} pkt/s (replayed ffmpeg capture). Took ${Math.round(res.durationS)} s.`,
		'',
		'| # | figure | value | notes |',
		'|---|---|---|---|',
		...capacityRows(c, res),
		...placementRows(res.placement),
		...latencyRows(res.latency, res.memory),
		...memoryRows(res.memory),
		'',
		`Capacity load: rooms of 1 replayed publisher (audio + video), ${c?.ramps[0]?.roomsPerWorker ?? NA} rooms per worker; every subscriber consumes both producers of its room;` +
			` each budgeted ramp has ${c?.ramps[0]?.config.wrtcPerWorker ?? NA} wrtc subscribers per worker (Tureen's client library on @roamhq/wrtc: ICE, DTLS, SRTP, decoding) and light subscribers (SRTP PlainTransport to a counting socket) for the rest.` +
			(c?.budget !== undefined ? ` Worker CPU budget: cgroup quota of ${c.budget} core per worker.` : ` No CPU budget (${c?.budgetUnavailable ?? 'n/a'}).`),
		'',
		...stepTable(c),
	];
	const notes = c?.ramps.flatMap((r) => r.notes.map((n) => `- ${r.config.label}: ${n}`)) ?? [];
	if (notes.length) out.push('', ...notes);
	if (res.errors.length) out.push('', '**Errors**', '', ...res.errors.map((e) => `- ${e.figure}: ${e.message}`));
	return `${out.join('\n')}\n`;
}
