import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';

import type { Tureen } from '../../src/server.ts';
import { pollUntil } from '../support/demoPage.ts';
import { captureLogs } from '../support/logCapture.ts';
import { startTestServer } from '../support/server.ts';
import { connect, type WsTestClient } from '../support/wsClient.ts';

const servers: Tureen[] = [];
after(async () => {
	for (const server of servers) await server.close();
});

async function server(env: Record<string, string>, logger?: ReturnType<typeof captureLogs>['logger']) {
	const started = await startTestServer(env, logger ? { logger } : {});
	servers.push(started.tureen);
	return { ...started, wsUrl: `${started.baseUrl.replace(/^http/, 'ws')}/ws` };
}

const clients: WsTestClient[] = [];
after(async () => {
	await Promise.all(clients.map((c) => c.close()));
});

/** A raw signalling peer joined to `roomId`. */
async function joinPeer(wsUrl: string, roomId: string): Promise<{ client: WsTestClient; peerId: string; workerId: number }> {
	const client = await connect(wsUrl);
	clients.push(client);
	const { rtpCapabilities } = (await client.requestOk('getRouterRtpCapabilities', { roomId })) as { rtpCapabilities: Record<string, unknown> };
	const joined = (await client.requestOk('join', { roomId, displayName: 'peer', rtpCapabilities })) as { peerId: string; workerId: number };
	return { client, peerId: joined.peerId, workerId: joined.workerId };
}

async function createTransport(client: WsTestClient): Promise<{ transportId: string; port: number }> {
	const info = (await client.requestOk('createWebRtcTransport', { direction: 'send' })) as { transportId: string; iceCandidates: { port: number }[] };
	return { transportId: info.transportId, port: info.iceCandidates[0]!.port };
}

const json = async (url: string, init?: RequestInit) => {
	const res = await fetch(url, init);
	return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

/** POST /rooms: the status, and the error code when refused. */
async function postRoom(baseUrl: string, roomId: string): Promise<{ status: number; body: Record<string, unknown>; code: string | undefined }> {
	const { status, body } = await json(`${baseUrl}/rooms`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ roomId }),
	});
	return { status, body, code: (body.error as { code?: string } | undefined)?.code };
}

