// The results file's shape and its Markdown report: the machine and worker
// binaries first, then every figure as median and min-max over the rounds
// (ratios paired inside a round), then the steps behind them.
import { pairedSummary, summary, type CapacityFigures, type PerRound } from './capacityRounds.ts';
import type { JoinLatency } from './latency.ts';
import { workerBinaryLine, type Machine, type WorkerBinary } from './machineInfo.ts';
import type { MemoryFigures } from './memory.ts';
import type { PipeCostRound } from './pipeCost.ts';
import type { PolicyResult, SimResult, SpreadResult } from './placementSim.ts';
import type { SpreadRoomFigures, SpreadRoomRound } from './spreadRoom.ts';
import type { BenchSettings } from './settings.ts';
import type { StepResult } from './step.ts';
import type { Spread } from './stats.ts';
import type { TureenCostRound } from './tureenCost.ts';

export type BenchResults = {
	date: string;
	/** The command line that made this run, as the report names its source. */
	command: string;
	/** The results file this run wrote, under bench/results/ (ignored by git: it stays on the machine that ran it). */
	resultsFile: string;
	quick: boolean;
	durationS: number;
	machine: Machine;
	cores: { server: number; load: number };
	workerBinaries: { main: WorkerBinary; other?: WorkerBinary };
	settings: BenchSettings;
	load: { videoPps: number; audioPps: number; videoKbps: number; packetsPerSubscriber: number; packetsPerConsumer: number; capture: Record<string, unknown> };
	capacity?: CapacityFigures;
	tureenCost?: (TureenCostRound | undefined)[];
	placement?: SimResult;
	/** Rooms spanning workers: a consumer on the producer's worker against one fed through a pipe, per round. */
	pipeCost?: PipeCostRound[];
	/** The largest all-to-all room on 1 worker and spread over 2, per round. */
	spreadRoom?: SpreadRoomFigures;
	/** Set when the run measured only this figure (`npm run bench -- spread-room`). */
	only?: 'spread-room';
	memory?: MemoryFigures;
	latency?: JoinLatency;
	figures?: Figures;
	errors: { figure: string; message: string }[];
};

type Row = { name: string; unit: string; digits: number; value: Spread | undefined; note?: string };
export type Figures = { rows: Row[] };

const FAILED = 'FAILED (see errors)';

/** Applies `f` to every round's value (a per-round derived figure). */
function map(values: PerRound | undefined, f: (x: number) => number): PerRound | undefined {
	return values?.map((x) => (x === undefined ? undefined : f(x)));
}

/** One value per round of the run from a figure's per-round records (undefined where a round has none). */
function perRound<T>(records: readonly (T | undefined)[] | undefined, rounds: number, value: (r: T) => number | undefined): PerRound {
	return Array.from({ length: rounds }, (_, i) => {
		const r = records?.[i];
		return r === undefined ? undefined : value(r);
	});
}

function costRounds(res: BenchResults, key: 'msPerJoin' | 'cpuPerPeer' | 'msPerStatsCall', scale = 1): Spread | undefined {
	return summary(perRound(res.tureenCost, res.settings.rounds, (r) => r[key] * scale), res.settings.rounds);
}

function pipeRounds(res: BenchResults, value: (r: PipeCostRound) => number): Spread | undefined {
	return summary(perRound(res.pipeCost, res.settings.rounds, value), res.settings.rounds);
}

export function computeFigures(res: BenchResults): Figures {
	if (res.only === 'spread-room') return { rows: spreadRoomRows(res) };
	return { rows: [...capacityRows(res), ...spreadRoomRows(res), ...pipeRows(res), ...costRows(res)] };
}

