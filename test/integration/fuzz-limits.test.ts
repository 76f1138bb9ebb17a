// Seeded fuzzing of the limits of issue 10 on a real server with small caps:
// lanes of sockets pick random actions (create transports, produce, consume,
// open rooms, flood bad frames, hang up mid-request, open sockets past the
// per-address cap). Every reply must be well-formed; every LIMIT_REACHED must
// name a known limit with its configured value; no peer ever holds more than
// its caps; nothing answers INTERNAL; once every socket is gone the server
// holds no peer and no port. The seed is fixed: a failure reproduces.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { LIMIT_NAMES, type ResponseMessage } from '../../src/protocol/messages.ts';
import type { Tureen } from '../../src/server.ts';
import { seededRandom } from '../support/random.ts';
import { opusRtpParameters } from '../support/media.ts';
import { startTestServer } from '../support/server.ts';
import { connect, describeInvalidServerMessage, type WsTestClient } from '../support/wsClient.ts';

const SEED = 0x1017;
const LANES = 8;
const ACTIONS_PER_LANE = 120;
const CAPS = {
	MAX_TRANSPORTS_PER_PEER: 2,
	MAX_PRODUCERS_PER_PEER: 2,
	MAX_CONSUMERS_PER_PEER: 3,
	MAX_CONNECTIONS_PER_IP: 12,
	MAX_ROOMS: 6,
	MAX_ROOMS_PER_IP_PER_MINUTE: 1000,
} as const;
const LIMIT_MAX: Record<string, number> = {
	transportsPerPeer: CAPS.MAX_TRANSPORTS_PER_PEER,
	producersPerPeer: CAPS.MAX_PRODUCERS_PER_PEER,
	consumersPerPeer: CAPS.MAX_CONSUMERS_PER_PEER,
	connectionsPerIp: CAPS.MAX_CONNECTIONS_PER_IP,
	rooms: CAPS.MAX_ROOMS,
	consumersPerProducerPerTransport: 1,
};

type Lane = { client: WsTestClient | undefined; roomId: string; send: string[]; recv: string[] };

