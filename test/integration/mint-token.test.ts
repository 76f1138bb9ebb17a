// scripts/mint-token.ts as an operator runs it: the token it prints verifies
// with the server's own verifyJoinToken; bad arguments or a missing/short
// JOIN_SECRET give exit code 2 and one stderr line, and no token.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { decodeJwt } from 'jose';

import { verifyJoinToken } from '../../src/auth/joinToken.ts';
import { killRunningScripts, runTsScript, type RunResult } from '../support/runScript.ts';

const SECRET = 'mint-token-test-secret-0123456789';

/** `node --import tsx scripts/mint-token.ts ...args` with only PATH, HOME and `env`. */
function mintToken(args: string[], env: Record<string, string> = { JOIN_SECRET: SECRET }): Promise<RunResult> {
	return runTsScript('scripts/mint-token.ts', args, env, { timeoutMs: 20_000, killGraceMs: 2_000 });
}

/** Exit 2, nothing on stdout, one stderr line matching `pattern`. */
function assertUsageError(result: RunResult, pattern: RegExp): void {
	assert.equal(result.timedOut, false);
	assert.equal(result.code, 2, `exit code: ${result.stderr}`);
	assert.equal(result.stdout, '');
	const lines = result.stderr.trimEnd().split('\n');
	assert.equal(lines.length, 1, `one stderr line: ${result.stderr}`);
	assert.match(lines[0]!, /^mint-token: /);
	assert.match(lines[0]!, pattern);
}

describe('scripts/mint-token.ts', () => {
	after(killRunningScripts);

	it('prints a token that verifyJoinToken accepts, with room, identity and name', async () => {
		const before = Math.floor(Date.now() / 1000);
		const result = await mintToken(['--room', 'standup-42', '--peer', 'user-7', '--name', 'Ada Lovelace']);
		assert.equal(result.timedOut, false);
		assert.equal(result.code, 0, result.stderr);
		assert.equal(result.stderr, '');
		assert.match(result.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'the token alone, on one line');
		const token = result.stdout.trim();

		const { expiresAt, ...claims } = await verifyJoinToken(SECRET, token, 'standup-42');
		assert.deepEqual(claims, { roomId: 'standup-42', peer: 'user-7', displayName: 'Ada Lovelace' });
		assert.equal(expiresAt, decodeJwt(token).exp! * 1000);
		const { exp } = decodeJwt(token);
		assert.ok(exp !== undefined && exp >= before + 3600 && exp <= Math.floor(Date.now() / 1000) + 3600, `default ttl 3600 s (exp ${exp})`);

		await assert.rejects(verifyJoinToken(SECRET, token, 'another-room'), { code: 'FORBIDDEN' });
		await assert.rejects(verifyJoinToken('some-other-secret-0123456789', token, 'standup-42'), { code: 'UNAUTHORIZED' });
	});

	it('honours --ttl and leaves out the name claim without --name', async () => {
		const result = await mintToken(['--room', 'r1', '--peer', 'bot', '--ttl', '60']);
		assert.equal(result.code, 0, result.stderr);
		const token = result.stdout.trim();
		const { expiresAt: _expiresAt, ...claims } = await verifyJoinToken(SECRET, token, 'r1');
		assert.deepEqual(claims, { roomId: 'r1', peer: 'bot' });
		const { exp, iat } = decodeJwt(token);
		assert.equal(exp! - iat!, 60);
	});

	it('refuses a missing or short JOIN_SECRET with exit 2', async () => {
		assertUsageError(await mintToken(['--room', 'r1', '--peer', 'p'], {}), /JOIN_SECRET is not set/);
		assertUsageError(await mintToken(['--room', 'r1', '--peer', 'p'], { JOIN_SECRET: '' }), /JOIN_SECRET is not set/);
		const short = await mintToken(['--room', 'r1', '--peer', 'p'], { JOIN_SECRET: 'short-secret' });
		assertUsageError(short, /JOIN_SECRET.*at least 16 characters/);
		assert.doesNotMatch(short.stderr, /short-secret/, 'the secret is not echoed');
	});

	it('refuses bad arguments with exit 2 and one line', async () => {
		const cases: [string[], RegExp][] = [
			[[], /--room is required/],
			[['--peer', 'p'], /--room is required/],
			[['--room', 'r1'], /--peer is required/],
			[['--room', 'r1', '--peer', '   '], /--peer is required/],
			[['--room', 'bad room', '--peer', 'p'], /--room "bad room" is invalid/],
			[['--room', 'r'.repeat(65), '--peer', 'p'], /--room .* is invalid/],
			[['--room', 'r1', '--peer', 'p', '--ttl', '0'], /--ttl "0" is invalid/],
			[['--room', 'r1', '--peer', 'p', '--ttl', '1.5'], /--ttl "1.5" is invalid/],
			[['--room', 'r1', '--peer', 'p', '--ttl', 'soon'], /--ttl "soon" is invalid/],
			[['--room', 'r1', '--peer', 'p', '--ttl=-5'], /--ttl "-5" is invalid/],
			[['--room', 'r1', '--peer', 'p', '--name', 'n'.repeat(65)], /--name must be 1-64 characters/],
			[['--room', 'r1', '--peer', 'p', '--bogus'], /Unknown option '--bogus'/],
			[['--room', 'r1', '--peer', 'p', 'extra'], /Unexpected argument 'extra'/],
			[['--room'], /--room/],
		];
		// In parallel: a fixed handful of short-lived processes, each with its own timeout.
		const results = await Promise.all(cases.map(([args]) => mintToken(args)));
		results.forEach((result, i) => assertUsageError(result, cases[i]![1]));
	});
});