describe('worker death', () => {
	test('a killed worker is respawned with the same id and port range; its rooms move', async () => {
		const { tureen, baseUrl } = await server({ MEDIASOUP_WORKER_COUNT: '2', RTC_BASE_PORT: '50000' });
		for (const roomId of ['r1', 'r2', 'r3', 'r4']) await tureen.rooms.getOrCreateRoom(roomId);
		const victim = tureen.pool.getWorker(0)!;
		const oldPid = victim.pid!;
		const roomsBefore = tureen.rooms.roomIdsOn(0);
		process.kill(oldPid, 'SIGKILL');

		// The pool counts the restart once the new process has answered its first sample: wait for both.
		await pollUntil(() => Promise.resolve(victim.alive && victim.pid !== oldPid && victim.restarts > 0), Boolean, { what: 'respawn' });
		assert.deepEqual(victim.portRange, { min: 50000, max: 50999 });
		assert.equal(victim.restarts, 1);
		for (const roomId of roomsBefore) {
			const room = tureen.rooms.getRoom(roomId)!;
			assert.equal(room.workerId, 1, `${roomId} moved to the live worker`);
			assert.equal(room.router.closed, false);
		}
		const ready = await json(`${baseUrl}/ready`);
		assert.equal(ready.status, 200);
		// A new transport on the respawned worker binds inside its old range.
		const { room } = await tureen.rooms.getOrCreateRoom('after-respawn');
		const transport = await room.router.createWebRtcTransport({
			...tureen.pool.getWorker(room.workerId)!.webRtcTransportListen(),
		});
		const port = transport.iceCandidates[0]!.port;
		const range = tureen.pool.getWorker(room.workerId)!.portRange;
		assert.ok(port >= range.min && port <= range.max);
	});

	test('after 5 deaths within 60 s the worker stays down and /ready says so', async () => {
		const { tureen, baseUrl } = await server({ MEDIASOUP_WORKER_COUNT: '2', RTC_BASE_PORT: '51000' });
		const victim = tureen.pool.getWorker(1)!;
		let gaveUp = false;
		tureen.pool.on('workerGaveUp', () => (gaveUp = true));
		for (let death = 1; death <= 5; death++) {
			const pid = victim.pid!;
			process.kill(pid, 'SIGKILL');
			if (death < 5) {
				await pollUntil(() => Promise.resolve(victim.alive && victim.pid !== pid), Boolean, { what: `respawn ${death}` });
			}
		}
		await pollUntil(() => Promise.resolve(gaveUp), Boolean, { what: 'give up' });
		assert.equal(victim.alive, false);
		const ready = await json(`${baseUrl}/ready`);
		assert.equal(ready.status, 503);
		assert.equal(ready.body.liveWorkers, 1);
		// The survivor still takes every new room.
		const created = await postRoom(baseUrl, 'survivor');
		assert.equal(created.body.workerId, 0);
	});

	test('a hung worker hosting a room with a peer: it counts as dead, is killed and replaced; the room moves and the peer is told', async () => {
		const { tureen, wsUrl } = await server({
			MEDIASOUP_WORKER_COUNT: '2',
			RTC_BASE_PORT: '52000',
			WORKER_TIMEOUT_MS: '500',
			CPU_SAMPLE_INTERVAL_MS: '200',
		});
		const { client, workerId: home } = await joinPeer(wsUrl, 'hung-home');
		const victim = tureen.pool.getWorker(home)!;
		const oldPid = victim.pid!;
		process.kill(oldPid, 'SIGSTOP');
		const moved = await client.waitForNotification('roomMoved', 20_000);
		assert.deepEqual(moved.data, { workerId: 1 - home, reason: 'worker-died' });
		assert.equal(tureen.rooms.getRoom('hung-home')!.workerId, 1 - home);
		await pollUntil(() => Promise.resolve(victim.alive && victim.pid !== oldPid), Boolean, { what: 'hung worker replaced' });
		assert.throws(() => process.kill(oldPid, 0), 'the hung process was killed');
		// The peer goes on in the moved room: its new transport binds in the new worker's range.
		const { port } = await createTransport(client);
		const range = tureen.pool.getWorker(1 - home)!.portRange;
		assert.ok(port >= range.min && port <= range.max, `port ${port} in ${JSON.stringify(range)}`);
	});

	test('a worker dying in the middle of a request: the request gets NO_WORKER_AVAILABLE (not INTERNAL), then roomMoved', async () => {
		const { tureen, wsUrl } = await server({ MEDIASOUP_WORKER_COUNT: '2', RTC_BASE_PORT: '30000', WORKER_TIMEOUT_MS: '600000' });
		const { client, workerId: home } = await joinPeer(wsUrl, 'mid-request');
		const router = tureen.rooms.getRoom('mid-request')!.router;
		// A spy on the real router: tells when the request has reached the worker's channel.
		let reachedWorker = false;
		const createWebRtcTransport = router.createWebRtcTransport.bind(router);
		router.createWebRtcTransport = (options) => {
			reachedWorker = true;
			return createWebRtcTransport(options);
		};
		const pid = tureen.pool.getWorker(home)!.pid!;
		process.kill(pid, 'SIGSTOP');
		const pending = client.request('createWebRtcTransport', { direction: 'send' }, 20_000);
		await pollUntil(() => Promise.resolve(reachedWorker), Boolean, { what: 'the request to reach the stopped worker' });
		process.kill(pid, 'SIGKILL');
		const reply = await pending;
		assert.equal(reply.ok, false);
		assert.equal(!reply.ok && reply.error.code, 'NO_WORKER_AVAILABLE');
		const moved = await client.waitForNotification('roomMoved', 20_000);
		assert.equal(moved.data.workerId, 1 - home);
		// A retry after roomMoved works.
		await createTransport(client);
	});

	test('a failed respawn is logged with the worker id and retried with back-off until the slot gives up', async () => {
		const logs = captureLogs();
		const { tureen, baseUrl } = await server({ MEDIASOUP_WORKER_COUNT: '2', RTC_BASE_PORT: '32000' }, logs.logger);
		const victim = tureen.pool.getWorker(0)!;
		// The machine refuses new worker processes from now on (say the binary was removed).
		victim.start = () => Promise.reject(new Error('spawn refused by the test'));
		let gaveUp = false;
		tureen.pool.on('workerGaveUp', (workerId) => (gaveUp = workerId === 0));
		process.kill(victim.pid!, 'SIGKILL');
		await pollUntil(() => Promise.resolve(gaveUp), Boolean, { what: 'the slot to give up' });
		const failures = logs.find('worker respawn failed');
		// Death by kill, then four failed respawns: five deaths within the window.
		assert.equal(failures.length, 4);
		assert.ok(failures.every((l) => l.workerId === 0 && /spawn refused by the test/.test(JSON.stringify(l.err))));
		assert.equal(logs.find('worker died too often; it stays down').length, 1);
		assert.equal(victim.alive, false);
		assert.equal(victim.restarts, 0);
		const ready = await json(`${baseUrl}/ready`);
		assert.equal(ready.status, 503);
		assert.equal(ready.body.liveWorkers, 1);
	});

	test('no worker can take a dead worker\'s room: it is closed, its peer told, and the closing logged', async () => {
		const logs = captureLogs();
		const { tureen, baseUrl, wsUrl } = await server({ MEDIASOUP_WORKER_COUNT: '2', RTC_BASE_PORT: '34000', DRAIN_TIMEOUT_MS: '600000' }, logs.logger);
		const { client, workerId: home } = await joinPeer(wsUrl, 'stranded');
		assert.equal((await json(`${baseUrl}/workers/${1 - home}/drain`, { method: 'POST' })).status, 200);
		process.kill(tureen.pool.getWorker(home)!.pid!, 'SIGKILL');
		const closed = await client.waitForNotification('roomClosed', 20_000);
		assert.deepEqual(closed.data, { reason: 'worker-died' });
		const [line] = logs.find('no worker can take the room; closing it');
		assert.ok(line, `logged: ${JSON.stringify(logs.lines.map((l) => l.msg))}`);
		assert.equal(line.roomId, 'stranded');
		assert.equal(line.workerId, home);
		assert.equal(line.peers, 1);
		assert.equal(tureen.rooms.getRoom('stranded'), undefined);
	});

	test('a CPU/memory sample that fails for another reason than a hang is logged with the worker id and pid; the worker lives on', async () => {
		const logs = captureLogs();
		const { tureen } = await server({ MEDIASOUP_WORKER_COUNT: '1', RTC_BASE_PORT: '38000', CPU_SAMPLE_INTERVAL_MS: '100' }, logs.logger);
		const managed = tureen.pool.getWorker(0)!;
		const worker = tureen.pool.mediasoupWorkerForTesting(0);
		worker.getResourceUsage = () => Promise.reject(new Error('getrusage refused by the test'));
		const [line] = await pollUntil(
			() => Promise.resolve(logs.find('worker CPU/memory sampling failed; its figures are stale')),
			(found) => found.length > 0,
			{ what: 'the sampling failure to be logged' },
		);
		assert.equal(line!.workerId, 0);
		assert.equal(line!.pid, worker.pid);
		assert.match(JSON.stringify(line!.err), /getrusage refused by the test/);
		assert.equal(managed.alive, true);
	});

	test('NO_WORKER_AVAILABLE over HTTP and WebSocket when every worker is draining', async () => {
		const { baseUrl, wsUrl } = await server({ MEDIASOUP_WORKER_COUNT: '2', RTC_BASE_PORT: '36000', DRAIN_TIMEOUT_MS: '600000' });
		for (const workerId of [0, 1]) assert.equal((await json(`${baseUrl}/workers/${workerId}/drain`, { method: 'POST' })).status, 200);
		const created = await postRoom(baseUrl, 'nowhere');
		assert.deepEqual([created.status, created.code], [503, 'NO_WORKER_AVAILABLE']);
		const client = await connect(wsUrl);
		clients.push(client);
		const reply = await client.request('getRouterRtpCapabilities', { roomId: 'nowhere' });
		assert.equal(!reply.ok && reply.error.code, 'NO_WORKER_AVAILABLE');
		assert.equal(client.isOpen, true, 'the socket stays open');
		// Undrained, the same requests succeed.
		await json(`${baseUrl}/workers/0/undrain`, { method: 'POST' });
		assert.equal((await client.request('getRouterRtpCapabilities', { roomId: 'nowhere' })).ok, true);
	});
});