function capacityRows(res: BenchResults): Row[] {
	const c = res.capacity;
	const n = res.settings.rounds;
	const us = c?.usPerPacket ?? {};
	const sat = c?.saturationPpsPerWorker ?? {};
	const perCore = (x: number) => 1e6 / x;
	const mix = res.load.packetsPerConsumer;
	const budget = res.settings.workerBudget;
	const rows: Row[] = [
		{ name: 'Worker CPU per forwarded packet (Tureen settings, SRTP)', unit: 'us', digits: 1, value: summary(us.main, n) },
		{ name: '... packets/s per core (1e6 / that)', unit: 'pkt/s', digits: 0, value: summary(map(us.main, perCore), n) },
		{ name: `... consumers per core at ${mix.toFixed(0)} pkt/s each (the mix below)`, unit: '', digits: 0, value: summary(map(us.main, (x) => perCore(x) / mix), n) },
		{ name: 'Worker CPU per packet, SRTP off (floor)', unit: 'us', digits: 1, value: summary(us.floor, n) },
		{ name: 'Worker CPU per packet, raw mediasoup, upstream default worker settings', unit: 'us', digits: 1, value: summary(us.raw, n) },
		{ name: 'SRTP / floor (paired per round)', unit: 'x', digits: 2, value: pairedSummary(us.main, us.floor, n) },
		{ name: "Tureen's worker settings / upstream defaults, per packet (paired)", unit: 'x', digits: 2, value: pairedSummary(us.main, us.raw, n) },
	];
	if (us.other) {
		rows.push(
			{ name: 'Worker CPU per packet, --worker-bin binary (Tureen settings, SRTP)', unit: 'us', digits: 1, value: summary(us.other, n) },
			{ name: '--worker-bin / main binary, per packet (paired)', unit: 'x', digits: 2, value: pairedSummary(us.other, us.main, n) },
		);
	}
	rows.push(
		{ name: `Saturation, 1 worker at a ${budget}-core budget: pkt/s at the highest carried step`, unit: 'pkt/s', digits: 0, value: summary(sat['main-1w'], n), note: `/ ${budget} = ${fmt(summary(map(sat['main-1w'], (x) => x / budget), n), 0)} per core` },
		{ name: `Saturation, 2 workers at ${budget} core each: pkt/s per worker`, unit: 'pkt/s', digits: 0, value: summary(sat['main-2w'], n) },
		{ name: '2 workers / 1 worker, total throughput (paired)', unit: 'x', digits: 2, value: pairedSummary(sat['main-2w'], sat['main-1w'], n, 2) },
	);
	if (sat['other-1w']) {
		rows.push(
			{ name: '--worker-bin saturation, 1 worker / 2 workers: pkt/s per worker', unit: 'pkt/s', digits: 0, value: summary(sat['other-1w'], n), note: `2 workers: ${fmt(summary(sat['other-2w'], n), 0)}` },
			{ name: '--worker-bin / main binary, 1-worker saturation throughput (paired)', unit: 'x', digits: 2, value: pairedSummary(sat['other-1w'], sat['main-1w'], n) },
		);
	}
	return rows;
}

function spreadRoomRows(res: BenchResults): Row[] {
	const n = res.settings.rounds;
	const per = (value: (r: SpreadRoomRound) => number | undefined) => perRound(res.spreadRoom?.rounds, n, value);
	const consumers1 = per((r) => r.consumers.oneWorker);
	const consumers2 = per((r) => r.consumers.twoWorkers);
	const budget = res.spreadRoom?.budget ?? res.settings.spreadRoomBudget;
	return [
		{ name: `Largest all-to-all room (video + audio) at <= 1% loss per consumer, 1 worker at a ${budget}-core budget: peers`, unit: 'peers', digits: 0, value: summary(per((r) => r.peers.oneWorker), n), note: `consumers ${fmt(summary(consumers1, n), 0)}` },
		{ name: '... the same room spread over 2 workers by peer placement: peers', unit: 'peers', digits: 0, value: summary(per((r) => r.peers.twoWorkers), n), note: `consumers ${fmt(summary(consumers2, n), 0)}` },
		{ name: '... consumers, spread over 2 workers / on 1 worker (paired)', unit: 'x', digits: 2, value: pairedSummary(consumers2, consumers1, n) },
	];
}

