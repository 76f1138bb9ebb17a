import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { Page } from 'playwright-core';

import type { Tureen } from '../../src/server.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startTestServer } from '../support/server.ts';

const SCREENSHOT = path.resolve('test-results/dashboard.png');
const TOKEN = 'dashboard-test-token';

type PageState = { text: string; canvases: number; charts: number; maxPoints: number; live: boolean };

function readState(page: Page): Promise<PageState> {
	return page.evaluate(() => {
		const chart = (window as unknown as { Chart?: { instances: Record<string, { data: { datasets: { data: unknown[] }[] } }> } })
			.Chart;
		const instances = Object.values(chart?.instances ?? {});
		return {
			text: document.body.innerText,
			canvases: document.querySelectorAll('canvas').length,
			charts: instances.length,
			maxPoints: Math.max(0, ...instances.flatMap((c) => c.data.datasets.map((d) => d.data.length))),
			live: document.getElementById('status')?.classList.contains('ok') ?? false,
		};
	});
}

// page.waitForFunction resolves at once on an async predicate, so poll evaluate instead.
async function waitForState(page: Page, done: (state: PageState) => boolean, timeoutMs = 15_000): Promise<PageState> {
	const deadline = Date.now() + timeoutMs;
	let state = await readState(page);
	while (!done(state)) {
		if (Date.now() > deadline) assert.fail(`dashboard did not get there in ${timeoutMs} ms; it shows:\n${state.text}`);
		await new Promise((resolve) => setTimeout(resolve, 250));
		state = await readState(page);
	}
	return state;
}

type Member = Parameters<Tureen['rooms']['rooms'][number]['addMember']>[0];

// Room members without a signalling connection: all the page needs is their count.
function fakeMember(peerId: string): Member {
	return { peerId, displayName: peerId, close: () => undefined } as unknown as Member;
}

describe('GET /dashboard', () => {
	let tureen: Tureen;
	let baseUrl: string;
	let browser: TestBrowser | undefined;
	const roomIds = ['lobby', 'standup-7', 'town-hall'];

	before(async () => {
		({ tureen, baseUrl } = await startTestServer({
			MEDIASOUP_WORKER_COUNT: '2',
			RTC_BASE_PORT: '46000',
			ROOM_IDLE_TIMEOUT_MS: '600000',
			// One peer per router: the lobby's two peers put it on both workers.
			ROOM_MAX_PEERS_PER_ROUTER: '1',
			// With the admin guard on, the page only gets data if it passes ?token= on.
			ADMIN_TOKEN: TOKEN,
		}));
		for (const roomId of roomIds) {
			const response = await fetch(`${baseUrl}/rooms`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
				body: JSON.stringify({ roomId }),
			});
			assert.equal(response.status, 201);
		}
		// Peers without signalling: enough for the counts the page shows.
		const lobby = tureen.rooms.getRoom('lobby')!;
		for (const peerId of ['alice', 'bob']) lobby.addMember(fakeMember(peerId), await lobby.takeSeat());
		assert.equal(lobby.routers.length, 2);
		browser = await launchBrowser();
	});

	after(async () => {
		await browser?.close();
		await tureen?.close();
	});

	it('shows live worker charts, pids and the room distribution', async () => {
		const page = await browser!.context.newPage();
		const problems: string[] = [];
		page.on('console', (message) => {
			if (message.type() === 'error') problems.push(`console: ${message.text()}`);
		});
		page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
		const authHeaders: (string | undefined)[] = [];
		page.on('request', (request) => {
			if (new URL(request.url()).pathname === '/stats') authHeaders.push(request.headers().authorization);
		});

		await page.goto(`${baseUrl}/dashboard?token=${TOKEN}`);
		const pids = tureen.pool.workers.map((w) => String(w.pid));
		assert.equal(pids.length, 2);

		// Two polls at least, so each chart has a line and not a lone point.
		const state = await waitForState(
			page,
			(s) =>
				s.live &&
				pids.every((pid) => s.text.includes(pid)) &&
				roomIds.every((id) => s.text.includes(id)) &&
				s.charts >= 1 &&
				s.maxPoints >= 2,
		);
		assert.equal(state.canvases, 4, 'a CPU and a rooms/peers chart per worker');
		assert.equal(state.charts, 4, 'every canvas is a Chart.js chart');
		assert.match(state.text, /spans 2 workers/);
		assert.ok(authHeaders.length >= 2, 'the page polls /stats');
		assert.ok(authHeaders.every((h) => h === `Bearer ${TOKEN}`), 'the ?token= goes out as a bearer header');

		// Each room is listed on the card of every worker it has a router on.
		for (const roomId of roomIds) {
			for (const { workerId } of tureen.rooms.getRoom(roomId)!.routers) {
				const onCard = await page
					.locator(`article[data-worker-id="${workerId}"] li[data-room-id="${roomId}"]`)
					.count();
				assert.equal(onCard, 1, `${roomId} on worker ${workerId}'s card`);
			}
		}
		assert.equal(await page.locator('li[data-room-id="lobby"][data-spans="2"]').count(), 2, 'the lobby on both cards, marked as spanning');

		mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
		await page.screenshot({ path: SCREENSHOT, fullPage: true });
		console.log(`dashboard screenshot: ${SCREENSHOT}`);

		assert.deepEqual(problems, [], 'no console errors (CSP, 404s, exceptions)');
		await page.close();
	});

	it('says how to pass the admin token when it is missing', async () => {
		const page = await browser!.context.newPage();
		await page.goto(`${baseUrl}/dashboard`);
		const deadline = Date.now() + 15_000;
		let status = '';
		while (!status.includes('not authorised')) {
			if (Date.now() > deadline) assert.fail(`no hint about the token; status says "${status}"`);
			await new Promise((resolve) => setTimeout(resolve, 250));
			status = await page.evaluate(() => document.getElementById('status')?.textContent ?? '');
		}
		assert.match(status, /\?token=/);
		await page.close();
	});
});
