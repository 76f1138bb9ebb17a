import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type RunResult = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; timedOut: boolean };

const children = new Set<ChildProcess>();

/**
 * Runs `node --import tsx <script> ...args` from the project root with only
 * PATH, HOME and `env`, as an operator would. Bounded: SIGTERM after
 * `timeoutMs`, SIGKILL a little later.
 */
export function runTsScript(
	script: string,
	args: string[],
	env: Record<string, string>,
	{ timeoutMs = 30_000, killGraceMs = 3_000 } = {},
): Promise<RunResult> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
			cwd: ROOT,
			env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		children.add(child);
		let stdout = '';
		let stderr = '';
		let timedOut = false;
		let killTimer: NodeJS.Timeout | undefined;
		child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
		child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
		const timer = setTimeout(() => {
			timedOut = true;
			child.kill('SIGTERM');
			killTimer = setTimeout(() => child.kill('SIGKILL'), killGraceMs);
		}, timeoutMs);
		const settle = () => {
			clearTimeout(timer);
			clearTimeout(killTimer);
			children.delete(child);
		};
		child.once('error', (error) => {
			settle();
			reject(error);
		});
		child.once('close', (code, signal) => {
			settle();
			resolve({ code, signal, stdout, stderr, timedOut });
		});
	});
}

/** For `after()`: kills whatever a failed test left running. */
export function killRunningScripts(): void {
	for (const child of children) {
		if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
	}
}