function pipeRows(res: BenchResults): Row[] {
	const pipe = res.pipeCost?.[0];
	const layout = pipe ? `${Math.round(pipe.deliveredPps)} pkt/s delivered, ${Math.round(pipe.pipedPps)} pkt/s through the pipe` : '';
	return [
		{ name: 'Worker CPU per delivered packet, consumers on the producer\'s worker (both workers counted, no budget)', unit: 'us', digits: 1, value: pipeRounds(res, (r) => r.localUsPerPacket), note: layout },
		{ name: '... the same consumers on another worker, fed through a pipe', unit: 'us', digits: 1, value: pipeRounds(res, (r) => r.pipedUsPerPacket) },
		{ name: '... piped / local, per delivered packet (paired)', unit: 'x', digits: 2, value: pipeRounds(res, (r) => r.pipedUsPerPacket / r.localUsPerPacket) },
		{ name: '... extra worker CPU per packet crossing a pipe (pipe consumer + pipe producer)', unit: 'us', digits: 1, value: pipeRounds(res, (r) => r.usPerPipedPacket) },
	];
}

function costRows(res: BenchResults): Row[] {
	const cost = res.tureenCost?.find((r) => r !== undefined);
	return [
		{ name: 'Tureen Node CPU per join (wrtc peer: WebSocket, transport, ICE + DTLS, 2 consumers)', unit: 'ms', digits: 2, value: costRounds(res, 'msPerJoin') },
		{ name: 'Tureen Node CPU per connected peer (steady, receiving audio + video)', unit: '% of a core', digits: 3, value: costRounds(res, 'cpuPerPeer', 100) },
		{ name: `Tureen Node CPU per GET /stats (${cost?.rooms ?? '?'} rooms, ${cost?.joined ?? '?'} peers)`, unit: 'ms', digits: 2, value: costRounds(res, 'msPerStatsCall') },
	];
}

function fmt(s: Spread | undefined, digits: number): string {
	return s ? s.median.toFixed(digits) : FAILED;
}

function binaryLine(name: string, b: WorkerBinary): string {
	return `- ${name}: ${workerBinaryLine(b)}`;
}

function singleRows(res: BenchResults): string[] {
	const l = res.latency;
	const m = res.memory;
	const p = res.placement;
	const ms = (x: number | undefined, d = 0) => (x === undefined ? FAILED : `${x.toFixed(d)} ms`);
	const by = (name: string) => p?.policies.find((x) => x.policy === name);
	const ratio = (name: string) => by(name)?.cpuMaxOverMean.mean?.toFixed(2) ?? FAILED;
	const share = (name: string, key: 'overloadedTimeShare' | 'pipeCpuShare') => percent(by(name)?.[key]);
	return [
		`| Join -> first media packet, p50 / p95 (${l?.joinMs.n ?? 0} joins) | ${ms(l?.firstPacketMs.p50)} / ${ms(l?.firstPacketMs.p95)} | wrtc client, loopback; join() itself ${ms(l?.joinMs.p50)} / ${ms(l?.joinMs.p95)} |`,
		`| GET /stats with ${m?.statsFull.rooms ?? '?'} rooms, p50 / p99 | ${ms(m?.statsFull.p50, 1)} / ${ms(m?.statsFull.p99, 1)} | ${m?.statsFull.requests ?? 0} sequential requests |`,
		`| RSS per idle room / per connected peer (Node + workers) | ${m ? `${m.perRoomKb.total.toFixed(1)} KiB / ${m.perPeerKb.total.toFixed(0)} KiB` : FAILED} | ${m ? `${m.rooms} rooms, ${m.peers} wrtc peers` : ''} |`,
		`| Placement (simulated): max/mean worker CPU, Tureen / round robin / fewest rooms | ${ratio('tureen')} / ${ratio('round robin')} / ${ratio('fewest rooms')} | ${p ? `${p.params.workers} workers, ${p.rooms} rooms, Pareto(${p.params.paretoAlpha}) sizes 2-${p.params.maxPeers}; CPU model from the measured us/packet` : ''} |`,
		`| ... with rooms spreading over workers (ROOM_SPREAD_CPU ${p?.roomSpreadCpu ?? '?'}, ROOM_SPREAD_MIN_PEERS ${p?.roomSpreadMinPeers ?? '?'}, the defaults): max/mean worker CPU; share of time a worker needed more than a core, spreading / not; worker CPU on pipe streams | ${ratio('tureen, spreading')}; ${share('tureen, spreading', 'overloadedTimeShare')} / ${share('tureen', 'overloadedTimeShare')}; ${share('tureen, spreading', 'pipeCpuShare')} | the same trace; each peer placed by peerPlacement.ts, pipe streams counted as packets; other settings below |`,
	];
}

