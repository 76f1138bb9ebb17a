// What the soak reads from outside the server: /proc of the processes it
// started (RSS, socket descriptors, parent pid) and the public HTTP endpoints
// (/metrics, /workers, /stats, /rooms). Every request goes over a fresh
// connection that is closed after the answer (agent: false, Connection:
// close), so the soak's own polling never shows up as an open socket of the
// node it measures.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';

/** Resident set size of a process in bytes (VmRSS of /proc/<pid>/status), undefined when it is gone. */
export function rssBytes(pid: number): number | undefined {
	try {
		const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return match ? Number(match[1]) * 1024 : undefined;
	} catch {
		return undefined;
	}
}

/** A socket of the network namespace, from /proc/net/{tcp,tcp6,udp,udp6,unix}. */
type SocketInfo = { proto: 'tcp' | 'udp' | 'unix'; localPort: number; remotePort: number; listening: boolean };

/** Every socket of the namespace by inode (read once per measurement: the tables are shared by all processes). */
export function socketTable(): Map<string, SocketInfo> {
	const table = new Map<string, SocketInfo>();
	const port = (address: string | undefined) => parseInt(address?.split(':')[1] ?? '0', 16);
	for (const proto of ['tcp', 'tcp6', 'udp', 'udp6'] as const) {
		let text: string;
		try {
			text = readFileSync(`/proc/net/${proto}`, 'utf8');
		} catch {
			continue;
		}
		for (const line of text.split('\n').slice(1)) {
			const f = line.trim().split(/\s+/);
			if (f.length < 10) continue;
			table.set(f[9]!, { proto: proto.startsWith('tcp') ? 'tcp' : 'udp', localPort: port(f[1]), remotePort: port(f[2]), listening: proto.startsWith('tcp') && f[3] === '0A' });
		}
	}
	try {
		for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
			const f = line.trim().split(/\s+/);
			if (f.length >= 7) table.set(f[6]!, { proto: 'unix', localPort: 0, remotePort: 0, listening: false });
		}
	} catch {
		// no unix table: those sockets count as "other"
	}
	return table;
}

/** A process's sockets by kind: `name(info)` names the kind of each (e.g. "redis", "ws"), undefined for "other". */
export type SocketCounts = Record<string, number>;

/** The socket descriptors of a process (/proc/<pid>/fd -> socket:[inode]), counted by kind; undefined when it is gone. */
export function socketCounts(pid: number, table: Map<string, SocketInfo>, kindOf: (info: SocketInfo) => string): SocketCounts | undefined {
	let entries: string[];
	try {
		entries = readdirSync(`/proc/${pid}/fd`);
	} catch {
		return undefined;
	}
	const counts: SocketCounts = {};
	for (const fd of entries) {
		let link: string;
		try {
			link = readlinkSync(`/proc/${pid}/fd/${fd}`);
		} catch {
			continue; // closed between readdir and readlink
		}
		const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
		if (inode === undefined) continue;
		const info = table.get(inode);
		const kind = info ? kindOf(info) : 'other';
		counts[kind] = (counts[kind] ?? 0) + 1;
	}
	return counts;
}

export const totalOf = (counts: SocketCounts | undefined) => (counts ? Object.values(counts).reduce((a, b) => a + b, 0) : undefined);

export function describeCounts(counts: SocketCounts | undefined): string {
	if (!counts) return '-';
	return Object.entries(counts)
		.sort(([a], [b]) => a.localeCompare(b))
		.map(([k, v]) => `${k} ${v}`)
		.join(', ');
}

/** The parent pid (field 4 of /proc/<pid>/stat), undefined when the process is gone. */
export function parentPid(pid: number): number | undefined {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		// The command name (field 2) is in parentheses and may hold spaces: read after the last ')'.
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		return Number(fields[1]);
	} catch {
		return undefined;
	}
}

/** The command name of a process (/proc/<pid>/comm). */
export function commandName(pid: number): string | undefined {
	try {
		return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
	} catch {
		return undefined;
	}
}

export type HttpAnswer = { status: number; body: string };

/** GET over a connection of its own, closed afterwards; rejects after timeoutMs. */
export function httpGet(url: string, timeoutMs = 5_000): Promise<HttpAnswer> {
	return new Promise((resolve, reject) => {
		const req = request(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (chunk: string) => (body += chunk));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
			res.on('error', reject);
		});
		req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
		req.on('error', reject);
		req.end();
	});
}

export async function getJson<T>(url: string, timeoutMs = 5_000): Promise<T> {
	const answer = await httpGet(url, timeoutMs);
	if (answer.status !== 200) throw new Error(`GET ${url}: ${answer.status} ${answer.body.slice(0, 200)}`);
	return JSON.parse(answer.body) as T;
}

export type Sample = { name: string; labels: Record<string, string>; value: number };

/** The samples of a Prometheus text exposition (comments skipped). */
export function parsePrometheus(text: string): Sample[] {
	const samples: Sample[] = [];
	for (const line of text.split('\n')) {
		if (line === '' || line.startsWith('#')) continue;
		const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
		if (!match) continue;
		const labels: Record<string, string> = {};
		for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
		samples.push({ name: match[1]!, labels, value: Number(match[3]) });
	}
	return samples;
}

/** The value of `name` (with all of `labels`), undefined when absent. */
export function metric(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
	return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** GET /workers, as docs/http-api.md describes it (the fields the soak reads). */
export type WorkersJson = {
	workers: { workerId: number; pid: number; closed: boolean; restarts: number; pipeTransports: number; pipedProducers: number; peerCount: number; roomCount: number }[];
};

/** GET /rooms (the fields the soak reads). */
export type RoomsJson = { rooms: { roomId: string; peerCount: number; workers: { workerId: number; peerCount: number }[] }[] };

export const MiB = 1024 * 1024;
