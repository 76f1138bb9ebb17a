// Request/response over Node's child-process IPC channel, so the benchmark
// can put the server side and the load clients in separate processes, each
// pinned to its own core with taskset.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Request = { id: number; method: string; params: unknown };
type Response = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export type Handlers = Record<string, (params: never) => Promise<unknown>>;

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const TASKSET = '/usr/bin/taskset';

/** True when taskset exists and this machine has at least `cores` CPUs to pin to. */
export function canPin(cores: number): boolean {
	if (!existsSync(TASKSET)) return false;
	const probe = spawnSync(TASKSET, ['-p', String(process.pid)], { encoding: 'utf8' });
	return probe.status === 0 && cores >= 2;
}

/** Child side: answers the parent's requests with `handlers` until told to exit. */
export function serveParent(handlers: Handlers): void {
	if (!process.send) throw new Error('this file runs as a child process of bench/reportRun.ts');
	process.on('message', (raw: Request) => {
		const handler = handlers[raw.method];
		const reply = (response: Response) => process.send?.(response);
		if (!handler) {
			reply({ id: raw.id, ok: false, error: `unknown method ${raw.method}` });
			return;
		}
		handler(raw.params as never).then(
			(result) => reply({ id: raw.id, ok: true, result: result ?? null }),
			(error: unknown) => reply({ id: raw.id, ok: false, error: (error as Error)?.stack ?? String(error) }),
		);
	});
	// The parent going away ends the child (no orphaned media servers).
	process.on('disconnect', () => process.exit(0));
}

/** Parent side: one child process running bench/<file>, optionally pinned to a core. */
export class ChildHandle {
	readonly name: string;
	readonly #child: ChildProcess;
	readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void; timer: NodeJS.Timeout }>();
	#nextId = 1;
	#exited = false;

	private constructor(name: string, child: ChildProcess) {
		this.name = name;
		this.#child = child;
		child.on('message', (raw: Response) => {
			const pending = this.#pending.get(raw.id);
			if (!pending) return;
			this.#pending.delete(raw.id);
			clearTimeout(pending.timer);
			if (raw.ok) pending.resolve(raw.result);
			else pending.reject(new Error(`${name}: ${raw.error}`));
		});
		child.on('exit', (code, signal) => {
			this.#exited = true;
			for (const [, pending] of this.#pending) {
				clearTimeout(pending.timer);
				pending.reject(new Error(`${name} exited (${code ?? signal}) during a request`));
			}
			this.#pending.clear();
		});
	}

	/** Starts `node [nodeArgs] --import tsx bench/<file>`, under `taskset -c <core>` when `core` is given. */
	static start(name: string, file: string, core: number | undefined, env: Record<string, string> = {}, nodeArgs: string[] = []): ChildHandle {
		const node = [process.execPath, ...nodeArgs, '--import', 'tsx', join(BENCH_DIR, file)];
		const [command, ...args] = core === undefined ? node : [TASKSET, '-c', String(core), ...node];
		const child = spawn(command!, args, {
			// The children's output (logs) goes to stderr: stdout carries only the report.
			stdio: ['ignore', 2, 2, 'ipc'],
			env: { ...process.env, ...env },
			cwd: join(BENCH_DIR, '..'),
		});
		return new ChildHandle(name, child);
	}

	get pid(): number {
		return this.#child.pid ?? -1;
	}

	request<T>(method: string, params: unknown = {}, timeoutMs = 60_000): Promise<T> {
		if (this.#exited) return Promise.reject(new Error(`${this.name} has exited`));
		const id = this.#nextId++;
		return new Promise<T>((resolve, reject) => {
			const timer = setTimeout(() => {
				this.#pending.delete(id);
				reject(new Error(`${this.name}: ${method} got no answer in ${timeoutMs} ms`));
			}, timeoutMs);
			this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
			this.#child.send({ id, method, params } satisfies Request);
		});
	}

	/** Asks the child to exit; kills it (by its pid) if it has not within `graceMs`. */
	async stop(graceMs = 10_000): Promise<void> {
		if (this.#exited) return;
		const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
		await this.request('exit', {}, graceMs).catch(() => undefined);
		const timer = setTimeout(() => {
			if (!this.#exited) this.#child.kill('SIGKILL');
		}, graceMs);
		await exited;
		clearTimeout(timer);
	}
}
