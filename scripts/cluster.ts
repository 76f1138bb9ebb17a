// `npm run cluster [-- --nodes 3 --port 3000 --redis-port 6390 --workers 1]`:
// a local Tureen cluster for trying it out: a throwaway redis-server and N
// nodes on 127.0.0.1, node i on HTTP port PORT+i with its own RTC port range.
// Ctrl-C stops everything (nodes drain first). Not for production: there,
// each machine runs one node against a shared Redis (docs/cluster.md,
// "Running several machines").
import { parseArgs } from 'node:util';

import { startNode, startRedis, type Child, type NodePlan } from './localCluster.ts';

const RTC_PORTS_PER_WORKER = 500;
const RTC_BASE = 40000;

const { values } = parseArgs({
	options: {
		nodes: { type: 'string', default: '3' },
		port: { type: 'string', default: '3000' },
		'redis-port': { type: 'string', default: '6390' },
		workers: { type: 'string', default: '1' },
	},
});

function whole(name: string, text: string | undefined, min: number, max: number): number {
	const n = Number(text);
	if (!Number.isInteger(n) || n < min || n > max) {
		process.stderr.write(`cluster: --${name} must be a whole number from ${min} to ${max}\n`);
		process.exit(2);
	}
	return n;
}

const nodeCount = whole('nodes', values.nodes, 1, 16);
const workers = whole('workers', values.workers, 1, 8);
const basePort = whole('port', values.port, 1024, 65535 - nodeCount);
const redisPort = whole('redis-port', values['redis-port'], 1024, 65535);

const children: Child[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
	if (stopping) process.exit(130);
	stopping = true;
	const redis = children[0];
	await Promise.all(children.slice(1).map((node) => node.stop('SIGTERM', 15_000)));
	await redis?.stop('SIGTERM', 5000);
	process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

const prefix = (name: string) => (line: string) => process.stdout.write(`[${name}] ${line}\n`);

async function main(): Promise<void> {
	const redis = await startRedis(redisPort, prefix('redis'));
	children.push(redis);
	process.stdout.write(`redis-server on ${redis.url} (nothing saved to disk)\n`);
	const plans: NodePlan[] = Array.from({ length: nodeCount }, (_, i) => ({
		nodeId: `node-${i + 1}`,
		port: basePort + i,
		rtcBasePort: RTC_BASE + i * workers * RTC_PORTS_PER_WORKER,
		rtcPortsPerWorker: RTC_PORTS_PER_WORKER,
		workers,
		redisUrl: redis.url,
	}));
	for (const plan of plans) {
		// One at a time: each worker build check and start costs a core for a moment.
		children.push(await startNode(plan, { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' }, { onLine: prefix(plan.nodeId) }));
	}
	process.stdout.write('\ncluster ready:\n');
	for (const plan of plans) {
		const last = plan.rtcBasePort + plan.workers * plan.rtcPortsPerWorker - 1;
		process.stdout.write(`  ${plan.nodeId}  http://127.0.0.1:${plan.port}  (demo /, dashboard /dashboard, RTC ports ${plan.rtcBasePort}-${last})\n`);
	}
	process.stdout.write(`\n  GET http://127.0.0.1:${basePort}/cluster shows every node; Ctrl-C stops the cluster.\n`);
	// A node that dies is reported; the others carry on (that is the point).
	for (const child of children) {
		void child.exited.then((exit) => {
			if (!stopping) process.stdout.write(`cluster: pid ${child.pid} exited (${exit.signal ?? exit.code})\n`);
		});
	}
}

main().catch((error: unknown) => {
	process.stderr.write(`cluster: ${error instanceof Error ? error.message : String(error)}\n`);
	void stopAll(1);
});