describe('fuzzing the limits (seeded)', () => {
	let tureen: Tureen;
	let wsUrl: string;
	let caps: Record<string, unknown>;
	const failures: string[] = [];
	const seen = new Map<string, number>();
	const producers: string[] = [];
	let ssrc = 1000;

	before(async () => {
		let baseUrl: string;
		({ tureen, baseUrl } = await startTestServer({
			MEDIASOUP_WORKER_COUNT: '2',
			RTC_BASE_PORT: '47200',
			LOG_LEVEL: 'fatal',
			...Object.fromEntries(Object.entries(CAPS).map(([k, v]) => [k, String(v)])),
		}));
		wsUrl = `${baseUrl.replace(/^http/, 'ws')}/ws`;
		const probe = await connect(wsUrl);
		const reply = await probe.request('getRouterRtpCapabilities', { roomId: 'fz-0' });
		assert.ok(reply.ok);
		caps = (reply.data as { rtpCapabilities: Record<string, unknown> }).rtpCapabilities;
		await probe.close();
	});

	after(async () => {
		await tureen?.close();
	});

	const check = (reply: ResponseMessage, what: string): void => {
		const problem = describeInvalidServerMessage(reply);
		if (problem) failures.push(`${what}: ${problem}`);
		if (reply.ok) return;
		seen.set(reply.error.code, (seen.get(reply.error.code) ?? 0) + 1);
		if (reply.error.code === 'INTERNAL') failures.push(`${what}: INTERNAL`);
		if (reply.error.code === 'LIMIT_REACHED') {
			const details = reply.error.details;
			if (!details || !(LIMIT_NAMES as readonly string[]).includes(details.limit) || LIMIT_MAX[details.limit] !== details.max) {
				failures.push(`${what}: LIMIT_REACHED with details ${JSON.stringify(details)}`);
			}
			seen.set(`limit:${details?.limit}`, (seen.get(`limit:${details?.limit}`) ?? 0) + 1);
		}
	};

	const checkCaps = (): void => {
		for (const connection of tureen.signalling.connectionsForTesting()) {
			const peer = connection.peer;
			if (peer.transports.size > CAPS.MAX_TRANSPORTS_PER_PEER) failures.push(`peer with ${peer.transports.size} transports`);
			if (peer.producers.size > CAPS.MAX_PRODUCERS_PER_PEER) failures.push(`peer with ${peer.producers.size} producers`);
			if (peer.consumers.size > CAPS.MAX_CONSUMERS_PER_PEER) failures.push(`peer with ${peer.consumers.size} consumers`);
		}
		if (tureen.rooms.rooms.length > CAPS.MAX_ROOMS) failures.push(`${tureen.rooms.rooms.length} rooms`);
		if (tureen.connectionCounter.total > CAPS.MAX_CONNECTIONS_PER_IP) failures.push(`${tureen.connectionCounter.total} connections`);
	};

	async function act(lane: Lane, rng: () => number, label: string): Promise<void> {
		const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
		if (!lane.client) {
			const client = await connect(wsUrl);
			lane.client = client;
			lane.send = [];
			lane.recv = [];
			const joined = await client.request('join', { roomId: lane.roomId, displayName: label, rtpCapabilities: caps }).catch(() => undefined);
			if (!joined || !joined.ok) {
				if (joined) check(joined, `${label} join`);
				await client.close();
				lane.client = undefined;
			}
			return;
		}
		const client = lane.client;
		const action = pick(['transport', 'transport', 'produce', 'consume', 'consume', 'room', 'garbage', 'hangup-mid', 'extra-socket'] as const);
		try {
			switch (action) {
				case 'transport': {
					const direction = pick(['send', 'recv'] as const);
					const reply = await client.request('createWebRtcTransport', { direction });
					check(reply, `${label} transport`);
					if (reply.ok) lane[direction].push((reply.data as { transportId: string }).transportId);
					break;
				}
				case 'produce': {
					if (lane.send.length === 0) break;
					const reply = await client.request('produce', { transportId: pick(lane.send), kind: 'audio', rtpParameters: opusRtpParameters(ssrc++) });
					check(reply, `${label} produce`);
					if (reply.ok) producers.push((reply.data as { producerId: string }).producerId);
					break;
				}
				case 'consume': {
					if (lane.recv.length === 0 || producers.length === 0) break;
					check(await client.request('consume', { transportId: pick(lane.recv), producerId: pick(producers) }), `${label} consume`);
					break;
				}
				case 'room':
					check(await client.request('getRouterRtpCapabilities', { roomId: `fz-new-${Math.floor(rng() * 20)}` }), `${label} room`);
					break;
				case 'garbage':
					for (let i = 0; i < 1 + Math.floor(rng() * 30); i++) client.sendRaw(pick(['{', 'null', '[]', '{"id":1}']));
					break;
				case 'hangup-mid':
					// Requests in flight and queued when the socket goes: none may leave a ghost.
					client.sendRaw(JSON.stringify({ id: 90_001, method: 'createWebRtcTransport', data: { direction: 'send' } }));
					client.sendRaw(JSON.stringify({ id: 90_002, method: 'produce', data: { transportId: lane.send[0] ?? 'x', kind: 'audio', rtpParameters: opusRtpParameters(ssrc++) } }));
					client.terminate();
					lane.client = undefined;
					break;
				case 'extra-socket': {
					const extra = await connect(wsUrl);
					if (tureen.connectionCounter.total >= CAPS.MAX_CONNECTIONS_PER_IP) {
						const first = await extra.nextMessage().catch(() => undefined);
						if (first && 'ok' in first) check(first, `${label} extra socket`);
					}
					await extra.close();
					break;
				}
			}
		} catch (error) {
			// A socket closed by the server (rate limit ignored, limit) ends the lane's socket; anything else is a failure.
			if (client.isOpen) failures.push(`${label} ${action}: ${(error as Error).message}`);
			else lane.client = undefined;
		}
		checkCaps();
	}

	it(`${LANES} lanes x ${ACTIONS_PER_LANE} actions: typed limits, caps never exceeded, nothing left behind`, async () => {
		await Promise.all(
			Array.from({ length: LANES }, async (_, n) => {
				const rng = seededRandom((SEED + n * 7919) >>> 0);
				const lane: Lane = { client: undefined, roomId: `fz-${n % 3}`, send: [], recv: [] };
				for (let i = 0; i < ACTIONS_PER_LANE; i++) await act(lane, rng, `lane ${n} #${i}`);
				await lane.client?.close();
			}),
		);
		for (let i = 0; i < 200 && tureen.signalling.count > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
		const ports = () => tureen.pool.workers.reduce((n, w) => n + w.portsInUse, 0);
		for (let i = 0; i < 100 && ports() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
		assert.deepEqual(failures.slice(0, 20), []);
		assert.equal(tureen.rooms.totalPeers, 0, 'no peer outlives its socket');
		assert.equal(ports(), 0, 'no port stays bound');
		// The run reached the limits it is about.
		for (const limit of ['transportsPerPeer', 'producersPerPeer', 'rooms']) assert.ok((seen.get(`limit:${limit}`) ?? 0) > 0, `${limit} was hit: ${JSON.stringify([...seen])}`);
	});
});
