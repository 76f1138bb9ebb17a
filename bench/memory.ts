// Figure 5 (and 4b, on the same server): server memory per idle room and per
// connected peer, and /stats response time with many rooms. Memory is the
// RSS of the server's Node process plus every worker process, read from
// /proc after a forced GC, before and after creating rooms / connecting peers.
import type { JoinResult } from './clientChild.ts';
import type { ChildHandle } from './ipc.ts';
import { createRoomsOverHttp, measureStats, type StatsLatency } from './latency.ts';
import type { RoomPlaced, ServerSample, StartResult } from './serverChild.ts';

export type MemoryFigures = {
	workers: number;
	baseRssKb: { node: number; workers: number };
	rooms: number;
	perRoomKb: { node: number; workers: number; total: number };
	peers: number;
	peerJoinFailures: number;
	perPeerKb: { node: number; workers: number; total: number };
	statsEmpty: StatsLatency;
	statsFull: StatsLatency;
};

function rss(sample: ServerSample): { node: number; workers: number } {
	return { node: sample.nodeRssKb, workers: sample.workers.reduce((sum, w) => sum + w.rssKb, 0) };
}

function perUnit(before: ServerSample, after: ServerSample, units: number): { node: number; workers: number; total: number } {
	const a = rss(before);
	const b = rss(after);
	const node = (b.node - a.node) / Math.max(1, units);
	const workers = (b.workers - a.workers) / Math.max(1, units);
	return { node, workers, total: node + workers };
}

export async function measureMemoryAndStats(
	startServer: () => ChildHandle,
	client: ChildHandle,
	options: { rooms: number; peers: number; statsRequests: number; rtcBasePort: number },
): Promise<MemoryFigures> {
	const server = startServer();
	const workers = 2;
	try {
		const { baseUrl } = await server.request<StartResult>('start', {
			mode: 'tureen',
			workers,
			rtcBasePort: options.rtcBasePort,
			env: { ROOM_IDLE_TIMEOUT_MS: '86400000', MAX_PEERS_PER_ROOM: '1000' },
		});
		// Warm the HTTP path (and JIT) so the baseline is not the cold start.
		const statsEmpty = await measureStats(baseUrl, 0, Math.min(100, options.statsRequests));
		const base = await server.request<ServerSample>('settledSample');

		await createRoomsOverHttp(baseUrl, 'mem', options.rooms);
		const withRooms = await server.request<ServerSample>('settledSample');
		const statsFull = await measureStats(baseUrl, options.rooms, options.statsRequests);

		// Peers: receive-only wrtc clients in one room whose replayed publisher sends audio + video.
		const [room] = await server.request<RoomPlaced[]>('addRooms', { rooms: [{ roomId: 'mem-peers', publishers: 1 }] });
		const withPublisher = await server.request<ServerSample>('settledSample');
		const specs = Array.from({ length: options.peers }, (_, i) => ({ roomId: room!.roomId, name: `mem-${i}` }));
		const join = await client.request<JoinResult>('join', { baseUrl, specs, concurrency: 4 }, 120_000);
		await client.request('waitFlowing', { timeoutMs: 10_000 }, 60_000);
		const withPeers = await server.request<ServerSample>('settledSample');
		await client.request('leaveAll', {}, 60_000);

		return {
			workers,
			baseRssKb: rss(base),
			rooms: options.rooms,
			perRoomKb: perUnit(base, withRooms, options.rooms),
			peers: join.joined,
			peerJoinFailures: join.failed,
			perPeerKb: perUnit(withPublisher, withPeers, join.joined),
			statsEmpty,
			statsFull,
		};
	} finally {
		await server.stop();
	}
}
