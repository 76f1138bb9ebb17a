// The sockets a process holds, read from /proc (Linux): which UDP ports it
// has bound and which TCP ports it listens on.
import { readdir, readFile, readlink } from 'node:fs/promises';

async function socketInodes(pid: number): Promise<Set<string>> {
	const inodes = new Set<string>();
	for (const fd of await readdir(`/proc/${pid}/fd`)) {
		const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
		const match = /^socket:\[(\d+)\]$/.exec(target);
		if (match) inodes.add(match[1]!);
	}
	return inodes;
}

/** Local ports of the /proc/net table rows owned by `inodes`; `state` filters (0A = TCP LISTEN). */
async function portsOf(tables: string[], inodes: Set<string>, state?: string): Promise<number[]> {
	const ports = new Set<number>();
	for (const table of tables) {
		const text = await readFile(table, 'utf8').catch(() => '');
		for (const line of text.split('\n').slice(1)) {
			const cols = line.trim().split(/\s+/);
			if (cols.length < 10) continue;
			const [, local, , st] = cols;
			if (state !== undefined && st !== state) continue;
			if (!inodes.has(cols[9]!)) continue;
			ports.add(Number.parseInt(local!.split(':').at(-1)!, 16));
		}
	}
	return [...ports].sort((a, b) => a - b);
}

/**
 * The process's sockets but those `parentPid` holds too: a child spawned
 * after the parent opened sockets without close-on-exec (libwebrtc's, in a
 * test process running WebRTC clients) inherits them; they are not its own.
 */
async function ownInodes(pid: number, parentPid: number | undefined): Promise<Set<string>> {
	const inodes = await socketInodes(pid);
	if (parentPid !== undefined) for (const inode of await socketInodes(parentPid)) inodes.delete(inode);
	return inodes;
}

/** UDP ports the process has bound (IPv4 and IPv6), without those inherited from `parentPid`. */
export async function udpPortsOf(pid: number, parentPid?: number): Promise<number[]> {
	return portsOf(['/proc/net/udp', '/proc/net/udp6'], await ownInodes(pid, parentPid));
}

/** TCP ports the process listens on (IPv4 and IPv6), without those inherited from `parentPid`. */
export async function tcpListenPortsOf(pid: number, parentPid?: number): Promise<number[]> {
	return portsOf(['/proc/net/tcp', '/proc/net/tcp6'], await ownInodes(pid, parentPid), '0A');
}
