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
	const address = await tureen.listen();
	logger.info({ address, workers: config.workerCount }, 'tureen listening');

	const stop = (signal: string) => {
		logger.info({ signal }, 'shutting down');
		void tureen.close().then(() => process.exit(0));
	};
	process.once('SIGINT', () => stop('SIGINT'));
	process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
	process.stderr.write(`tureen: failed to start: ${(error as Error).stack ?? String(error)}\n`);
	process.exit(1);
});
