// The HTTP API of a real server (4 real mediasoup workers) on 127.0.0.1:
// placement across workers, /stats and /workers, room lifecycle, error shape,
// probes, OpenAPI, race-safe room creation, per-worker ports, idle timeout.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import type { types as ms } from 'mediasoup';

import { jsonSchema } from '../../src/http/schemas.ts';
import { roomDescriptionSchema, statsSchema, workersSchema, type Stats, type WorkerStats } from '../../src/protocol/stats.ts';
import type { Tureen } from '../../src/server.ts';
import { startTestServer } from '../support/server.ts';

type Json = Record<string, unknown>;
type Reply = { status: number; contentType: string | null; body: unknown };

async function request(baseUrl: string, method: string, path: string, body?: unknown): Promise<Reply> {
	const init: RequestInit = { method, signal: AbortSignal.timeout(10_000) };
	if (body !== undefined) {
		init.headers = { 'content-type': 'application/json' };
		init.body = typeof body === 'string' ? body : JSON.stringify(body);
	}
	const response = await fetch(`${baseUrl}${path}`, init);
	const text = await response.text();
	return { status: response.status, contentType: response.headers.get('content-type'), body: text ? (JSON.parse(text) as unknown) : undefined };
}

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

function assertErrorShape(reply: Reply, status: number, code?: string): void {
	assert.equal(reply.status, status, JSON.stringify(reply.body));
	assert.match(reply.contentType ?? '', /^application\/json/);
	const body = reply.body as { error?: { code?: unknown; message?: unknown } };
	assert.ok(body && typeof body === 'object' && body.error && typeof body.error === 'object', JSON.stringify(body));
	assert.equal(typeof body.error.code, 'string');
	assert.equal(typeof body.error.message, 'string');
	assert.ok((body.error.message as string).length > 0);
	if (code) assert.equal(body.error.code, code);
}

const WORKERS = 4;
const BASE_PORT = 42000;

