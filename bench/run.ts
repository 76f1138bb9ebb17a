// npm run bench -- [subcommand] [options]: the one entry point of Tureen's
// benchmarks (bench/README.md). Without a subcommand it runs `report`, the
// main benchmark. Each subcommand is a script of its own, run in a child
// process with the options that follow it; its exit status is this one's.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Subcommand = { file: string; args: string[]; usage: string; what: string };

const SUBCOMMANDS: Record<string, Subcommand> = {
	report: {
		file: 'reportRun.ts',
		args: [],
		usage: '[--quick] [--worker-bin PATH]',
		what: 'the default: every figure of bench/results/latest.md (per-packet costs, saturation, Tureen costs, latency, memory, placement, pipes, spread room)',
	},
	'spread-room': { file: 'reportRun.ts', args: ['--only', 'spread-room'], usage: '[--quick] [--worker-bin PATH]', what: 'only the largest all-to-all room, 1 worker against 2' },
	simulcast: { file: 'simulcast.ts', args: [], usage: '[--publishers 9] [--rounds 3] [--window-s 4]', what: 'a subscriber of a 9-publisher simulcast room: thumbnails / grid / full layers' },
	cluster: { file: 'cluster.ts', args: [], usage: '[--rounds 100] [--rooms 1000] [--window 20]', what: 'redirect latency and Redis load of a 2-node local cluster' },
	'slow-readers': {
		file: 'slowReaders.ts',
		args: [],
		usage: '[--readers 40] [--seconds 60] [--server-dir DIR] [--port 3900]',
		what: 'server memory under clients that stop reading',
	},
};

const DEFAULT = 'report';

function usage(): string {
	const lines = Object.entries(SUBCOMMANDS).map(([name, s]) => `  npm run bench -- ${name} ${s.usage}\n      ${s.what}`);
	return `usage: npm run bench -- [subcommand] [options]   (no subcommand: ${DEFAULT}; see bench/README.md)\n${lines.join('\n')}`;
}

const [first, ...rest] = process.argv.slice(2);
if (first === 'help' || first === '--help' || first === '-h') {
	console.log(usage());
	process.exit(0);
}
const named = first !== undefined && !first.startsWith('-');
const subcommand = SUBCOMMANDS[named ? first : DEFAULT];
if (!subcommand) {
	console.error(`unknown subcommand "${first}"\n${usage()}`);
	process.exit(2);
}
const args = named ? rest : process.argv.slice(2);
const child = spawn(process.execPath, ['--import', 'tsx', join(dirname(fileURLToPath(import.meta.url)), subcommand.file), ...subcommand.args, ...args], {
	stdio: 'inherit',
});
// Ctrl-C reaches the child too (same process group); it cleans up and exits, then so does this.
process.on('SIGINT', () => undefined);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
