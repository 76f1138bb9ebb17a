import { NodeIdInUseError } from './cluster/coordinator.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { Tureen } from './server.ts';

async function main(): Promise<void> {
	let config;
	try {
		config = loadConfig(process.env);
	} catch (error) {
		if (error instanceof ConfigError) {
			// One line, nothing started: an operator fixes the variable and retries.
			process.stderr.write(`tureen: configuration error: ${error.message}\n`);
			process.exit(2);
		}
		throw error;
	}
	const logger = createLogger(config.logLevel);
	const tureen = await Tureen.create(config, logger);
	const address = await tureen.listen().catch((error: unknown) => {
		if (error instanceof NodeIdInUseError) {
			// One line naming the id; exit 2 like a configuration error: two nodes with one id would split rooms.
			process.stderr.write(`tureen: ${error.message}\n`);
			process.exit(2);
		}
		throw error;
	});
	logger.info({ address, workers: config.workerCount }, 'tureen listening');

	// First SIGTERM/SIGINT: drain (peers told, no new rooms, exit 0 once rooms
	// are empty or DRAIN_TIMEOUT_MS passes). A second one: exit at once.
	let stopping = false;
	const stop = (signal: string) => {
		if (stopping) {
			logger.warn({ signal }, 'second signal: exiting now');
			process.exit(130);
		}
		stopping = true;
		logger.info({ signal, drainTimeoutMs: config.drainTimeoutMs }, 'draining before exit');
		tureen.drain().then(
			() => process.exit(0),
			(error: unknown) => {
				logger.error({ err: error }, 'drain failed');
				process.exit(1);
			},
		);
	};
	process.on('SIGINT', () => stop('SIGINT'));
	process.on('SIGTERM', () => stop('SIGTERM'));
}

// The server must outlive any one request's bug: log, never crash.
process.on('unhandledRejection', (reason) => {
	process.stderr.write(`tureen: unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}\n`);
});

main().catch((error: unknown) => {
	process.stderr.write(`tureen: failed to start: ${(error as Error).stack ?? String(error)}\n`);
	process.exit(1);
});
