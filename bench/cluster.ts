// npm run bench -- cluster [--rounds 100 --rooms 1000]: what the cluster costs.
// A throwaway redis-server and 2 nodes (1 worker each) on this machine:
//  - redirect latency: from a client's first message to the wrong node until
//    it is joined on the owner (WRONG_NODE, a new WebSocket to the owner,
//    getRouterRtpCapabilities, join), paired per round with a join made
//    directly on the owner; p50/p95 of each and of the difference;
//  - Redis load: commands per second per node (INFO total_commands_processed,
//    which counts the commands inside the Lua scripts) and round trips per
//    second per node (EVALSHA/EVAL calls), with no room and with `--rooms`
//    rooms hosted, over a window of heartbeats.
// Figures only, printed with the machine and the worker binary; nothing is asserted.
import { parseArgs } from 'node:util';

import { createClient } from '@redis/client';

import { freePort, startNode, startRedis, waitFor, type NodeProcess } from '../scripts/localCluster.ts';
import { TEST_NODE_ENV } from '../test/support/cluster.ts';
import { WsTestClient } from '../test/support/wsClient.ts';
import { defaultWorkerBin, describeMachine, describeWorkerBinary, workerBinaryLine } from './machineInfo.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '100' }, rooms: { type: 'string', default: '1000' }, window: { type: 'string', default: '20' } } });
const ROUNDS = Number(values.rounds);
const ROOMS = Number(values.rooms);
const WINDOW_S = Number(values.window);
const log = (line: string) => process.stderr.write(`[bench cluster] ${line}\n`);

type Placement = { nodeId: string; url: string; created: boolean };

