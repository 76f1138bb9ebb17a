// What Tureen itself adds on top of mediasoup, in Node CPU: per join (a wrtc
// peer's whole join: WebSocket, join, transport, ICE + DTLS, two consumers),
// per connected peer (steady state), and per GET /stats call. Each is the
// server Node process's CPU over the operation minus its idle rate (the
// replayed publisher runs in that process too), measured once per round.
import { setTimeout as sleep } from 'node:timers/promises';

import type { JoinResult } from './clientChild.ts';
import type { ChildHandle } from './ipc.ts';
import { createRoomsOverHttp, measureStats } from './latency.ts';
import type { ServerSample, StartResult } from './serverChild.ts';

export type TureenCostRound = {
	/** Node CPU per join, ms. */
	msPerJoin: number;
	/** Node CPU per connected peer, fraction of one core. */
	cpuPerPeer: number;
	/** Node CPU per /stats call, ms (with `rooms` rooms, `joined` peers connected). */
	msPerStatsCall: number;
	/** Idle rate of the server Node process (replaying one publisher), fraction of a core. */
	idleCpu: number;
	joined: number;
	rooms: number;
	statsP50Ms: number | undefined;
};

export type TureenCostOptions = { peers: number; statsCalls: number; rooms: number; windowMs: number; rtcBasePort: number };

export async function measureTureenCost(server: ChildHandle, client: ChildHandle, o: TureenCostOptions): Promise<TureenCostRound> {
	const node = async () => {
		const s = await server.request<ServerSample>('sample');
		return { atMs: s.atMs, cpuMs: s.nodeCpuMs };
	};
	/** Node CPU (ms) used by `run`, beyond the idle rate over the same wall time. */
	const extraCpuMs = async (idleCpu: number, run: () => Promise<unknown>) => {
		const a = await node();
		await run();
		const b = await node();
		return b.cpuMs - a.cpuMs - idleCpu * (b.atMs - a.atMs);
	};
	const rateOver = async (ms: number) => {
		const a = await node();
		await sleep(ms);
		const b = await node();
		return (b.cpuMs - a.cpuMs) / (b.atMs - a.atMs);
	};
	try {
		const { baseUrl } = await server.request<StartResult>('start', {
			mode: 'tureen',
			workers: 1,
			rtcBasePort: o.rtcBasePort,
			env: { ROOM_IDLE_TIMEOUT_MS: '86400000', MAX_PEERS_PER_ROOM: '1000' },
		});
		await server.request('addRooms', { rooms: [{ roomId: 'cost', publishers: 1 }] });
		await sleep(500);
		const idleCpu = await rateOver(o.windowMs);
		const specs = Array.from({ length: o.peers }, (_, i) => ({ roomId: 'cost', name: `cost-${i}` }));
		let join: JoinResult | undefined;
		const joinMs = await extraCpuMs(idleCpu, async () => {
			join = await client.request<JoinResult>('join', { baseUrl, specs, concurrency: 1 }, 120_000);
		});
		if (!join || join.failed > 0) throw new Error(`${join?.failed ?? o.peers} of ${o.peers} joins failed: ${join?.errors[0] ?? ''}`);
		await client.request('waitFlowing', { timeoutMs: 10_000 }, 60_000);
		const withPeers = await rateOver(o.windowMs);
		await createRoomsOverHttp(baseUrl, 'cost-room', o.rooms);
		let statsP50Ms: number | undefined;
		const statsMs = await extraCpuMs(idleCpu, async () => {
			statsP50Ms = (await measureStats(baseUrl, o.rooms, o.statsCalls)).p50;
		});
		return {
			msPerJoin: joinMs / join.joined,
			cpuPerPeer: (withPeers - idleCpu) / join.joined,
			msPerStatsCall: statsMs / o.statsCalls,
			idleCpu,
			joined: join.joined,
			rooms: o.rooms + 1,
			statsP50Ms,
		};
	} finally {
		await client.request('leaveAll', {}, 60_000).catch(() => undefined);
		await server.request('stop', {}, 60_000).catch(() => undefined);
	}
}