function percent(share: number | undefined): string {
	return share === undefined ? FAILED : `${(share * 100).toFixed(1)}%`;
}

/** The placement simulation per policy and per setting of the sweep: what a lower threshold, or no minimum, buys and costs. */
function placementTable(p: SimResult | undefined): string[] {
	if (!p) return [];
	const days = p.params.seconds / 86_400;
	const pair = (x: { mean: number | undefined; p95: number | undefined }) => `${x.mean?.toFixed(2) ?? FAILED} / ${x.p95?.toFixed(2) ?? FAILED}`;
	const row = (name: string, r: PolicyResult) =>
		`| ${name} | ${pair(r.cpuMaxOverMean)} | ${pair(r.busiestWorkerCpu)} | ${percent(r.overloadedTimeShare)} | ${percent(r.pipeCpuShare)} |`;
	return [
		`Placement simulation (${days} simulated day${days === 1 ? '' : 's'}, ${p.params.workers} workers, ${(p.meanTotalCpu / p.params.workers).toFixed(2)} core of load offered to each on average before pipes, ${p.params.usPerPacket.toFixed(1)} us/packet, ${p.params.packetsPerConsumer.toFixed(1)} pkt/s per consumer), every policy on the same trace; spreading at ROOM_SPREAD_MIN_PEERS ${p.roomSpreadMinPeers} unless a row says otherwise. Pipe streams add to every worker's CPU, to the mean as well as the max, so compare the busiest worker's CPU too:`,
		'',
		"| policy | max/mean worker CPU, mean / p95 | busiest worker's CPU demand (cores), mean / p95 | time a worker needs > 1 core | worker CPU on pipe streams |",
		'|---|---|---|---|---|',
		...p.policies.filter((r) => r.policy !== 'tureen, spreading').map((r) => row(r.policy === 'tureen' ? 'tureen, rooms not spread' : r.policy, r)),
		...p.spreadSweep.map((r) => row(spreadLabel(p, r), r)),
		'',
	];
}

function spreadLabel(p: SimResult, r: SpreadResult): string {
	const minimum = r.roomSpreadMinPeers === p.roomSpreadMinPeers ? '' : `, ROOM_SPREAD_MIN_PEERS ${r.roomSpreadMinPeers}`;
	const isDefault = r.roomSpreadCpu === p.roomSpreadCpu && r.roomSpreadMinPeers === p.roomSpreadMinPeers;
	return `tureen, spreading at ROOM_SPREAD_CPU ${r.roomSpreadCpu}${minimum}${isDefault ? ' (default)' : ''}`;
}

function capacitySteps(c: CapacityFigures | undefined): StepResult[] {
	return c ? [c.calibration, ...c.steps.filter((s) => s !== c.calibration)] : [];
}

