#!/usr/bin/env node
// `npm test`: node's test runner over the given test files, one file at a
// time, with one exception to "a failure fails the run": a test file whose
// process was killed by SIGSEGV or SIGBUS is run once more, alone. Our code
// is JavaScript; in a test process only a native add-on can crash that way,
// and the one there is the Node WebRTC test client (@roamhq/wrtc), whose
// libwebrtc crashed test/integration/media.test.ts in 2 of 3 full runs on
// one day on a 2-core machine (each time while its second test joined new
// peers), never when the file ran alone (7 runs). The crash and the re-run
// are printed; any other failure, or a second crash, fails the run.
import { spawn } from 'node:child_process';

const CRASH_SIGNALS = new Set(['SIGSEGV', 'SIGBUS']);
const files = process.argv.slice(2);
if (files.length === 0) {
	console.error('usage: node scripts/test.mjs <test files...>');
	process.exit(2);
}

/** Runs the files under node's test runner (TAP to stdout, passed through); the exit code and the TAP text. */
function runFiles(list) {
	return new Promise((resolve) => {
		const child = spawn('npx', ['tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...list], { stdio: ['ignore', 'pipe', 'inherit'] });
		let tap = '';
		child.stdout.on('data', (chunk) => {
			process.stdout.write(chunk);
			tap += chunk.toString();
		});
		child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), tap }));
	});
}

/**
 * Top-level failures of a TAP report: each `not ok N - name` at column 0 with
 * the signal its YAML block names, if any. A file that crashed is reported
 * under its own path, with the signal that killed it.
 */
function topLevelFailures(tap) {
	const lines = tap.split('\n');
	const failures = [];
	for (let i = 0; i < lines.length; i++) {
		const match = /^not ok \d+ - (.+)$/.exec(lines[i]);
		if (!match) continue;
		let signal;
		for (let j = i + 1; j < lines.length && lines[j].startsWith('  '); j++) {
			const found = /^\s+signal: '([A-Z]+)'/.exec(lines[j]);
			if (found) signal = found[1];
		}
		failures.push({ name: match[1], signal });
	}
	return failures;
}

const first = await runFiles(files);
if (first.code === 0) process.exit(0);
const failures = topLevelFailures(first.tap);
const crashed = failures.filter((f) => CRASH_SIGNALS.has(f.signal ?? '') && files.some((file) => f.name.endsWith(file.replace(/^\.\//, ''))));
if (failures.length === 0 || crashed.length !== failures.length) process.exit(first.code);

console.log(`# ${crashed.map((f) => `${f.name} was killed by ${f.signal}`).join('; ')}: a native add-on crashed (see scripts/test.mjs); running ${crashed.length === 1 ? 'it' : 'them'} once more`);
const again = await runFiles(crashed.map((f) => f.name));
console.log(again.code === 0 ? '# the re-run passed' : '# the re-run failed too');
process.exit(again.code);
