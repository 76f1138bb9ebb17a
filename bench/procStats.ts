// CPU and memory of any process from /proc (Linux): used for the mediasoup
// worker processes, which process.cpuUsage() does not see.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc/<pid>/stat (USER_HZ; 100 on Linux x86 and arm). */
const TICKS_PER_SECOND = 100;

/**
 * Cumulative CPU time of a process (all its threads), in ms; undefined if it
 * is gone. From the scheduler's nanosecond run time (/proc/<pid>/task/<tid>/schedstat)
 * where the kernel has it, else /proc/<pid>/stat's 10 ms ticks (too coarse
 * for a worker at 15% of a core over a 2 s window).
 */
export function processCpuMs(pid: number): number | undefined {
	return HAS_SCHEDSTAT ? schedstatCpuMs(pid) : tickCpuMs(pid);
}

const HAS_SCHEDSTAT = existsSync('/proc/self/schedstat');
/** How worker CPU is measured here (recorded with every result). */
export const WORKER_CPU_ACCOUNTING = HAS_SCHEDSTAT ? 'schedstat run time (ns)' : '/proc/<pid>/stat ticks (10 ms)';

function schedstatCpuMs(pid: number): number | undefined {
	let tids: string[];
	try {
		tids = readdirSync(`/proc/${pid}/task`);
	} catch {
		return undefined;
	}
	let ns = 0;
	for (const tid of tids) {
		try {
			ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
		} catch {
			// that thread has just exited
		}
	}
	return ns / 1e6;
}

function tickCpuMs(pid: number): number | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		// Fields after the command name (which may hold spaces) start at field 3.
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		const utime = Number(fields[11]);
		const stime = Number(fields[12]);
		return ((utime + stime) * 1000) / TICKS_PER_SECOND;
	} catch {
		return undefined;
	}
}

/** Resident set size of a process in KiB; undefined if it is gone. */
export function processRssKb(pid: number): number | undefined {
	try {
		const status = readFileSync(`/proc/${pid}/status`, 'utf8');
		const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
		return match ? Number(match[1]) : undefined;
	} catch {
		return undefined;
	}
}

/** The CPUs a process may run on, as taskset prints them, from /proc/<pid>/status. */
export function processAffinity(pid: number): string | undefined {
	try {
		const status = readFileSync(`/proc/${pid}/status`, 'utf8');
		return /^Cpus_allowed_list:\s+(\S+)/m.exec(status)?.[1];
	} catch {
		return undefined;
	}
}

export type CpuSample = { atMs: number; cpuMs: number };

/** CPU used between two samples, as a fraction of one core. */
export function cpuBetween(a: CpuSample, b: CpuSample): number {
	const wall = b.atMs - a.atMs;
	return wall > 0 ? Math.max(0, (b.cpuMs - a.cpuMs) / wall) : 0;
}

/** This process's own CPU (all threads, including native ones such as libwebrtc's), in ms. */
export function selfCpuMs(): number {
	const { user, system } = process.cpuUsage();
	return (user + system) / 1000;
}

export type CoreTimes = { busy: number; softirq: number; total: number };

/** Cumulative jiffies per CPU from /proc/stat: busy (all but idle and iowait), softirq, total. */
export function coreTimes(): CoreTimes[] {
	const cores: CoreTimes[] = [];
	for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
		if (!/^cpu\d+ /.test(line)) continue;
		const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1, 9).map(Number) as number[];
		const busy = user! + nice! + system! + irq! + softirq! + steal!;
		cores.push({ busy, softirq: softirq!, total: busy + idle! + iowait! });
	}
	return cores;
}

/** Share of each CPU busy (and in softirq) between two coreTimes() readings. */
export function coreUseBetween(a: CoreTimes[], b: CoreTimes[]): { busy: number; softirq: number }[] {
	return b.map((now, i) => {
		const was = a[i] ?? now;
		const total = Math.max(1, now.total - was.total);
		return { busy: (now.busy - was.busy) / total, softirq: (now.softirq - was.softirq) / total };
	});
}

/**
 * Datagrams the kernel dropped, machine-wide, because a UDP socket's receive
 * buffer was full (/proc/net/snmp Udp RcvbufErrors); 0 where the kernel
 * does not report that counter.
 */
export function udpReceiveBufferErrors(): number {
	const rows = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Udp:'));
	const names = rows[0]?.split(/\s+/) ?? [];
	const values = rows[1]?.split(/\s+/) ?? [];
	const at = names.indexOf('RcvbufErrors');
	return at > 0 ? Number(values[at] ?? 0) : 0;
}