describe('HTTP API on 4 workers', () => {
	let tureen: Tureen;
	let baseUrl: string;

	const get = (path: string) => request(baseUrl, 'GET', path);
	const stats = async () => {
		const reply = await get('/stats');
		assert.equal(reply.status, 200);
		return reply.body as Stats;
	};

	before(async () => {
		({ tureen, baseUrl } = await startTestServer({
			MEDIASOUP_WORKER_COUNT: String(WORKERS),
			RTC_BASE_PORT: String(BASE_PORT),
			// Long enough that no room of this suite closes on its own.
			ROOM_IDLE_TIMEOUT_MS: '600000',
		}));
	});

	after(async () => {
		await tureen?.close();
	});

	it('starts with 4 workers and no rooms', async () => {
		const s = await stats();
		assert.equal(s.workers.length, WORKERS);
		assert.equal(s.totalRooms, 0);
		assert.deepEqual(s.distribution, { 0: [], 1: [], 2: [], 3: [] });
	});

	it('POST /rooms for 8 rooms puts 2 on each worker', async () => {
		const placed = new Map<string, number>();
		for (let i = 0; i < 8; i++) {
			const roomId = `room-${i}`;
			const reply = await request(baseUrl, 'POST', '/rooms', { roomId });
			assert.equal(reply.status, 201);
			const body = reply.body as { roomId: string; workerId: number; created: boolean };
			assert.equal(body.roomId, roomId);
			assert.equal(body.created, true);
			assert.ok(Number.isInteger(body.workerId) && body.workerId >= 0 && body.workerId < WORKERS);
			placed.set(roomId, body.workerId);
		}

		const s = await stats();
		assert.equal(s.totalRooms, 8);
		for (let w = 0; w < WORKERS; w++) {
			const ids = s.distribution[String(w)];
			assert.ok(ids, `distribution has worker ${w}`);
			assert.equal(ids.length, 2, `worker ${w} has 2 rooms: ${JSON.stringify(s.distribution)}`);
			for (const id of ids) assert.equal(placed.get(id), w);
			assert.equal(s.workers[w]?.roomCount, 2);
		}
		const all = Object.values(s.distribution).flat().sort();
		assert.deepEqual(all, [...placed.keys()].sort());
	});

	it('/stats has workers (workerId, roomCount, cpuUsage, pid, closed), distribution and totalRooms', async () => {
		const s = (await get('/stats')).body as Json;
		for (const key of ['workers', 'distribution', 'totalRooms']) assert.ok(key in s, `/stats has ${key}`);
		assert.ok(Array.isArray(s.workers));
		assert.equal(typeof s.distribution, 'object');
		assert.ok(Number.isInteger(s.totalRooms));
		const workers = s.workers as WorkerStats[];
		assert.deepEqual(
			workers.map((w) => w.workerId),
			[0, 1, 2, 3],
		);
		for (const w of workers) {
			assert.ok(Number.isInteger(w.roomCount) && w.roomCount >= 0);
			assert.equal(typeof w.cpuUsage, 'number');
			assert.ok(Number.isFinite(w.cpuUsage) && w.cpuUsage >= 0);
			assert.ok(Number.isInteger(w.pid) && (w.pid as number) > 0);
			assert.equal(w.closed, false);
		}
		assert.deepEqual(Object.keys(s.distribution as object).sort(), ['0', '1', '2', '3']);
		// The one definition of the shape (src/protocol/stats.ts) holds for what the server sends.
		statsSchema.parse(s);
	});

	it('each worker pid is a live mediasoup-worker process, a child of this server', async () => {
		const { workers } = await stats();
		const pids = workers.map((w) => w.pid as number);
		assert.equal(new Set(pids).size, WORKERS, 'distinct pids');
		for (const pid of pids) {
			const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
			const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
			// comm is cut to 15 characters ("mediasoup-worke").
			assert.ok('mediasoup-worker'.startsWith(comm) && comm.length >= 9, `comm of ${pid} is ${comm}`);
			assert.match(argv0, /(^|\/)mediasoup-worker$/);
			const ppid = /^PPid:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
			assert.equal(Number(ppid), process.pid, `worker ${pid} is a child of the test process`);
		}
	});

	it('/workers lists each worker with its port range, memory and counters', async () => {
		const reply = await get('/workers');
		assert.equal(reply.status, 200);
		const body = reply.body as { workers: WorkerStats[] };
		assert.deepEqual(Object.keys(body), ['workers']);
		assert.equal(body.workers.length, WORKERS);
		for (const [i, w] of body.workers.entries()) {
			assert.equal(w.workerId, i);
			assert.ok(Number.isInteger(w.pid) && (w.pid as number) > 0);
			assert.equal(w.closed, false);
			assert.equal(w.roomCount, 2);
			assert.equal(w.peerCount, 0);
			assert.equal(typeof w.cpuUsage, 'number');
			assert.deepEqual(w.portRange, { min: BASE_PORT + i * 1000, max: BASE_PORT + i * 1000 + 999 });
			assert.equal(typeof w.memory.ru_maxrss, 'number');
			assert.ok(w.memory.ru_maxrss > 0);
			assert.ok('lastUsedAt' in w);
			// Every worker took rooms, so each has been used.
			assert.equal(typeof w.lastUsedAt, 'string');
			assert.ok(!Number.isNaN(Date.parse(w.lastUsedAt as string)));
			assert.equal(w.restarts, 0);
		}
		const pidsFromStats = (await stats()).workers.map((w) => w.pid);
		assert.deepEqual(
			body.workers.map((w) => w.pid),
			pidsFromStats,
		);
	});

	it('POST /rooms for an existing id returns created false and the same worker', async () => {
		const before = (await stats()).distribution;
		const first = (await request(baseUrl, 'POST', '/rooms', { roomId: 'room-3' })).body as { workerId: number };
		const reply = await request(baseUrl, 'POST', '/rooms', { roomId: 'room-3' });
		assert.equal(reply.status, 200);
		assert.deepEqual(reply.body, { roomId: 'room-3', workerId: first.workerId, created: false });
		assert.ok(before[String(first.workerId)]?.includes('room-3'));
		assert.deepEqual((await stats()).distribution, before);
	});

	it('GET /rooms/:roomId describes a room', async () => {
		const reply = await get('/rooms/room-0');
		assert.equal(reply.status, 200);
		const body = roomDescriptionSchema.parse(reply.body);
		assert.equal(body.roomId, 'room-0');
		assert.equal(body.peerCount, 0);
		assert.ok((await stats()).distribution[String(body.workerId)]?.includes('room-0'));
	});

	it('accepts a 64-character room id (the longest allowed)', async () => {
		const roomId = `${'a'.repeat(63)}Z`;
		const reply = await request(baseUrl, 'POST', '/rooms', { roomId });
		assert.equal(reply.status, 201);
		assert.equal((reply.body as { roomId: string }).roomId, roomId);
		assert.equal((await request(baseUrl, 'DELETE', `/rooms/${roomId}`)).status, 204);
	});

	describe('bad room ids are 400 with { error: { code, message } }', () => {
		const cases: [string, unknown][] = [
			['empty', { roomId: '' }],
			['65 characters', { roomId: 'a'.repeat(65) }],
			['a space', { roomId: 'a b' }],
			['a slash', { roomId: 'a/b' }],
			['non-ASCII', { roomId: 'ü' }],
			['a number', { roomId: 5 }],
			['a boolean', { roomId: true }],
			['null', { roomId: null }],
			['an array', { roomId: ['abc'] }],
			['an object', { roomId: { id: 'abc' } }],
		];
		for (const [name, body] of cases) {
			it(`POST /rooms with ${name}`, async () => {
				const before = await stats();
				const reply = await request(baseUrl, 'POST', '/rooms', body);
				assertErrorShape(reply, 400, 'INVALID_ROOM_ID');
				assert.equal((await stats()).totalRooms, before.totalRooms, 'no room was created');
			});
		}

		it('POST /rooms with no body', async () => {
			assertErrorShape(await request(baseUrl, 'POST', '/rooms'), 400);
		});

		it('POST /rooms with an empty JSON body', async () => {
			assertErrorShape(await request(baseUrl, 'POST', '/rooms', ''), 400);
		});

		it('POST /rooms with {} (roomId missing)', async () => {
			assertErrorShape(await request(baseUrl, 'POST', '/rooms', {}), 400);
		});

		it('POST /rooms with invalid JSON', async () => {
			assertErrorShape(await request(baseUrl, 'POST', '/rooms', '{"roomId":'), 400);
		});

		for (const path of ['/rooms/a%20b', '/rooms/%C3%BC', `/rooms/${'a'.repeat(65)}`, '/rooms/a%2Fb']) {
			it(`GET and DELETE ${path}`, async () => {
				assertErrorShape(await get(path), 400, 'INVALID_ROOM_ID');
				assertErrorShape(await request(baseUrl, 'DELETE', path), 400, 'INVALID_ROOM_ID');
			});
		}
	});

	it('GET and DELETE of an unknown room are 404 with the error shape', async () => {
		assertErrorShape(await get('/rooms/no-such-room'), 404, 'ROOM_NOT_FOUND');
		assertErrorShape(await request(baseUrl, 'DELETE', '/rooms/no-such-room'), 404, 'ROOM_NOT_FOUND');
	});

	it('DELETE closes the room: GET is 404, /stats no longer lists it, its router is closed', async () => {
		const room = tureen.rooms.getRoom('room-5');
		assert.ok(room);
		const router = room.router;
		const workerId = room.workerId;
		const before = await stats();

		const reply = await request(baseUrl, 'DELETE', '/rooms/room-5');
		assert.equal(reply.status, 204);
		assert.equal(reply.body, undefined);

		assertErrorShape(await get('/rooms/room-5'), 404, 'ROOM_NOT_FOUND');
		assertErrorShape(await request(baseUrl, 'DELETE', '/rooms/room-5'), 404, 'ROOM_NOT_FOUND');
		const after = await stats();
		assert.equal(after.totalRooms, before.totalRooms - 1);
		assert.ok(!Object.values(after.distribution).flat().includes('room-5'));
		assert.equal(after.workers[workerId]?.roomCount, (before.workers[workerId]?.roomCount ?? 0) - 1);
		assert.equal(router.closed, true);
		const dump = await tureen.pool.mediasoupWorkerForTesting(workerId).dump();
		assert.ok(!dump.routerIds.includes(router.id));
	});

	it('GET /health is 200 and GET /ready is 200', async () => {
		const health = await get('/health');
		assert.equal(health.status, 200);
		assert.deepEqual(health.body, { status: 'ok' });
		const ready = await get('/ready');
		assert.equal(ready.status, 200);
		assert.deepEqual(ready.body, { status: 'ready', workers: WORKERS, liveWorkers: WORKERS });
	});

	it('GET /openapi.json documents /stats and /workers', async () => {
		const reply = await get('/openapi.json');
		assert.equal(reply.status, 200);
		const doc = reply.body as { openapi?: string; paths?: Record<string, unknown> };
		assert.equal(typeof doc.openapi, 'string');
		assert.ok(doc.paths && '/stats' in doc.paths, 'paths has /stats');
		assert.ok(doc.paths && '/workers' in doc.paths, 'paths has /workers');
		// What OpenAPI shows is the JSON schema derived from the shapes in src/protocol/stats.ts.
		const shown = (path: string, method = 'get') =>
			(doc.paths?.[path] as Record<string, { responses: Record<string, { content: Record<string, { schema: unknown }> }> }>)[method]?.responses['200']
				?.content['application/json']?.schema;
		assert.deepEqual(shown('/workers'), jsonSchema(workersSchema));
		assert.deepEqual(shown('/rooms/{roomId}'), jsonSchema(roomDescriptionSchema));
		assert.deepEqual(shown('/stats'), jsonSchema(statsSchema));
	});

	it('an unknown route is 404 JSON', async () => {
		assertErrorShape(await get('/no/such/route'), 404, 'NOT_FOUND');
		assertErrorShape(await request(baseUrl, 'PUT', '/stats', {}), 404, 'NOT_FOUND');
	});

	it('100 concurrent getOrCreateRoom calls for one id create one room and one router', async () => {
		const routerCounts = async () =>
			Promise.all(tureen.pool.workers.map(async (w) => (await tureen.pool.mediasoupWorkerForTesting(w.workerId).dump()).routerIds.length));
		const roomsBefore = tureen.rooms.rooms.length;
		const countsBefore = await routerCounts();

		const results = await Promise.all(Array.from({ length: 100 }, () => tureen.rooms.getOrCreateRoom('same')));

		assert.equal(results.filter((r) => r.created).length, 1);
		const room = results[0]!.room;
		assert.ok(results.every((r) => r.room === room), 'every caller got the same Room');
		assert.equal(tureen.rooms.rooms.length, roomsBefore + 1);
		assert.equal(tureen.rooms.rooms.filter((r) => r.roomId === 'same').length, 1);

		const countsAfter = await routerCounts();
		const expected = countsBefore.map((n, w) => (w === room.workerId ? n + 1 : n));
		assert.deepEqual(countsAfter, expected);
		const dump = await tureen.pool.mediasoupWorkerForTesting(room.workerId).dump();
		assert.ok(dump.routerIds.includes(room.router.id));

		const s = await stats();
		assert.deepEqual(
			Object.values(s.distribution)
				.flat()
				.filter((id) => id === 'same'),
			['same'],
		);
	});

	it('a WebRtcTransport on a room\'s router uses its worker\'s port range', async () => {
		for (const roomId of ['room-0', 'room-1', 'room-2', 'room-3']) {
			const room = tureen.rooms.getRoom(roomId);
			assert.ok(room);
			const managed = tureen.pool.getWorker(room.workerId);
			assert.ok(managed);
			let transport: ms.WebRtcTransport | undefined;
			try {
				transport = await room.router.createWebRtcTransport({
					...managed.webRtcTransportListen(),
				});
				assert.ok(transport.iceCandidates.length >= 1);
				for (const candidate of transport.iceCandidates) {
					assert.equal(candidate.address, '127.0.0.1');
					assert.ok(
						candidate.port >= managed.portRange.min && candidate.port <= managed.portRange.max,
						`worker ${room.workerId}: ${candidate.protocol} port ${candidate.port} in ${JSON.stringify(managed.portRange)}`,
					);
				}
				assert.deepEqual(managed.portRange, {
					min: BASE_PORT + room.workerId * 1000,
					max: BASE_PORT + room.workerId * 1000 + 999,
				});
			} finally {
				transport?.close();
			}
		}
	});
});

