// Peer-in-room placement policy: which of a room's routers a joining peer
// goes to, or on which worker the room should open another router. A pure
// function of worker snapshots and the room's routers, like placement.ts; the
// mechanism (creating routers, piping producers between them) lives in
// services/rooms/room.ts and its neighbours.

import { chooseWorker, type PlacementOptions, type WorkerSnapshot } from './placement.ts';

/** One router of the room: a room has at most one router per worker. */
export type RoomRouterSnapshot = {
	workerId: number;
	/** Peers on the router, including those being placed there right now. */
	peerCount: number;
};

export type PeerPlacementOptions = PlacementOptions & {
	/** A router whose worker's CPU average is at or above this (fraction of a core) takes no more peers while another can. */
	roomSpreadCpu: number;
	/** roomSpreadCpu applies to a room with peers only once it holds this many (1 = always). */
	roomSpreadMinPeers: number;
	/** Peers a router may hold before the room opens another; Infinity = no cap. */
	maxPeersPerRouter: number;
};

export type PeerPlacement = { kind: 'existing'; workerId: number } | { kind: 'new'; workerId: number };

const canHost = (w: WorkerSnapshot): boolean => w.alive && !w.draining && (w.portUse ?? 0) < 1;

/**
 * Where a new peer of the room goes; undefined when nowhere.
 * 1. Stay: among the room's routers whose worker is live, not draining, has
 *    a free port and is below roomSpreadCpu, and that hold fewer than
 *    maxPeersPerRouter peers, the one with the fewest peers (ties: lower CPU,
 *    then lower workerId). While the room holds 1 to roomSpreadMinPeers - 1
 *    peers (its routers' peerCount summed) CPU is not looked at, only the
 *    cap. Why: a room of k peers on a busy worker that opens a router
 *    elsewhere for one more peer saves the busy worker nothing: it still
 *    forwards the newcomer's media to its k peers (now from a pipe
 *    producer) and pipes its k peers' producers out, 4k+2 streams with
 *    audio and video, as if the newcomer had stayed. Only later peers on
 *    the new router relieve it, so spreading a small room is pure pipe
 *    overhead.
 * 2. Spread: otherwise a new router on the worker chooseWorker picks among
 *    the workers that host no router of this room yet.
 * 3. Overflow: when no other worker can take a router, the room's router
 *    with the fewest peers on a worker that can host at all, ignoring CPU and
 *    cap (same ties), so the room still admits the peer.
 * 4. Last resort: the same among routers on any live worker, draining or
 *    out of ports: the peer is admitted, and a transport it asks for may be
 *    refused NO_PORTS_AVAILABLE, as in a room on one worker.
 */
export function placePeer(
	workers: readonly WorkerSnapshot[],
	routers: readonly RoomRouterSnapshot[],
	{ roomSpreadCpu, roomSpreadMinPeers, maxPeersPerRouter, cpuSimilarThreshold }: PeerPlacementOptions,
): PeerPlacement | undefined {
	const byId = new Map(workers.map((w) => [w.workerId, w]));
	const live = routers.flatMap((r) => {
		const worker = byId.get(r.workerId);
		return worker?.alive ? [{ ...r, cpu: worker.cpu, canHost: canHost(worker) }] : [];
	});
	const hosted = live.filter((r) => r.canHost);
	const leastLoaded = (list: typeof live) =>
		[...list].sort((a, b) => a.peerCount - b.peerCount || a.cpu - b.cpu || a.workerId - b.workerId)[0];

	const roomPeers = routers.reduce((sum, r) => sum + r.peerCount, 0);
	// An empty room moves for free (nobody to pipe to), so CPU binds there too: ROOM_SPREAD_MIN_PEERS=1 is the rule without a minimum.
	const cpuBinds = roomPeers === 0 || roomPeers >= roomSpreadMinPeers;
	const stay = leastLoaded(hosted.filter((r) => (!cpuBinds || r.cpu < roomSpreadCpu) && r.peerCount < maxPeersPerRouter));
	if (stay) return { kind: 'existing', workerId: stay.workerId };

	const roomWorkers = new Set(routers.map((r) => r.workerId));
	const spread = chooseWorker(
		workers.filter((w) => !roomWorkers.has(w.workerId)),
		{ cpuSimilarThreshold },
	);
	if (spread !== undefined) return { kind: 'new', workerId: spread };

	const overflow = leastLoaded(hosted) ?? leastLoaded(live);
	return overflow ? { kind: 'existing', workerId: overflow.workerId } : undefined;
}
