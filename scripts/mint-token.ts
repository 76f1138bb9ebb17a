// Mints a join token for a server started with JOIN_SECRET (same variable):
//   JOIN_SECRET=... npx tsx scripts/mint-token.ts --room <roomId> --peer <identity> [--name <displayName>] [--ttl <seconds>]
// Prints the token alone on stdout. Bad arguments or a missing/short secret:
// one line on stderr and exit code 2.
import { parseArgs } from 'node:util';

import { mintJoinToken } from '../src/auth/joinToken.ts';
import { ConfigError, loadConfig, type Config } from '../src/config.ts';
import { roomIdSchema } from '../src/protocol/ids.ts';

const USAGE = 'usage: npx tsx scripts/mint-token.ts --room <roomId> --peer <identity> [--name <displayName>] [--ttl <seconds, default 3600, at most MAX_TOKEN_TTL>]';
const DEFAULT_TTL_SECONDS = 3600;

class UsageError extends Error {}

type Options = { roomId: string; peer: string; displayName: string | undefined; ttlSeconds: number };

function parseOptions(argv: string[]): Options | 'help' {
	let values;
	try {
		({ values } = parseArgs({
			args: argv,
			options: {
				room: { type: 'string' },
				peer: { type: 'string' },
				name: { type: 'string' },
				ttl: { type: 'string' },
				help: { type: 'boolean', short: 'h' },
			},
			strict: true,
			allowPositionals: false,
		}));
	} catch (error) {
		throw new UsageError((error as Error).message.split('\n')[0] ?? 'bad arguments');
	}
	if (values.help) return 'help';

	const roomId = values.room;
	if (roomId === undefined) throw new UsageError('--room is required');
	if (!roomIdSchema.safeParse(roomId).success) {
		throw new UsageError(`--room ${JSON.stringify(roomId)} is invalid: 1-64 characters of A-Z, a-z, 0-9, _ and -`);
	}
	const peer = values.peer?.trim();
	if (!peer) throw new UsageError('--peer is required (the identity the token is for)');
	if (peer.length > 256) throw new UsageError('--peer is limited to 256 characters');

	// The same limits the join request puts on displayName.
	const displayName = values.name?.trim();
	if (values.name !== undefined && (!displayName || displayName.length > 64)) {
		throw new UsageError('--name must be 1-64 characters');
	}

	let ttlSeconds = DEFAULT_TTL_SECONDS;
	// The server refuses tokens that live longer than its MAX_TOKEN_TTL; so does this script.
	const MAX_TTL_SECONDS = serverConfig({ MAX_TOKEN_TTL: process.env.MAX_TOKEN_TTL }).maxTokenTtlSeconds;
	if (values.ttl !== undefined) {
		ttlSeconds = Number(values.ttl);
		if (!/^\d+$/.test(values.ttl) || !Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
			throw new UsageError(`--ttl ${JSON.stringify(values.ttl)} is invalid: a whole number of seconds from 1 to ${MAX_TTL_SECONDS}`);
		}
	}
	return { roomId, peer, displayName, ttlSeconds };
}

/** Settings read by the server's own rules; a bad one is a usage error here. */
function serverConfig(env: Record<string, string | undefined>): Config {
	try {
		return loadConfig(env);
	} catch (error) {
		if (error instanceof ConfigError) throw new UsageError(error.message);
		throw error;
	}
}

/** JOIN_SECRET checked by the server's own rule (set, at least 16 characters). */
function joinSecret(): string {
	const secret = serverConfig({ JOIN_SECRET: process.env.JOIN_SECRET }).joinSecret;
	if (!secret) throw new UsageError('JOIN_SECRET is not set: use the secret the server was started with');
	return secret;
}

try {
	const options = parseOptions(process.argv.slice(2));
	if (options === 'help') {
		console.log(USAGE);
	} else {
		const token = await mintJoinToken(
			joinSecret(),
			{ roomId: options.roomId, peer: options.peer, ...(options.displayName ? { displayName: options.displayName } : {}) },
			options.ttlSeconds,
		);
		process.stdout.write(`${token}\n`);
	}
} catch (error) {
	if (!(error instanceof UsageError)) throw error;
	console.error(`mint-token: ${error.message} (${USAGE})`);
	process.exitCode = 2;
}