describe('idle rooms close after ROOM_IDLE_TIMEOUT_MS', () => {
	let tureen: Tureen;
	let baseUrl: string;

	before(async () => {
		({ tureen, baseUrl } = await startTestServer({ ROOM_IDLE_TIMEOUT_MS: '200', RTC_BASE_PORT: '46000' }));
	});

	after(async () => {
		await tureen?.close();
	});

	it('an empty room created by POST /rooms is gone after the timeout and its router closed', async () => {
		let router: ms.Router | undefined;
		tureen.rooms.once('roomCreated', (room) => {
			router = room.router;
		});
		const reply = await request(baseUrl, 'POST', '/rooms', { roomId: 'idle-room' });
		assert.equal(reply.status, 201);
		assert.ok(router, 'roomCreated fired');

		let listed = true;
		for (let i = 0; i < 100 && listed; i++) {
			const s = (await request(baseUrl, 'GET', '/stats')).body as Stats;
			listed = Object.values(s.distribution).flat().includes('idle-room');
			if (listed) await sleep(50);
		}
		assert.equal(listed, false, 'the room left /stats within about 5 s');

		const s = (await request(baseUrl, 'GET', '/stats')).body as Stats;
		assert.equal(s.totalRooms, 0);
		assert.equal(router.closed, true);
		assertErrorShape(await request(baseUrl, 'GET', '/rooms/idle-room'), 404, 'ROOM_NOT_FOUND');
	});
});