function stepTable(steps: readonly StepResult[]): string[] {
	if (steps.length === 0) return [];
	const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
	return [
		'| step | round | load | consumers | pkt/s | us/pkt | worker CPU | throttled | worst consumer loss | deficit | stalled | server Node | sink | UDP buffer drops | settled after | verdict |',
		'|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
		...steps.map(
			(s) =>
				`| ${s.label} | ${s.round || 'calibration'} | ${s.shape === 'mesh' ? `${s.load} peers` : `${s.load}/worker`} | ${s.consumers} | ${Math.round(s.forwardedPps)} | ${s.usPerPacket.toFixed(1)} | ${Object.values(s.window.workerCpu).map(pct).join(' / ')} | ${s.throttledShare.map(pct).join(' / ')} | ${pct(s.verdict.worstLoss)} | ${pct(s.verdict.deficit)} | ${s.verdict.stalled} | ${pct(s.window.serverNodeCpu)} | ${pct(s.window.sinkCpu)} | ${s.window.udpRcvbufErrors} | ${(s.settledAfterMs / 1000).toFixed(1)} s | ${s.verdict.good ? 'carried' : 'failed'} |`,
		),
	];
}

export function renderMarkdown(res: BenchResults): string {
	const figures = res.figures ?? computeFigures(res);
	const m = res.machine;
	const s = res.settings;
	const spread = (r: Row) => (r.value ? `${r.value.min.toFixed(r.digits)}-${r.value.max.toFixed(r.digits)}` : '');
	const rounds = (r: Row) => (r.value ? r.value.rounds.map((x) => x.toFixed(r.digits)).join(', ') : '');
	const out = [
		`# Tureen benchmark, ${res.date}${res.quick ? ' (--quick)' : ''}`,
		'',
		`- Source run: \`${res.command}\`, everything it measured in \`bench/results/${res.resultsFile}\` (not committed: it stays on the machine that ran it)`,
		`- Machine: ${m.cpuModel}, ${m.cores} cores, Linux ${m.kernel}, ${m.memoryGiB} GiB; load average ${m.loadAverage.start.toFixed(2)} at the start, ${m.loadAverage.end?.toFixed(2) ?? '?'} at the end`,
		`- Node ${m.node}, mediasoup ${m.mediasoup}`,
		binaryLine('Worker', res.workerBinaries.main),
		...(res.workerBinaries.other ? [binaryLine('--worker-bin', res.workerBinaries.other)] : []),
		`- Packet mix: per publisher VP8 ${Math.round(res.load.videoKbps)} kbit/s at ${res.load.videoPps.toFixed(0)} pkt/s + Opus ${res.load.audioPps.toFixed(0)} pkt/s (replayed ffmpeg capture); a subscriber consumes both: ${res.load.packetsPerSubscriber.toFixed(0)} pkt/s, ${res.load.packetsPerConsumer.toFixed(0)} per consumer`,
		`- Settings: ${s.rounds} rounds; every worker on core ${res.cores.server} under a cgroup budget of ${s.workerBudget} core (the spread room: ${s.spreadRoomBudget}), load generators on core ${res.cores.load}; probes at ${res.capacity?.probeSubscribersPerWorker ?? '?'} subscribers/worker; windows ${s.windowMs / 1000} s; a step fails if any consumer loses > ${s.lossThreshold * 100}% or gets < ${s.stallShare * 100}% of what was sent, or all together fall > ${s.backlogThreshold * 100}% behind, or it does not settle within ${s.maxSettleMs / 1000} s`,
		`- Took ${Math.round(res.durationS)} s`,
		'',
		'| figure | median | min-max | rounds |',
		'|---|---|---|---|',
		...figures.rows.map((r) => `| ${r.name}${r.note ? ` (${r.note})` : ''} | **${fmt(r.value, r.digits)}** ${r.unit} | ${spread(r)} | ${rounds(r)} |`),
		'',
		...(res.only ? [] : ['| once per run | value | notes |', '|---|---|---|', ...singleRows(res), '', ...placementTable(res.placement)]),
		...stepTable([...capacitySteps(res.capacity), ...(res.spreadRoom?.steps ?? [])]),
	];
	if (res.errors.length) out.push('', '**Errors** (the run exits non-zero)', '', ...res.errors.map((e) => `- ${e.figure}: ${e.message}`));
	return `${out.join('\n')}\n`;
}
