import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, test } from 'node:test';

import WebSocket from 'ws';

import type { Tureen } from '../../src/server.ts';
import { pollUntil } from '../support/demoPage.ts';
import { startTestServer } from '../support/server.ts';

const servers: Tureen[] = [];
after(async () => {
	for (const server of servers) await server.close();
});

async function server(env: Record<string, string>) {
	const started = await startTestServer(env);
	servers.push(started.tureen);
	return started;
}

const json = async (url: string, init?: RequestInit) => {
	const res = await fetch(url, init);
	return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('worker death', () => {
	test('a killed worker is respawned with the same id and port range; its rooms move', async () => {
		const { tureen, baseUrl } = await server({ MEDIASOUP_WORKER_COUNT: '2', RTC_BASE_PORT: '50000' });
		for (const roomId of ['r1', 'r2', 'r3', 'r4']) await tureen.rooms.getOrCreateRoom(roomId);
		const victim = tureen.pool.getWorker(0)!;
		const oldPid = victim.pid!;
		const roomsBefore = tureen.rooms.roomIdsOn(0);
		process.kill(oldPid, 'SIGKILL');

		await pollUntil(() => Promise.resolve(victim.alive && victim.pid !== oldPid), Boolean, { what: 'respawn' });
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
			listenInfos: tureen.pool.getWorker(room.workerId)!.webRtcListenInfos('127.0.0.1', undefined),
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
		const created = await json(`${baseUrl}/rooms`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ roomId: 'survivor' }),
		});
		assert.equal(created.body.workerId, 0);
	});

	test('a worker that stops answering counts as dead and is replaced', async () => {
		const { tureen } = await server({
			MEDIASOUP_WORKER_COUNT: '2',
			RTC_BASE_PORT: '52000',
			WORKER_TIMEOUT_MS: '500',
			CPU_SAMPLE_INTERVAL_MS: '200',
		});
		const victim = tureen.pool.getWorker(0)!;
		const oldPid = victim.pid!;
		process.kill(oldPid, 'SIGSTOP');
		await pollUntil(() => Promise.resolve(victim.alive && victim.pid !== oldPid), Boolean, { what: 'hung worker replaced' });
		assert.throws(() => process.kill(oldPid, 0), 'the hung process was killed');
	});
});

describe('drain', () => {
	test('a draining worker gets no new rooms; its rooms move after DRAIN_TIMEOUT_MS; undrain restores it', async () => {
		const { tureen, baseUrl } = await server({ MEDIASOUP_WORKER_COUNT: '2', RTC_BASE_PORT: '53000', DRAIN_TIMEOUT_MS: '300' });
		await tureen.rooms.getOrCreateRoom('stay');
		const home = tureen.rooms.getRoom('stay')!.workerId;
		const drained = await json(`${baseUrl}/workers/${home}/drain`, { method: 'POST' });
		assert.equal(drained.status, 200);
		assert.equal(drained.body.draining, true);
		for (const id of ['n1', 'n2', 'n3']) {
			const { room } = await tureen.rooms.getOrCreateRoom(id);
			assert.notEqual(room.workerId, home, 'placement skips the draining worker');
		}
		await pollUntil(() => Promise.resolve(tureen.rooms.getRoom('stay')!.workerId), (w) => w !== home, { what: 'room moved after the drain timeout' });
		assert.equal((await json(`${baseUrl}/workers/${home}/undrain`, { method: 'POST' })).body.draining, false);
		const { room } = await tureen.rooms.getOrCreateRoom('back');
		assert.equal(room.workerId, home, 'the undrained worker (fewest rooms) takes rooms again');
		assert.equal((await json(`${baseUrl}/workers/9/drain`, { method: 'POST' })).status, 404);
		assert.equal((await json(`${baseUrl}/workers/x/drain`, { method: 'POST' })).status, 400);
	});
});

describe('SIGTERM', () => {
	async function startProcess(env: Record<string, string>): Promise<{ child: ChildProcess; baseUrl: string }> {
		const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
			env: { ...process.env, MEDIASOUP_WORKER_COUNT: '1', HTTP_HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
			stdio: ['ignore', 'pipe', 'pipe'],
		});
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
		return { child, baseUrl: address };
	}

	async function joinRaw(baseUrl: string, roomId: string): Promise<{ socket: WebSocket; notifications: string[] }> {
		const socket = new WebSocket(`${baseUrl.replace('http', 'ws')}/ws`);
		await once(socket, 'open');
		const notifications: string[] = [];
		const replies = new Map<number, (data: Record<string, unknown>) => void>();
		socket.on('message', (raw) => {
			const message = JSON.parse(String(raw)) as { id?: number; notification?: string; data: Record<string, unknown> };
			if (message.notification) notifications.push(message.notification);
			else if (message.id !== undefined) replies.get(message.id)?.(message.data);
		});
		const request = (id: number, method: string, data: unknown) =>
			new Promise<Record<string, unknown>>((resolve) => {
				replies.set(id, resolve);
				socket.send(JSON.stringify({ id, method, data }));
			});
		const { rtpCapabilities } = await request(1, 'getRouterRtpCapabilities', { roomId });
		await request(2, 'join', { roomId, displayName: 'stayer', rtpCapabilities });
		return { socket, notifications };
	}

	test('drains with a peer connected: the peer is told, exit 0 within DRAIN_TIMEOUT_MS + 2 s', async () => {
		const { child, baseUrl } = await startProcess({ DRAIN_TIMEOUT_MS: '1500', RTC_BASE_PORT: '54000' });
		const { socket, notifications } = await joinRaw(baseUrl, 'sigterm');
		const sentAt = Date.now();
		child.kill('SIGTERM');
		await pollUntil(async () => (await fetch(`${baseUrl}/ready`).catch(() => undefined))?.status, (s) => s !== 200, { what: 'not ready while draining' });
		const [code] = (await once(child, 'exit')) as [number | null];
		const tookMs = Date.now() - sentAt;
		console.log(`SIGTERM with a connected peer: exit ${code} after ${tookMs} ms (DRAIN_TIMEOUT_MS 1500)`);
		assert.equal(code, 0);
		assert.ok(tookMs < 1500 + 2000);
		assert.ok(notifications.includes('serverDraining'), `peer notified: ${notifications.join(',')}`);
		socket.terminate();
	});

	test('a second SIGTERM exits at once', async () => {
		const { child, baseUrl } = await startProcess({ DRAIN_TIMEOUT_MS: '20000', RTC_BASE_PORT: '54000' });
		const { socket } = await joinRaw(baseUrl, 'twice');
		child.kill('SIGTERM');
		await pollUntil(async () => (await fetch(`${baseUrl}/ready`)).status, (s) => s === 503, { what: 'draining' });
		child.kill('SIGTERM');
		const [code] = (await once(child, 'exit')) as [number | null];
		assert.equal(code, 130);
		socket.terminate();
	});
});
