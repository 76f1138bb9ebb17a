import type { Logger } from 'pino';

import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { Tureen } from '../../src/server.ts';

/**
 * Starts a real Tureen (real mediasoup workers) on 127.0.0.1 with an
 * ephemeral HTTP port. `env` uses the same variable names as production;
 * `logger` (e.g. from captureLogs) lets a test read what the server logged.
 */
export async function startTestServer(
	env: Record<string, string> = {},
	{ logger }: { logger?: Logger } = {},
): Promise<{ tureen: Tureen; baseUrl: string }> {
	const config = loadConfig({
		MEDIASOUP_WORKER_COUNT: '2',
		HTTP_HOST: '127.0.0.1',
		WEBRTC_LISTEN_IP: '127.0.0.1',
		PORT: '0',
		LOG_LEVEL: 'warn',
		// Every test client comes from 127.0.0.1, and a busy CI machine is
		// slow: per-address caps and the join timeout are tested where a test
		// sets them, not tripped by unrelated tests.
		MAX_CONNECTIONS_PER_IP: '100000',
		MAX_ROOMS_PER_IP_PER_MINUTE: '100000',
		JOIN_TIMEOUT_MS: '600000',
		// Issue 21's per-address and per-identity budgets, likewise.
		MAX_REQUESTS_PER_IP_PER_SECOND: '1000000',
		MAX_JOINS_PER_IP_PER_MINUTE: '1000000',
		MAX_JOINS_PER_IDENTITY_PER_MINUTE: '1000000',
		...env,
	});
	const tureen = await Tureen.create(config, logger ?? createLogger(config.logLevel));
	await tureen.listen();
	return { tureen, baseUrl: `http://127.0.0.1:${tureen.port}` };
}