describe('drain', () => {
	test('a draining worker gets no new rooms; past DRAIN_TIMEOUT_MS its room moves with its peer (roomMoved); undrain restores it', async () => {
		const { tureen, baseUrl, wsUrl } = await server({ MEDIASOUP_WORKER_COUNT: '2', RTC_BASE_PORT: '53000', DRAIN_TIMEOUT_MS: '300' });
		const { client, workerId: home } = await joinPeer(wsUrl, 'stay');
		const drained = await json(`${baseUrl}/workers/${home}/drain`, { method: 'POST' });
		assert.equal(drained.status, 200);
		assert.equal(drained.body.draining, true);
		for (const id of ['n1', 'n2', 'n3']) {
			const { room } = await tureen.rooms.getOrCreateRoom(id);
			assert.notEqual(room.workerId, home, 'placement skips the draining worker');
		}
		const moved = await client.waitForNotification('roomMoved', 20_000);
		assert.deepEqual(moved.data, { workerId: 1 - home, reason: 'worker-drained' });
		const room = tureen.rooms.getRoom('stay')!;
		assert.equal(room.workerId, 1 - home);
		assert.equal(room.members.size, 1, 'the peer moved with its room');
		const { port } = await createTransport(client);
		const range = tureen.pool.getWorker(1 - home)!.portRange;
		assert.ok(port >= range.min && port <= range.max, 'media now goes to the new worker');

		assert.equal((await json(`${baseUrl}/workers/${home}/undrain`, { method: 'POST' })).body.draining, false);
		const back = await tureen.rooms.getOrCreateRoom('back');
		assert.equal(back.room.workerId, home, 'the undrained worker (fewest rooms) takes rooms again');
		assert.equal((await json(`${baseUrl}/workers/9/drain`, { method: 'POST' })).status, 404);
		assert.equal((await json(`${baseUrl}/workers/x/drain`, { method: 'POST' })).status, 400);
	});
});

