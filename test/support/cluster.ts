// A test cluster: a real redis-server on a random loopback port and Tureen
// nodes as separate processes (1 worker each: the machine is small), started
// the way `npm run cluster` starts them.
import { freePort, startNode, startRedis, type NodePlan, type NodeProcess, type RedisProcess } from '../../scripts/localCluster.ts';
import { pollUntil } from './demoPage.ts';
import type { ClusterView, RoomPlacementAnswer } from '../../src/protocol/cluster.ts';
import type { NodePeer } from './nodeClient.ts';

/** The env every test node gets: generous per-address caps, as startTestServer gives. */
export const TEST_NODE_ENV = {
	LOG_LEVEL: 'info',
	MAX_CONNECTIONS_PER_IP: '100000',
	MAX_ROOMS_PER_IP_PER_MINUTE: '100000',
	MAX_REQUESTS_PER_IP_PER_SECOND: '1000000',
	MAX_JOINS_PER_IP_PER_MINUTE: '1000000',
	MAX_JOINS_PER_IDENTITY_PER_MINUTE: '1000000',
	JOIN_TIMEOUT_MS: '600000',
	DRAIN_TIMEOUT_MS: '20000',
};

export type TestCluster = {
	redis: RedisProcess;
	nodes: NodeProcess[];
	/** A node by id (throws when unknown). */
	node(nodeId: string): NodeProcess;
	/** Restarts redis-server on the same port, empty. */
	restartRedis(): Promise<void>;
	stop(): Promise<void>;
};

/** Nodes "node-1".."node-N", started one after the other, each with its own 100-port RTC range. */
export async function startTestCluster(count: number, rtcBasePort: number, env: Record<string, string> = {}): Promise<TestCluster> {
	let redis = await startRedis(await freePort());
	const nodes: NodeProcess[] = [];
	try {
		for (let i = 0; i < count; i++) {
			const plan: NodePlan = {
				nodeId: `node-${i + 1}`,
				port: await freePort(),
				rtcBasePort: rtcBasePort + i * 100,
				rtcPortsPerWorker: 100,
				workers: 1,
				redisUrl: redis.url,
			};
			nodes.push(await startNode(plan, { ...TEST_NODE_ENV, ...env }));
		}
	} catch (error) {
		await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
		await redis.stop('SIGKILL');
		throw error;
	}
	return {
		get redis() {
			return redis;
		},
		nodes,
		node(nodeId) {
			const found = nodes.find((n) => n.plan.nodeId === nodeId);
			if (!found) throw new Error(`no node ${nodeId}`);
			return found;
		},
		async restartRedis() {
			redis = await startRedis(redis.port);
		},
		async stop() {
			await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
			await redis.stop('SIGKILL');
		},
	};
}

export async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
	const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
	return { status: res.status, body: (await res.json()) as T };
}

export async function clusterView(node: NodeProcess): Promise<ClusterView> {
	return (await getJson<ClusterView>(`${node.baseUrl}/cluster`)).body;
}

/** POST /rooms on a cluster node: always names the owner. */
export type RoomPlacement = RoomPlacementAnswer & Required<Pick<RoomPlacementAnswer, 'nodeId' | 'signallingUrl'>>;

export async function postRoom(node: NodeProcess, roomId: string): Promise<{ status: number; body: RoomPlacement & { error?: { code: string } } }> {
	const res = await fetch(`${node.baseUrl}/rooms`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ roomId }),
		signal: AbortSignal.timeout(10_000),
	});
	return { status: res.status, body: (await res.json()) as RoomPlacement & { error?: { code: string } } };
}

/** Every peer receives audio and video packets from every other peer's current session. */
export async function expectMediaBetween(peers: readonly NodePeer[], timeoutMs = 30_000): Promise<void> {
	for (const peer of peers) {
		const others = peers.filter((p) => p !== peer).map((p) => p.client.peerId ?? '');
		await pollUntil(
			() => peer.packetsByPeer(),
			(byPeer) => others.every((id) => (byPeer.get(id)?.audio ?? 0) > 0 && (byPeer.get(id)?.video ?? 0) > 0),
			{ what: `${peer.client.peerId} receiving audio+video from ${others.join(', ')}`, timeoutMs },
		);
	}
}
