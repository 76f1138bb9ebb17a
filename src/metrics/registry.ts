import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

import type { WorkerLoad } from '../services/mediasoup.ts';
import type { RoomMember } from '../services/rooms/room.ts';
import type { ManagedWorker } from '../services/workers/managedWorker.ts';
import { countForwardedLayers, FORWARDED_LAYER_LABELS } from './layers.ts';
import type { MediaCounter, MediaCounts } from './mediaCounts.ts';
import { methodLabel, outcomeLabel, SIGNALLING_METHODS, SIGNALLING_OUTCOMES } from './signalling.ts';

/** A worker slot as the metrics read it. */
export type MetricsWorker = Pick<
	ManagedWorker,
	| 'workerId'
	| 'worker'
	| 'alive'
	| 'draining'
	| 'cpuUsage'
	| 'cpuUsageAverage'
	| 'maxRssKb'
	| 'uptimeMs'
	| 'portsInUse'
	| 'portCapacity'
	| 'portsExhausted'
	| 'restarts'
>;

/** What the metrics read from the server; every value is read at scrape time. */
export type MetricsSource = {
	pool: { readonly workers: readonly MetricsWorker[] };
	rooms: {
		loadByWorker(): Map<number, WorkerLoad>;
		readonly rooms: readonly { readonly members: ReadonlyMap<string, Pick<RoomMember, 'consumerLayers'>> }[];
		readonly totalPeers: number;
	};
	isDraining(): boolean;
	build: { version: string; mediasoupVersion: string };
};

export type TureenRegistry = {
	registry: Registry;
	recordSignallingRequest(method: string, outcome: string): void;
};

/**
 * A Registry of its own per server (several run in one test process, and the
 * global default registry would mix them). Every series is labelled by
 * worker_id (bounded by the worker count) or by a fixed list of values, never
 * one per room or peer.
 */