describe('SIGTERM', () => {
	async function startProcess(env: Record<string, string>): Promise<{ child: ChildProcess; baseUrl: string; wsUrl: string }> {
		const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
			env: { ...process.env, MEDIASOUP_WORKER_COUNT: '1', HTTP_HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		// Bounds every test here: a drain that never ends is killed and fails its exit-code check.
		const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
		child.once('exit', () => clearTimeout(killer));
		let output = '';
		const address = await new Promise<string>((resolve, reject) => {
			child.stdout!.on('data', (chunk: Buffer) => {
				output += chunk.toString();
				const match = /"address":"(http:\/\/[^"]+)"/.exec(output);
				if (match) resolve(match[1]!);
			});
			child.once('exit', (code) => reject(new Error(`server exited early (${code}): ${output}`)));
		});
		return { child, baseUrl: address, wsUrl: `${address.replace(/^http/, 'ws')}/ws` };
	}

	function exitCode(child: ChildProcess): Promise<number | null> {
		if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
		return once(child, 'exit').then(([code]) => code as number | null);
	}

	const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

	test('drains while a peer stays (alive, /ready 503, new sockets 1013, no new rooms), and exits 0 once it leaves', async () => {
		// A deadline far beyond the test's bound: only the peer leaving can end this drain in time.
		const { child, baseUrl, wsUrl } = await startProcess({ DRAIN_TIMEOUT_MS: '600000', RTC_BASE_PORT: '54000' });
		const { client } = await joinPeer(wsUrl, 'sigterm');
		child.kill('SIGTERM');
		const draining = await client.waitForNotification('serverDraining', 10_000);
		assert.equal(typeof draining.data.deadlineMs, 'number');
		const ready = await pollUntil(
			async () => (await fetch(`${baseUrl}/ready`).catch(() => undefined))?.status,
			(s) => s !== 200,
			{ what: 'not ready while draining' },
		);
		assert.equal(ready, 503);

		const late = await connect(wsUrl);
		clients.push(late);
		assert.equal((await late.waitForClose()).code, 1013, 'a new socket is turned away during the drain');
		const newRoom = await client.request('getRouterRtpCapabilities', { roomId: 'too-late' });
		assert.equal(!newRoom.ok && newRoom.error.code, 'SHUTTING_DOWN');
		const created = await postRoom(baseUrl, 'too-late-http');
		assert.deepEqual([created.status, created.code], [503, 'SHUTTING_DOWN']);
		assert.equal((await fetch(`${baseUrl}/ready`)).status, 503, 'still draining, still answering');
		assert.ok(running(child), 'the process waits for its peer');

		assert.equal((await client.request('leave', {})).ok, true);
		assert.equal(await exitCode(child), 0);
	});

	test('a peer that never leaves: the drain ends at DRAIN_TIMEOUT_MS with exit 0', async () => {
		const { child, baseUrl, wsUrl } = await startProcess({ DRAIN_TIMEOUT_MS: '1500', RTC_BASE_PORT: '54000' });
		const { client } = await joinPeer(wsUrl, 'stubborn');
		child.kill('SIGTERM');
		await client.waitForNotification('serverDraining', 10_000);
		assert.equal((await fetch(`${baseUrl}/ready`)).status, 503);
		assert.equal(await exitCode(child), 0);
		assert.equal((await client.waitForClose(10_000)).code, 1001, 'the peer is told the server is going away');
	});

	test('a second SIGTERM exits at once', async () => {
		const { child, baseUrl, wsUrl } = await startProcess({ DRAIN_TIMEOUT_MS: '20000', RTC_BASE_PORT: '54000' });
		await joinPeer(wsUrl, 'twice');
		child.kill('SIGTERM');
		await pollUntil(async () => (await fetch(`${baseUrl}/ready`)).status, (s) => s === 503, { what: 'draining' });
		child.kill('SIGTERM');
		assert.equal(await exitCode(child), 130);
	});
});
