// PM2 process file: `npx pm2 start ecosystem.config.cjs` (PM2 is not a
// dependency; install it where you deploy: `npm install -g pm2`).
// One instance only: Tureen runs its own mediasoup workers, one per core, and
// every worker owns a fixed port range; a PM2 cluster would make processes
// fight over those ports.
module.exports = {
	apps: [
		{
			name: 'tureen',
			script: 'src/index.ts',
			interpreter: 'node',
			interpreter_args: '--import tsx',
			instances: 1,
			exec_mode: 'fork',
			// PM2 sends SIGINT, then SIGKILL after kill_timeout: leave the drain time to finish calls.
			kill_timeout: 35_000,
			exp_backoff_restart_delay: 200,
			max_memory_restart: '2G',
			env: {
				NODE_ENV: 'production',
				MEDIASOUP_WORKER_COUNT: 'auto',
				PORT: 3000,
				DRAIN_TIMEOUT_MS: 30_000,
			},
		},
	],
};