async function postRoom(node: NodeProcess, roomId: string): Promise<Placement> {
	const res = await fetch(`${node.baseUrl}/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roomId }) });
	if (res.status >= 300) throw new Error(`POST /rooms ${roomId} on ${node.plan.nodeId}: ${res.status} ${await res.text()}`);
	return (await res.json()) as Placement;
}

/** The room hosted on its owner (created there), whichever node placed it; returns the owner. */
async function hostRoom(nodes: NodeProcess[], roomId: string): Promise<NodeProcess> {
	const { nodeId } = await postRoom(nodes[0]!, roomId);
	const owner = nodes.find((n) => n.plan.nodeId === nodeId)!;
	if (owner !== nodes[0]) await postRoom(owner, roomId);
	return owner;
}

/** getRouterRtpCapabilities then join on an open socket; resolves when joined. */
async function joinOn(client: WsTestClient, roomId: string): Promise<void> {
	const caps = (await client.requestOk('getRouterRtpCapabilities', { roomId })) as { rtpCapabilities: Record<string, unknown> };
	await client.requestOk('join', { roomId, displayName: 'bench', rtpCapabilities: caps.rtpCapabilities });
}

/** From the first message to the wrong node until joined on the owner (the wrong node's socket is already open). */
async function redirectedJoin(wrong: NodeProcess, roomId: string): Promise<number> {
	const first = await WsTestClient.connect(wrong.wsUrl);
	const started = performance.now();
	const reply = await first.request('getRouterRtpCapabilities', { roomId });
	void first.close();
	if (reply.ok || reply.error.code !== 'WRONG_NODE' || !reply.error.details || !('url' in reply.error.details)) {
		throw new Error(`expected WRONG_NODE, got ${JSON.stringify(reply)}`);
	}
	const owner = await WsTestClient.connect(reply.error.details.url);
	await joinOn(owner, roomId);
	const took = performance.now() - started;
	void owner.close();
	return took;
}

async function directJoin(owner: NodeProcess, roomId: string): Promise<number> {
	const client = await WsTestClient.connect(owner.wsUrl);
	const started = performance.now();
	await joinOn(client, roomId);
	const took = performance.now() - started;
	void client.close();
	return took;
}

type RedisCounts = { commands: number; roundTrips: number };
/** The one thing the probe needs from its Redis connection. */
type InfoSource = { info(section: string): Promise<unknown> };

async function redisCounts(redis: InfoSource): Promise<RedisCounts> {
	const stats = String(await redis.info('stats'));
	const commandStats = String(await redis.info('commandstats'));
	const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(commandStats)?.[1] ?? 0);
	return { commands: Number(/total_commands_processed:(\d+)/.exec(stats)?.[1] ?? 0), roundTrips: calls('evalsha') + calls('eval') };
}

/** Commands and round trips per second per node over the window (this probe's own 2 INFO calls taken out). */
async function redisLoad(redis: InfoSource, nodes: number): Promise<{ commandsPerSecondPerNode: number; roundTripsPerSecondPerNode: number }> {
	const start = await redisCounts(redis);
	const started = performance.now();
	await new Promise((resolve) => setTimeout(resolve, WINDOW_S * 1000));
	const end = await redisCounts(redis);
	const seconds = (performance.now() - started) / 1000;
	return {
		commandsPerSecondPerNode: (end.commands - start.commands - 2) / seconds / nodes,
		roundTripsPerSecondPerNode: (end.roundTrips - start.roundTrips) / seconds / nodes,
	};
}

function summarise(values: number[]): string {
	return `p50 ${percentile(values, 50)!.toFixed(1)} ms, p95 ${percentile(values, 95)!.toFixed(1)} ms (n=${values.length})`;
}

async function main(): Promise<void> {
	const machine = describeMachine();
	// The binary every node's worker runs (MEDIASOUP_WORKER_BIN reaches the nodes, scripts/localCluster.ts).
	const workerBinary = describeWorkerBinary(defaultWorkerBin());
	const redisProcess = await startRedis(await freePort());
	const nodes: NodeProcess[] = [];
	const probe = createClient({ url: redisProcess.url });
	try {
		for (let i = 0; i < 2; i++) {
			const plan = { nodeId: `bench-${i + 1}`, port: await freePort(), rtcBasePort: 45000 + i * 100, rtcPortsPerWorker: 100, workers: 1, redisUrl: redisProcess.url };
			nodes.push(await startNode(plan, { ...TEST_NODE_ENV, LOG_LEVEL: 'warn', ROOM_IDLE_TIMEOUT_MS: '3600000', MAX_ROOMS: String(ROOMS + ROUNDS + 10) }));
		}
		await probe.connect();
		log('measuring Redis load with no room');
		const idle = await redisLoad(probe, nodes.length);

		log(`${ROUNDS} rounds of redirected and direct joins`);
		const redirected: number[] = [];
		const direct: number[] = [];
		for (let round = 0; round < ROUNDS; round++) {
			const roomId = `latency-${round}`;
			const owner = await hostRoom(nodes, roomId);
			const wrong = nodes.find((n) => n !== owner)!;
			// Alternate which goes first, so neither always meets a warmer room.
			if (round % 2 === 0) {
				redirected.push(await redirectedJoin(wrong, roomId));
				direct.push(await directJoin(owner, roomId));
			} else {
				direct.push(await directJoin(owner, roomId));
				redirected.push(await redirectedJoin(wrong, roomId));
			}
		}
		const extra = redirected.map((r, i) => r - direct[i]!);

		log(`hosting ${ROOMS} rooms`);
		for (let i = 0; i < ROOMS; i++) await hostRoom(nodes, `load-${i}`);
		await waitFor('the rooms to be counted in the registry', async () => {
			const view = (await (await fetch(`${nodes[0]!.baseUrl}/cluster`)).json()) as { nodes: { rooms: number }[] };
			return view.nodes.reduce((n, node) => n + node.rooms, 0) >= ROOMS;
		}, 30_000, { intervalMs: 500 });
		log(`measuring Redis load with ${ROOMS} rooms`);
		const loaded = await redisLoad(probe, nodes.length);

		console.log(`# Tureen cluster benchmark\n`);
		console.log(`Machine: ${machine.cpuModel}, ${machine.cores} cores, Linux ${machine.kernel}, Node ${machine.node}, mediasoup ${machine.mediasoup}, load average ${machine.loadAverage.start.toFixed(2)}`);
		console.log(`Worker binary: ${workerBinaryLine(workerBinary)}`);
		console.log(`Cluster: redis-server 127.0.0.1 (loopback), 2 nodes with 1 worker each, heartbeat every 2 s.\n`);
		console.log(`| figure | value |`);
		console.log(`| --- | --- |`);
		console.log(`| join directly on the owner (getRouterRtpCapabilities + join) | ${summarise(direct)} |`);
		console.log(`| join through the wrong node (first message -> WRONG_NODE -> new socket to the owner -> joined) | ${summarise(redirected)} |`);
		console.log(`| redirect cost (redirected - direct, paired per round) | ${summarise(extra)} |`);
		console.log(`| Redis commands/s per node, no room | ${idle.commandsPerSecondPerNode.toFixed(1)} (round trips/s ${idle.roundTripsPerSecondPerNode.toFixed(2)}) |`);
		console.log(`| Redis commands/s per node, ${ROOMS} rooms in the cluster (${ROOMS / nodes.length} hosted per node) | ${loaded.commandsPerSecondPerNode.toFixed(1)} (round trips/s ${loaded.roundTripsPerSecondPerNode.toFixed(2)}) |`);
		console.log(`\nCommands include those run inside the Lua scripts (a heartbeat renews each hosted room); round trips are the scripts called. Window ${WINDOW_S} s.`);
	} finally {
		await probe.close().catch(() => undefined);
		await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
		await redisProcess.stop('SIGKILL');
	}
}

main().catch((error: unknown) => {
	process.stderr.write(`bench cluster failed: ${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
});