export function createTureenRegistry(source: MetricsSource, media: MediaCounter): TureenRegistry {
	const registry = new Registry();
	const registers = [registry];
	const { pool } = source;
	const labels = (w: MetricsWorker) => ({ worker_id: String(w.workerId) });

	const workerGauge = (name: string, help: string, value: (w: MetricsWorker) => number) =>
		new Gauge({
			name,
			help,
			labelNames: ['worker_id'],
			registers,
			collect() {
				for (const w of pool.workers) this.set(labels(w), value(w));
			},
		});

	workerGauge('tureen_worker_cpu_ratio', 'Worker CPU over the last sample interval, fraction of one core.', (w) => w.cpuUsage);
	workerGauge(
		'tureen_worker_cpu_average_ratio',
		'Moving average of the worker CPU samples (what placement uses), fraction of one core.',
		(w) => w.cpuUsageAverage,
	);
	workerGauge(
		'tureen_worker_alive',
		'1 while the worker process is running, 0 while its slot is empty.',
		(w) => (w.alive ? 1 : 0),
	);
	workerGauge('tureen_worker_draining', '1 while the worker takes no new rooms.', (w) => (w.draining ? 1 : 0));
	workerGauge(
		'tureen_worker_max_rss_bytes',
		'Peak resident set size of the worker process (getrusage ru_maxrss).',
		(w) => w.maxRssKb * 1024,
	);
	workerGauge(
		'tureen_worker_uptime_seconds',
		'Seconds since the worker process in this slot started; 0 while dead.',
		(w) => w.uptimeMs / 1000,
	);

	workerGauge(
		'tureen_worker_rtc_ports_in_use',
		'RTC ports of the worker range in use, per protocol (each WebRTC transport binds one UDP and one TCP port).',
		(w) => w.portsInUse,
	);
	workerGauge('tureen_worker_rtc_ports', 'Size of the worker RTC port range, per protocol.', (w) => w.portCapacity);
	workerGauge(
		'tureen_worker_rtc_ports_exhausted',
		'1 while the worker has no free RTC port (a transport was refused NO_PORTS_AVAILABLE, or every port is in use).',
		(w) => (w.portsExhausted ? 1 : 0),
	);

	new Counter({
		name: 'tureen_worker_restarts_total',
		help: 'Times the worker slot was respawned after its process died.',
		labelNames: ['worker_id'],
		registers,
		collect() {
			// The pool owns the count; mirror it rather than keep a second tally.
			this.reset();
			for (const w of pool.workers) this.inc(labels(w), w.restarts);
		},
	});

	const loadHelp: Record<'rooms' | 'peers' | 'pipe_transports' | 'piped_producers', [string, (load: WorkerLoad) => number]> = {
		rooms: ['Rooms with a router on the worker (a room spanning workers counts on each).', (l) => l.roomIds.length],
		peers: ['Peers whose router is on the worker.', (l) => l.peers],
		pipe_transports: ['Pipe transports linking routers on the worker to other routers of their rooms.', (l) => l.pipeTransports],
		piped_producers: ['Producers of other workers made available on the worker through pipes.', (l) => l.pipedProducers],
	};
	for (const [key, [help, value]] of Object.entries(loadHelp)) {
		new Gauge({
			name: `tureen_worker_${key}`,
			help,
			labelNames: ['worker_id'],
			registers,
			collect() {
				const load = source.rooms.loadByWorker();
				for (const w of pool.workers) {
					const entry = load.get(w.workerId);
					this.set(labels(w), entry ? value(entry) : 0);
				}
			},
		});
	}

	const mediaHelp: Record<keyof MediaCounts, string> = {
		routers: 'Open mediasoup routers on the worker.',
		transports: 'Open mediasoup transports on the worker.',
		producers: 'Open mediasoup producers on the worker.',
		consumers: 'Open mediasoup consumers on the worker.',
	};
	for (const key of Object.keys(mediaHelp) as (keyof MediaCounts)[]) {
		workerGauge(`tureen_worker_${key}`, mediaHelp[key], (w) => media.countsOf(w.workerId, w.worker)[key]);
	}

	const totalGauge = (name: string, help: string, value: () => number) =>
		new Gauge({
			name,
			help,
			registers,
			collect() {
				this.set(value());
			},
		});
	totalGauge('tureen_rooms', 'Rooms on this server.', () => source.rooms.rooms.length);
	totalGauge('tureen_peers', 'Peers in all rooms on this server.', () => source.rooms.totalPeers);
	totalGauge('tureen_workers', 'Worker slots configured.', () => pool.workers.length);
	totalGauge('tureen_draining', '1 while the whole server is draining.', () => (source.isDraining() ? 1 : 0));

	new Gauge({
		name: 'tureen_forwarded_video_layers',
		help: 'Simulcast/SVC video consumers by the spatial layer they forward now (none: paused or no layer available).',
		labelNames: ['spatial_layer'],
		registers,
		collect() {
			const states = source.rooms.rooms.flatMap((room) => [...room.members.values()].flatMap((m) => m.consumerLayers?.() ?? []));
			const counts = countForwardedLayers(states);
			for (const label of FORWARDED_LAYER_LABELS) this.set({ spatial_layer: label }, counts[label]);
		},
	});

	new Gauge({
		name: 'tureen_build_info',
		help: 'Always 1; the labels say which versions are running.',
		labelNames: ['version', 'mediasoup_version'],
		registers,
	}).set({ version: source.build.version, mediasoup_version: source.build.mediasoupVersion }, 1);

	const requests = new Counter({
		name: 'tureen_signalling_requests_total',
		help: 'Signalling requests answered, by method ("unknown" for names outside the protocol and for frames refused before a method was read) and outcome.',
		labelNames: ['method', 'outcome'],
		registers,
	});
	// Zero-valued series from the start so rate() and absent() behave before the first request.
	for (const method of [...SIGNALLING_METHODS, 'unknown']) {
		for (const outcome of SIGNALLING_OUTCOMES) requests.inc({ method, outcome }, 0);
	}

	// Standard process_* and nodejs_* names, so stock dashboards and alerts work unchanged.
	collectDefaultMetrics({ register: registry });

	return {
		registry,
		recordSignallingRequest(method, outcome) {
			requests.inc({ method: methodLabel(method), outcome: outcomeLabel(outcome) });
		},
	};
}
