// Gives a process a fixed CPU budget (a fraction of one core) with a cgroup
// cpu controller (v1 cpu.cfs_quota_us, or v2 cpu.max). step.ts puts every
// mediasoup worker of a step under one, so the 1-core load side can saturate
// it and capacity is measured server-bound; see bench/README.md.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const V1_ROOT = '/sys/fs/cgroup/cpu';
const V2_ROOT = '/sys/fs/cgroup';
/**
 * A 10 ms period: long enough that two budgeted workers sharing a core both
 * get their quota within it (a shorter period loses quota to contention),
 * short enough that a stall queues only a few ms of packets.
 */
const PERIOD_US = 10_000;
/** The kernel refuses quotas under 1 ms. */
const MIN_QUOTA_US = 1000;

type Flavour = { version: 1 | 2; root: string };

function detect(): Flavour | undefined {
	if (existsSync(join(V1_ROOT, 'cpu.cfs_quota_us'))) return { version: 1, root: V1_ROOT };
	try {
		if (readFileSync(join(V2_ROOT, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('cpu')) {
			return { version: 2, root: V2_ROOT };
		}
	} catch {
		// no cgroup v2 with the cpu controller
	}
	return undefined;
}

export class CpuBudget {
	readonly path: string;
	readonly fraction: number;
	readonly #flavour: Flavour;

	private constructor(path: string, fraction: number, flavour: Flavour) {
		this.path = path;
		this.fraction = fraction;
		this.#flavour = flavour;
	}

	/** Why budgets cannot be used here, or undefined when they can (creates and removes a probe group). */
	static unavailableReason(): string | undefined {
		const flavour = detect();
		if (!flavour) return 'no cgroup cpu controller (v1 cpu.cfs_quota_us or v2 cpu.max) found';
		try {
			const probe = CpuBudget.create(`tureen-bench-probe-${process.pid}`, 0.5);
			rmdirSync(probe.path);
			return undefined;
		} catch (error) {
			return `cannot create a cgroup under ${flavour.root}: ${(error as Error).message}`;
		}
	}

	/** A new group `name` limited to `fraction` of one core (0 < fraction <= 1). */
	static create(name: string, fraction: number): CpuBudget {
		const flavour = detect();
		if (!flavour) throw new Error('no cgroup cpu controller');
		if (!(fraction >= MIN_QUOTA_US / PERIOD_US && fraction <= 1)) throw new RangeError(`budget out of range (0.1-1): ${fraction}`);
		const path = join(flavour.root, name);
		if (!existsSync(path)) mkdirSync(path);
		const quotaUs = Math.round(fraction * PERIOD_US);
		if (flavour.version === 1) {
			writeFileSync(join(path, 'cpu.cfs_period_us'), String(PERIOD_US));
			writeFileSync(join(path, 'cpu.cfs_quota_us'), String(quotaUs));
		} else {
			writeFileSync(join(path, 'cpu.max'), `${quotaUs} ${PERIOD_US}`);
		}
		return new CpuBudget(path, quotaUs / PERIOD_US, flavour);
	}

	/** Moves a process (all its threads) into the group. */
	add(pid: number): void {
		writeFileSync(join(this.path, 'cgroup.procs'), String(pid));
	}

	/** How often the group hit its quota, and for how long in total (ms). */
	throttled(): { periods: number; throttledPeriods: number; throttledMs: number } {
		const stat = readFileSync(join(this.path, 'cpu.stat'), 'utf8');
		const field = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(stat)?.[1] ?? 0);
		return this.#flavour.version === 1
			? { periods: field('nr_periods'), throttledPeriods: field('nr_throttled'), throttledMs: field('throttled_time') / 1e6 }
			: { periods: field('nr_periods'), throttledPeriods: field('nr_throttled'), throttledMs: field('throttled_usec') / 1e3 };
	}

	/**
	 * Moves any process still inside back to the root group, then deletes the
	 * group (retrying for a moment while an exiting process still holds it).
	 */
	async remove(): Promise<void> {
		for (let attempt = 0; existsSync(this.path); attempt++) {
			try {
				const pids = readFileSync(join(this.path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
				for (const pid of pids) writeFileSync(join(this.#flavour.root, 'cgroup.procs'), pid);
			} catch {
				// the processes are gone already
			}
			try {
				rmdirSync(this.path);
				return;
			} catch (error) {
				if (attempt >= 20) throw error;
				await new Promise((resolve) => setTimeout(resolve, 100));
			}
		}
	}

	/** Best-effort, synchronous: removes every group whose name starts with `prefix` (interrupted runs). */
	static removeLeftovers(prefix: string): void {
		const flavour = detect();
		if (!flavour) return;
		for (const name of readdirSync(flavour.root)) {
			if (!name.startsWith(prefix)) continue;
			const path = join(flavour.root, name);
			try {
				for (const pid of readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
					writeFileSync(join(flavour.root, 'cgroup.procs'), pid);
				}
				rmdirSync(path);
			} catch {
				// still busy or already gone
			}
		}
	}
}
