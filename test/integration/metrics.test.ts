import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { types as ms } from 'mediasoup';

import { SIGNALLING_METHODS } from '../../src/metrics/index.ts';
import { METHODS } from '../../src/protocol/messages.ts';
import type { Tureen } from '../../src/server.ts';
import { startTestServer } from '../support/server.ts';
import { connect } from '../support/wsClient.ts';

type Sample = { name: string; labels: Record<string, string>; value: number };

// Enough of the Prometheus text format for what /metrics emits (no escaped quotes in our labels).
function parseMetrics(text: string): Sample[] {
	const samples: Sample[] = [];
	for (const line of text.split('\n')) {
		if (line === '' || line.startsWith('#')) continue;
		const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
		assert.ok(match, `unparseable metrics line: ${line}`);
		const labels: Record<string, string> = {};
		for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[pair[1]!] = pair[2]!;
		samples.push({ name: match[1]!, labels, value: Number(match[3]) });
	}
	return samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
	return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

describe('GET /metrics', () => {
	let tureen: Tureen;
	let baseUrl: string;
	const roomIds = ['metrics-room-a', 'metrics-room-b', 'metrics-room-c'];
	const placement = new Map<string, number>();
	let transport: ms.WebRtcTransport;

	const scrape = async (): Promise<{ text: string; samples: Sample[]; contentType: string }> => {
		const response = await fetch(`${baseUrl}/metrics`);
		assert.equal(response.status, 200);
		const text = await response.text();
		return { text, samples: parseMetrics(text), contentType: response.headers.get('content-type') ?? '' };
	};

	before(async () => {
		({ tureen, baseUrl } = await startTestServer({ MEDIASOUP_WORKER_COUNT: '2', RTC_BASE_PORT: '44000' }));
		for (const roomId of roomIds) {
			const response = await fetch(`${baseUrl}/rooms`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ roomId }),
			});
			assert.equal(response.status, 201);
			const body = (await response.json()) as { workerId: number };
			placement.set(roomId, body.workerId);
		}
		const room = tureen.rooms.getRoom(roomIds[0]!)!;
		transport = await room.router.createWebRtcTransport({
			...tureen.pool.getWorker(room.workerId)!.webRtcTransportListen(),
		});
		tureen.metrics.recordSignallingRequest('join', 'ok');
		tureen.metrics.recordSignallingRequest('bogus', 'error');
	});

	after(async () => {
		await tureen?.close();
	});

	it('serves the Prometheus text format', async () => {
		const { text, contentType } = await scrape();
		assert.match(contentType, /^text\/plain; version=0\.0\.4/);
		assert.match(text, /^# HELP tureen_worker_rooms /m);
		assert.match(text, /^# TYPE tureen_worker_rooms gauge$/m);
		assert.match(text, /^# TYPE tureen_signalling_requests_total counter$/m);
	});

	it('reports rooms, peers and media objects per worker', async () => {
		const { samples } = await scrape();
		const transportWorker = placement.get(roomIds[0]!)!;
		for (const workerId of [0, 1]) {
			const labels = { worker_id: String(workerId) };
			const rooms = [...placement.values()].filter((w) => w === workerId).length;
			assert.equal(value(samples, 'tureen_worker_rooms', labels), rooms, `rooms on worker ${workerId}`);
			assert.equal(value(samples, 'tureen_worker_routers', labels), rooms, `routers on worker ${workerId}`);
			assert.equal(value(samples, 'tureen_worker_peers', labels), 0);
			assert.equal(value(samples, 'tureen_worker_transports', labels), workerId === transportWorker ? 1 : 0);
			assert.equal(value(samples, 'tureen_worker_producers', labels), 0);
			assert.equal(value(samples, 'tureen_worker_consumers', labels), 0);
			assert.equal(value(samples, 'tureen_worker_alive', labels), 1);
			assert.equal(value(samples, 'tureen_worker_draining', labels), 0);
			assert.equal(value(samples, 'tureen_worker_restarts_total', labels), 0);
			assert.ok(value(samples, 'tureen_worker_max_rss_bytes', labels)! > 0, 'ru_maxrss is sampled');
			assert.ok(value(samples, 'tureen_worker_cpu_ratio', labels)! >= 0);
			assert.ok(value(samples, 'tureen_worker_cpu_average_ratio', labels)! >= 0);
		}
		// Placement spreads three rooms over two workers.
		assert.deepEqual(new Set(placement.values()), new Set([0, 1]));
		assert.equal(value(samples, 'tureen_rooms'), 3);
		assert.equal(value(samples, 'tureen_peers'), 0);
		assert.equal(value(samples, 'tureen_workers'), 2);
	});

	it('counts signalling requests with a bounded method label', async () => {
		const { samples } = await scrape();
		const requests = samples.filter((s) => s.name === 'tureen_signalling_requests_total');
		assert.equal(value(samples, 'tureen_signalling_requests_total', { method: 'join', outcome: 'ok' }), 1);
		assert.equal(value(samples, 'tureen_signalling_requests_total', { method: 'unknown', outcome: 'error' }), 1);
		assert.equal(value(samples, 'tureen_signalling_requests_total', { method: 'produce', outcome: 'ok' }), 0);
		assert.ok(!requests.some((s) => s.labels.method === 'bogus'), 'unknown names are not label values');
		// The protocol's methods + "unknown", times two outcomes: fixed however clients behave.
		assert.equal(requests.length, (METHODS.length + 1) * 2);
	});

	it('knows every method of the signalling protocol by name', () => {
		// A method added to the protocol but not here would be counted as "unknown".
		assert.deepEqual([...SIGNALLING_METHODS].sort(), [...METHODS].sort());
	});

	it('includes process metrics', async () => {
		const { samples } = await scrape();
		for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) {
			assert.ok(samples.some((s) => s.name === name), `${name} is exported`);
		}
	});

	it('never uses a room id as a label value, and labels only what it means to', async () => {
		const { samples } = await scrape();
		const allowed = new Set(['worker_id', 'method', 'outcome', 'version', 'mediasoup_version', 'spatial_layer']);
		for (const sample of samples) {
			for (const [label, labelValue] of Object.entries(sample.labels)) {
				assert.ok(!roomIds.includes(labelValue), `${sample.name} has room id ${labelValue} as a label`);
				if (sample.name.startsWith('tureen_')) assert.ok(allowed.has(label), `${sample.name} has label ${label}`);
			}
			if (sample.labels.worker_id !== undefined) assert.match(sample.labels.worker_id, /^[01]$/);
			if (sample.labels.spatial_layer !== undefined) assert.match(sample.labels.spatial_layer, /^(0|1|2|3\+|none)$/);
		}
		const ours = samples.filter((s) => s.name.startsWith('tureen_'));
		assert.ok(ours.length > 0);
		assert.ok(samples.every((s) => /^(tureen|process|nodejs)_/.test(s.name)), 'no stray metric families');
	});

	it('follows closes of transports and rooms', async () => {
		const transportWorker = String(placement.get(roomIds[0]!)!);
		transport.close();
		const closedRoom = roomIds[2]!;
		const response = await fetch(`${baseUrl}/rooms/${closedRoom}`, { method: 'DELETE' });
		assert.equal(response.status, 204);
		const { samples } = await scrape();
		assert.equal(value(samples, 'tureen_worker_transports', { worker_id: transportWorker }), 0);
		const closedOn = String(placement.get(closedRoom)!);
		const stillThere = roomIds.slice(0, 2).filter((id) => String(placement.get(id)) === closedOn).length;
		assert.equal(value(samples, 'tureen_worker_rooms', { worker_id: closedOn }), stillThere);
		assert.equal(value(samples, 'tureen_worker_routers', { worker_id: closedOn }), stillThere);
		assert.equal(value(samples, 'tureen_rooms'), 2);
	});

	it('keeps counting on a respawned worker, from zero', async () => {
		const slot = tureen.pool.getWorker(1)!;
		const before = tureen.pool.mediasoupWorkerForTesting(1);
		process.kill(before.pid, 'SIGKILL');
		await waitFor(() => slot.alive && slot.worker !== before && slot.restarts === 1, 'worker 1 to respawn');
		// The dead worker's rooms were moved to worker 0 when it died.
		await waitFor(() => tureen.rooms.roomsOn(1).length === 0, 'rooms to leave worker 1');

		let { samples } = await scrape();
		assert.equal(value(samples, 'tureen_worker_restarts_total', { worker_id: '1' }), 1);
		assert.equal(value(samples, 'tureen_worker_alive', { worker_id: '1' }), 1);
		assert.equal(value(samples, 'tureen_worker_routers', { worker_id: '1' }), 0);
		assert.equal(value(samples, 'tureen_worker_routers', { worker_id: '0' }), 2);
		assert.equal(value(samples, 'tureen_worker_rooms', { worker_id: '0' }), 2);

		const { room } = await tureen.rooms.getOrCreateRoom('metrics-room-d');
		assert.equal(room.workerId, 1, 'placement prefers the empty respawned worker');
		await room.router.createWebRtcTransport({ ...slot.webRtcTransportListen() });
		({ samples } = await scrape());
		assert.equal(value(samples, 'tureen_worker_routers', { worker_id: '1' }), 1);
		assert.equal(value(samples, 'tureen_worker_transports', { worker_id: '1' }), 1);
	});
});

