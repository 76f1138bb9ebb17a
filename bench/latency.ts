// Figure 4: join-to-first-media latency (a Node wrtc client joining a room
// whose replayed publisher is already sending) and /stats response time with
// many rooms.
import type { FirstMediaResult } from './clientChild.ts';
import type { ChildHandle } from './ipc.ts';
import type { RoomPlaced, StartResult } from './serverChild.ts';
import { percentile } from './stats.ts';

export type Quantiles = { p50: number | undefined; p95: number | undefined; p99?: number | undefined; n: number };

export type JoinLatency = {
	joins: number;
	failed: number;
	/** Join call (answer, receive transport, consumers resumed). */
	joinMs: Quantiles;
	/** First RTP packet of any kind, as the worker sent it to this client (loopback). */
	firstPacketMs: Quantiles;
	firstVideoPacketMs: Quantiles;
	firstVideoFrameMs: Quantiles;
	errors: string[];
};

function quantiles(values: (number | undefined)[]): Quantiles {
	const xs = values.filter((v): v is number => v !== undefined);
	return { p50: percentile(xs, 50), p95: percentile(xs, 95), n: xs.length };
}

/**
 * `joins` joins, one at a time, each into its own room with one publisher
 * already sending (a fresh room each time, so every join is the first
 * subscriber and no key-frame request is held back by the previous one).
 */
export async function measureJoinLatency(
	startServer: () => ChildHandle,
	client: ChildHandle,
	joins: number,
	rtcBasePort: number,
): Promise<JoinLatency> {
	const server = startServer();
	const results: (FirstMediaResult & { firstPacketMs?: number; firstVideoMs?: number })[] = [];
	const errors: string[] = [];
	try {
		const { baseUrl } = await server.request<StartResult>('start', { mode: 'tureen', workers: 2, rtcBasePort });
		const rooms = await server.request<RoomPlaced[]>('addRooms', {
			rooms: Array.from({ length: joins }, (_, i) => ({ roomId: `lat-${i}`, publishers: 1, traceFirstPackets: true })),
		});
		// Let every publisher get going (and warm up the client process) before timing.
		await new Promise((resolve) => setTimeout(resolve, 1000));
		for (const room of rooms) {
			try {
				const r = await client.request<FirstMediaResult>('firstMedia', { baseUrl, roomId: room.roomId, timeoutMs: 10_000 }, 30_000);
				const sentAt = await server.request<Record<string, number | null>>('firstPackets', { consumerIds: r.consumers.map((c) => c.consumerId) });
				const after = (kind?: 'audio' | 'video') => {
					const times = r.consumers.filter((c) => !kind || c.kind === kind).map((c) => sentAt[c.consumerId]).filter((t): t is number => typeof t === 'number');
					return times.length ? Math.min(...times) - r.startedAtEpochMs : undefined;
				};
				results.push({ ...r, firstPacketMs: after(), firstVideoMs: after('video') });
			} catch (error) {
				errors.push((error as Error).message.split('\n')[0] ?? 'error');
			}
		}
	} finally {
		await server.stop();
	}
	return {
		joins,
		failed: errors.length + results.filter((r) => r.firstPacketMs === undefined).length,
		joinMs: quantiles(results.map((r) => r.joinMs)),
		firstPacketMs: quantiles(results.map((r) => r.firstPacketMs)),
		firstVideoPacketMs: quantiles(results.map((r) => r.firstVideoMs)),
		firstVideoFrameMs: quantiles(results.map((r) => r.firstFrameMs)),
		errors: errors.slice(0, 3),
	};
}

export type StatsLatency = { rooms: number; requests: number; p50: number | undefined; p99: number | undefined; bytes: number };

/** `requests` sequential GET /stats over one keep-alive connection; response time in ms. */
export async function measureStats(baseUrl: string, rooms: number, requests: number): Promise<StatsLatency> {
	const times: number[] = [];
	let bytes = 0;
	for (let i = 0; i < requests; i++) {
		const started = performance.now();
		const response = await fetch(`${baseUrl}/stats`, { signal: AbortSignal.timeout(10_000) });
		const body = await response.text();
		times.push(performance.now() - started);
		if (!response.ok) throw new Error(`GET /stats: ${response.status} ${body.slice(0, 200)}`);
		bytes = body.length;
	}
	return { rooms, requests, p50: percentile(times, 50), p99: percentile(times, 99), bytes };
}

/** POST /rooms `count` times (`concurrency` at a time); returns the room ids. */
export async function createRoomsOverHttp(baseUrl: string, prefix: string, count: number, concurrency = 8): Promise<string[]> {
	const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
	let next = 0;
	const lane = async () => {
		while (next < ids.length) {
			const roomId = ids[next++]!;
			const response = await fetch(`${baseUrl}/rooms`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ roomId }),
				signal: AbortSignal.timeout(10_000),
			});
			if (response.status !== 201 && response.status !== 200) {
				throw new Error(`POST /rooms ${roomId}: ${response.status} ${(await response.text()).slice(0, 200)}`);
			}
			await response.arrayBuffer();
		}
	};
	await Promise.all(Array.from({ length: concurrency }, lane));
	return ids;
}
