// The real entry point refuses bad environment values: exit code 2 and one
// stderr line naming the variable and the value, before anything starts.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { killRunningScripts, runTsScript, type RunResult } from '../support/runScript.ts';

/** Runs `node --import tsx src/index.ts` with a minimal environment plus `env`. */
function runServer(env: Record<string, string>): Promise<RunResult> {
	// Loopback and an ephemeral port, so nothing binds a public interface even
	// if validation wrongly passes; one worker at most.
	return runTsScript('src/index.ts', [], {
		MEDIASOUP_WORKER_COUNT: '1',
		LOG_LEVEL: 'warn',
		...env,
		PORT: env.PORT ?? '0',
		HTTP_HOST: '127.0.0.1',
	});
}

function assertConfigExit(result: RunResult, mustMention: string[]): void {
	assert.equal(result.timedOut, false, `the process exited by itself (stdout: ${result.stdout.slice(0, 500)})`);
	assert.equal(result.signal, null);
	assert.equal(result.code, 2, `exit code 2; stderr: ${result.stderr}`);
	const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
	assert.equal(lines.length, 1, `exactly one stderr line, got: ${JSON.stringify(result.stderr)}`);
	const line = lines[0]!;
	assert.match(line, /configuration error/);
	for (const text of mustMention) assert.ok(line.includes(text), `stderr line mentions ${text}: ${line}`);
	assert.equal(result.stdout, '', 'nothing started, nothing logged');
}

describe('bad environment values stop the server with exit code 2', () => {
	after(killRunningScripts);

	it('MEDIASOUP_WORKER_COUNT=abc', async () => {
		assertConfigExit(await runServer({ MEDIASOUP_WORKER_COUNT: 'abc' }), ['MEDIASOUP_WORKER_COUNT', 'abc']);
	});

	it('MEDIASOUP_WORKER_COUNT=0', async () => {
		assertConfigExit(await runServer({ MEDIASOUP_WORKER_COUNT: '0' }), ['MEDIASOUP_WORKER_COUNT', '"0"']);
	});

	it('RTC_BASE_PORT=60000 with MEDIASOUP_WORKER_COUNT=10 (ranges past 65535)', async () => {
		// Reported on RTC_PORTS_PER_WORKER (value 1000), naming the base port and
		// the worker count that push the last range past 65535.
		assertConfigExit(await runServer({ RTC_BASE_PORT: '60000', MEDIASOUP_WORKER_COUNT: '10' }), [
			'RTC_PORTS_PER_WORKER',
			'"1000"',
			'60000',
			'10 workers',
		]);
	});

	it('WEBRTC_LISTEN_IP=300.1.1.1', async () => {
		assertConfigExit(await runServer({ WEBRTC_LISTEN_IP: '300.1.1.1' }), ['WEBRTC_LISTEN_IP', '300.1.1.1']);
	});

	it('PORT=-5', async () => {
		assertConfigExit(await runServer({ PORT: '-5' }), ['PORT', '-5']);
	});
});