describe('tureen_signalling_requests_total through real WebSocket traffic', () => {
	let tureen: Tureen;
	let baseUrl: string;

	before(async () => {
		({ tureen, baseUrl } = await startTestServer({ MEDIASOUP_WORKER_COUNT: '1', RTC_BASE_PORT: '30000', WS_MAX_MESSAGE_BYTES: '1024' }));
	});

	after(async () => {
		await tureen?.close();
	});

	it('counts every reply, also frames refused before dispatch (bad JSON, unknown method, binary, oversize, rate limited)', async () => {
		const client = await connect(`${baseUrl.replace(/^http/, 'ws')}/ws`);
		try {
			const expected = new Map<string, number>();
			const expect = (method: string, outcome: string) => expected.set(`${method}/${outcome}`, (expected.get(`${method}/${outcome}`) ?? 0) + 1);

			assert.equal((await client.request('getRouterRtpCapabilities', { roomId: 'metrics-ws' })).ok, true);
			expect('getRouterRtpCapabilities', 'ok');
			assert.equal((await client.request('join', { roomId: 'metrics-ws' } as never)).ok, false, 'join without its fields');
			expect('join', 'error');
			assert.equal((await client.request('resumeConsumer', { consumerId: 'nobody' })).ok, false, 'NOT_FOUND from the handler');
			expect('resumeConsumer', 'error');

			const refused: [string | Buffer, boolean, string][] = [
				['this is not JSON', false, 'INVALID_JSON'],
				[JSON.stringify({ id: 77, method: 'fly', data: {} }), false, 'UNKNOWN_METHOD'],
				[JSON.stringify({ id: 78, method: 'join' }).replace('}', ',"x":1}'), false, 'BAD_REQUEST'],
				[Buffer.from('{"id":79,"method":"leave"}'), true, 'BAD_REQUEST'],
				[JSON.stringify({ id: 80, method: 'leave', data: { pad: 'p'.repeat(2000) } }), false, 'MESSAGE_TOO_LARGE'],
			];
			for (const [payload, binary, code] of refused) {
				client.sendRaw(payload, { binary });
				const reply = await client.nextResponse();
				assert.equal(reply.ok ? 'ok' : reply.error.code, code, `reply to ${String(payload).slice(0, 40)}`);
				expect('unknown', 'error');
			}

			// A burst past the 100-request budget: the excess is RATE_LIMITED, labelled with its method.
			const burst = 130;
			const firstId = 1000;
			for (let i = 0; i < burst; i++) client.sendRaw(JSON.stringify({ id: firstId + i, method: 'leave', data: {} }));
			let limited = 0;
			for (let i = 0; i < burst; i++) {
				const reply = await client.waitForResponse(firstId + i);
				if (reply.ok) {
					expect('leave', 'ok');
				} else {
					assert.equal(reply.error.code, 'RATE_LIMITED');
					expect('leave', 'error');
					limited++;
				}
			}
			assert.ok(limited > 0, 'the burst hit the rate limit');

			const response = await fetch(`${baseUrl}/metrics`);
			const samples = parseMetrics(await response.text()).filter((s) => s.name === 'tureen_signalling_requests_total');
			const counted = new Map(samples.filter((s) => s.value > 0).map((s) => [`${s.labels.method}/${s.labels.outcome}`, s.value]));
			assert.deepEqual(Object.fromEntries([...counted].sort()), Object.fromEntries([...expected].sort()));
		} finally {
			await client.close();
		}
	});
});
