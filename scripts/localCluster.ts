// A Tureen cluster on one machine: a throwaway redis-server (no persistence)
// and nodes as separate processes, each with its own HTTP port and RTC port
// range. Used by `npm run cluster` (scripts/cluster.ts), the cluster tests and
// the cluster benchmark, so all three start nodes the same way.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

import { signallingUrl } from '../src/protocol/cluster.ts';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const REDIS_SERVER = '/usr/bin/redis-server';

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** A child process whose output is kept (bounded) and whose exit can be awaited. */
export type Child = {
	readonly process: ChildProcess;
	readonly pid: number;
	readonly exited: Promise<Exit>;
	/** The last ~1 MB of stdout and stderr, interleaved. */
	output(): string;
	/** Sends the signal if still running; resolves when it exited (SIGKILL after `graceMs`). */
	stop(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
};

const OUTPUT_KEEP_CHARS = 1_000_000;

function watch(child: ChildProcess, onLine?: (line: string) => void): Child {
	let output = '';
	let partial = '';
	const take = (chunk: string) => {
		output = (output + chunk).slice(-OUTPUT_KEEP_CHARS);
		if (!onLine) return;
		const lines = (partial + chunk).split('\n');
		partial = lines.pop() ?? '';
		for (const line of lines) onLine(line);
	};
	child.stdout?.setEncoding('utf8').on('data', take);
	child.stderr?.setEncoding('utf8').on('data', take);
	const exited = new Promise<Exit>((resolve) => {
		if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
		else child.once('exit', (code, signal) => resolve({ code, signal }));
	});
	if (child.pid === undefined) throw new Error('the child process did not start');
	return {
		process: child,
		pid: child.pid,
		exited,
		output: () => output,
		async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) {
			if (child.exitCode === null && child.signalCode === null) child.kill(signal);
			const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
			try {
				return await exited;
			} finally {
				clearTimeout(timer);
			}
		},
	};
}

/** A port the OS just handed out on 127.0.0.1 (free now; someone else could take it, rarely). */
export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			const port = typeof address === 'object' && address ? address.port : 0;
			server.close(() => resolve(port));
		});
	});
}

export type WaitOptions = {
	intervalMs?: number;
	/** Checked before each try: a reason to stop waiting at once (e.g. the process exited). */
	giveUp?: () => string | undefined;
};

/**
 * Polls `check` every `intervalMs` until it returns true (a throw counts as
 * "not yet"); throws naming `what` after `timeoutMs` or when `giveUp` says so.
 */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, { intervalMs = 100, giveUp }: WaitOptions = {}): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const reason = giveUp?.();
		if (reason !== undefined) throw new Error(`gave up waiting for ${what}: ${reason}`);
		if (await Promise.resolve().then(check).catch(() => false)) return;
		if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, intervalMs));
	}
}

/** One PING over a fresh connection: true when Redis answers PONG. */
export function redisPing(port: number, timeoutMs = 1000): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = new Socket();
		const done = (ok: boolean) => {
			socket.destroy();
			resolve(ok);
		};
		socket.setTimeout(timeoutMs, () => done(false));
		socket.once('error', () => done(false));
		socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
		socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
	});
}

export type RedisProcess = Child & { port: number; url: string };

/** Starts redis-server on 127.0.0.1:`port` with nothing saved to disk (a restart starts empty). */
export async function startRedis(port: number, onLine?: (line: string) => void): Promise<RedisProcess> {
	const child = spawn(
		REDIS_SERVER,
		['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp', '--loglevel', 'warning'],
		{ stdio: ['ignore', 'pipe', 'pipe'] },
	);
	const spawned = await new Promise<ChildProcess>((resolve, reject) => {
		child.once('spawn', () => resolve(child));
		child.once('error', (error) => reject(new Error(`cannot start ${REDIS_SERVER} (run: node scripts/setup.mjs --for-cluster): ${error.message}`)));
	});
	const redis = { ...watch(spawned, onLine), port, url: `redis://127.0.0.1:${port}` };
	try {
		await waitFor(`redis-server on port ${port}`, () => redisPing(port), 10_000, {
			giveUp: () => (spawned.exitCode === null ? undefined : `redis-server exited: ${redis.output()}`),
		});
	} catch (error) {
		await redis.stop('SIGKILL');
		throw error;
	}
	return redis;
}

export type NodePlan = {
	nodeId: string;
	port: number;
	rtcBasePort: number;
	rtcPortsPerWorker: number;
	workers: number;
	redisUrl: string;
	region?: string;
};

export function nodeBaseUrl(plan: Pick<NodePlan, 'port'>): string {
	return `http://127.0.0.1:${plan.port}`;
}

/** The environment of one local node: loopback only, its own ports. */
export function nodeEnv(plan: NodePlan, extra: Record<string, string> = {}): Record<string, string> {
	return {
		PATH: process.env.PATH ?? '/usr/bin:/bin',
		HOME: process.env.HOME ?? '/tmp',
		...(process.env.MEDIASOUP_WORKER_BIN ? { MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN } : {}),
		REDIS_URL: plan.redisUrl,
		NODE_ID: plan.nodeId,
		PUBLIC_URL: nodeBaseUrl(plan),
		...(plan.region ? { NODE_REGION: plan.region } : {}),
		PORT: String(plan.port),
		HTTP_HOST: '127.0.0.1',
		WEBRTC_LISTEN_IP: '127.0.0.1',
		MEDIASOUP_WORKER_COUNT: String(plan.workers),
		RTC_BASE_PORT: String(plan.rtcBasePort),
		RTC_PORTS_PER_WORKER: String(plan.rtcPortsPerWorker),
		...extra,
	};
}

export type NodeProcess = Child & { plan: NodePlan; baseUrl: string; wsUrl: string };

/** Starts `node --import tsx src/index.ts` for the plan; resolves once GET /ready answers 200. */
export async function startNode(plan: NodePlan, extra: Record<string, string> = {}, { readyTimeoutMs = 60_000, onLine }: { readyTimeoutMs?: number; onLine?: (line: string) => void } = {}): Promise<NodeProcess> {
	const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
		cwd: ROOT,
		env: nodeEnv(plan, extra),
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	const baseUrl = nodeBaseUrl(plan);
	const node: NodeProcess = { ...watch(child, onLine), plan, baseUrl, wsUrl: signallingUrl(baseUrl) };
	try {
		const ready = async () => (await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(2000) })).status === 200;
		await waitFor(`node ${plan.nodeId} to be ready`, ready, readyTimeoutMs, {
			intervalMs: 200,
			giveUp: () => (child.exitCode === null ? undefined : `it exited with ${child.exitCode}: ${node.output().slice(-4000)}`),
		});
	} catch (error) {
		await node.stop('SIGKILL');
		throw error;
	}
	return node;
}
