// A meeting in real Chromium on the demo page: three pages in one room, one
// of them "speaking" (a Chromium whose fake microphone plays a tone), two
// silent (a Chromium whose fake microphone plays silence). The tests run in
// order on the same call.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import type { Page } from 'playwright-core';

import type { Tureen } from '../../src/server.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { openDemo, pollUntil, videoStats } from '../support/demoPage.ts';
import { startTestServer } from '../support/server.ts';
import { writeWav } from '../support/wav.ts';

const ROOM = 'meeting';
const SCREENSHOT = 'test-results/meeting.png';
/** The server's data channel message limit in this test (DATA_MAX_MESSAGE_BYTES). */
const DATA_MAX_MESSAGE_BYTES = 4096;

let tureen: Tureen;
let baseUrl: string;
let audioDir: string;
let speakingBrowser: TestBrowser;
let silentBrowser: TestBrowser;
let alice: Page;
let bob: Page;
let carol: Page;
const peerIds = new Map<Page, string>();

/**
 * getDisplayMedia needs a person to pick a screen; a canvas of 1920x1080 that
 * keeps redrawing stands in for it. The demo code that calls it is unchanged.
 * Plain JavaScript text: a function would be serialized after tsx compiled it,
 * with helpers the page does not have.
 */
const FAKE_SCREEN_CAPTURE = `
navigator.mediaDevices.getDisplayMedia = async () => {
	const canvas = document.createElement('canvas');
	canvas.width = 1920;
	canvas.height = 1080;
	const context = canvas.getContext('2d');
	let frame = 0;
	function draw() {
		context.fillStyle = '#1e3a5f';
		context.fillRect(0, 0, canvas.width, canvas.height);
		context.fillStyle = '#ffffff';
		context.font = 'bold 120px sans-serif';
		context.fillText('Shared slide ' + (frame++ % 100), 160, 560);
	}
	draw();
	setInterval(draw, 100);
	return canvas.captureStream(10);
};`;

before(async () => {
	({ tureen, baseUrl } = await startTestServer({
		MEDIASOUP_WORKER_COUNT: '1',
		RTC_BASE_PORT: '41000',
		DATA_MAX_MESSAGE_BYTES: String(DATA_MAX_MESSAGE_BYTES),
	}));
	audioDir = mkdtempSync(path.join(tmpdir(), 'tureen-audio-'));
	const tone = path.join(audioDir, 'tone.wav');
	const silence = path.join(audioDir, 'silence.wav');
	writeWav(tone, { seconds: 4, toneHz: 440 });
	writeWav(silence, { seconds: 2 });
	// The fake microphone's file is a per-launch flag: one browser speaks, the other is silent.
	speakingBrowser = await launchBrowser([`--use-file-for-fake-audio-capture=${tone}`]);
	silentBrowser = await launchBrowser([`--use-file-for-fake-audio-capture=${silence}`]);
	for (const browser of [speakingBrowser, silentBrowser]) await browser.context.addInitScript({ content: FAKE_SCREEN_CAPTURE });

	alice = await openDemo(speakingBrowser.context, baseUrl, ROOM, 'Alice');
	bob = await openDemo(silentBrowser.context, baseUrl, ROOM, 'Bob');
	carol = await openDemo(silentBrowser.context, baseUrl, ROOM, 'Carol');
	for (const page of [alice, bob, carol]) {
		// Joined, publishing, and the chat channel open: the page is in the call.
		const id = await pollUntil(
			() => page.evaluate(() => {
				const demo = (window as unknown as { tureenDemo: { client?: { peerId?: string }; chat?: unknown } }).tureenDemo;
				return demo.chat ? (demo.client?.peerId ?? '') : '';
			}),
			(peerId) => peerId !== '',
			{ what: 'the page to join and open its chat channel', timeoutMs: 30_000 },
		);
		peerIds.set(page, id);
	}
	// Everyone sees both others' video before the tests start.
	for (const page of [alice, bob, carol]) {
		await pollUntil(() => videoStats(page), (s) => s.length === 2 && s.every((v) => v.framesDecoded > 0), {
			what: 'decoded video from both other pages',
			timeoutMs: 30_000,
		});
	}
});

after(async () => {
	await speakingBrowser?.close();
	await silentBrowser?.close();
	await tureen?.close();
	if (audioDir) rmSync(audioDir, { recursive: true, force: true });
});

function peerId(page: Page): string {
	const id = peerIds.get(page);
	assert.ok(id, 'page joined');
	return id;
}

/** The camera tile's state attributes of `of` as `on` shows it. */
function tileState(on: Page, of: Page): Promise<{ mic: string; camera: string; speaking: boolean; name: string } | undefined> {
	return on.evaluate((id) => {
		const tile = document.querySelector<HTMLElement>(`#grid .tile[data-peer-id="${id}"][data-source="camera"]`);
		if (!tile) return undefined;
		return {
			mic: tile.dataset.mic ?? '',
			camera: tile.dataset.camera ?? '',
			speaking: tile.classList.contains('speaking'),
			name: tile.querySelector('.name')?.textContent ?? '',
		};
	}, peerId(of));
}

function chatLog(page: Page): Promise<{ peerId: string; seq: number; text: string }[]> {
	return page.$$eval('#chat-log li', (items) =>
		items.map((li) => ({
			peerId: (li as HTMLElement).dataset.peerId ?? '',
			seq: Number((li as HTMLElement).dataset.seq),
			text: li.querySelector('.text')?.textContent ?? '',
		})),
	);
}

async function sendChat(page: Page, text: string): Promise<void> {
	if (!(await page.isVisible('#chat-input'))) await page.click('#chat-button');
	await page.fill('#chat-input', text);
	await page.press('#chat-input', 'Enter');
}

test('active speaker: the page playing a tone becomes activeSpeaker on the other pages', async () => {
	for (const page of [bob, carol]) {
		const state = await pollUntil(() => tileState(page, alice), (s) => s?.speaking === true, {
			what: "Alice's tile highlighted as the active speaker",
			timeoutMs: 30_000,
		});
		assert.equal(state?.name, 'Alice');
		const highlighted = await page.$$eval('.tile.speaking', (tiles) => tiles.map((t) => (t as HTMLElement).dataset.peerId));
		assert.deepEqual(highlighted, [peerId(alice)], 'only the speaking page is highlighted');
	}
	// The speaker sees itself highlighted too.
	await pollUntil(() => alice.evaluate(() => document.getElementById('local-tile')?.classList.contains('speaking') ?? false), Boolean, {
		what: "Alice's own tile highlighted",
	});
});

test('chat over data channels: messages from one page reach both others in order; an oversize message gets a typed error', async () => {
	const texts = ['first', 'second', 'third: ünïcödé ✓', 'fourth'];
	for (const text of texts) await sendChat(alice, text);
	for (const page of [bob, carol]) {
		const log = await pollUntil(() => chatLog(page), (l) => l.length >= texts.length, { what: "Alice's chat messages" });
		assert.deepEqual(
			log,
			texts.map((text, seq) => ({ peerId: peerId(alice), seq, text })),
			'every message, from Alice, in the order sent',
		);
		// They came over the receive transport's data channels, not the signalling socket
		// (polled: Chromium's stats lag the messages themselves by a moment).
		await pollUntil(
			() => page.evaluate(async () => {
				const client = (window as unknown as { tureenDemo: { client: { recvTransport: { getStats(): Promise<RTCStatsReport> } } } }).tureenDemo.client;
				let received = 0;
				(await client.recvTransport.getStats()).forEach((s: { type: string; messagesReceived?: number }) => {
					if (s.type === 'data-channel') received += s.messagesReceived ?? 0;
				});
				return received;
			}),
			(received) => received >= texts.length,
			{ what: 'data channel messages counted in the receive transport stats' },
		);
	}

	// Over the server's limit: refused on the page with a typed error, and never sent.
	await sendChat(alice, 'x'.repeat(DATA_MAX_MESSAGE_BYTES + 1));
	const error = await pollUntil(
		() => alice.$eval('#chat-error', (e) => ({ code: (e as HTMLElement).dataset.code ?? '', text: e.textContent ?? '' })),
		(e) => e.code !== '',
		{ what: 'the chat error line' },
	);
	assert.equal(error.code, 'MESSAGE_TOO_LARGE');
	assert.match(error.text, new RegExp(`limited to ${DATA_MAX_MESSAGE_BYTES} bytes`));
	const thrown = await alice.evaluate((size) => {
		const chat = (window as unknown as { tureenDemo: { chat: { send(text: string): unknown } } }).tureenDemo.chat;
		try {
			chat.send('y'.repeat(size));
			return undefined;
		} catch (e) {
			const { name, code, details } = e as { name: string; code: string; details: unknown };
			return { name, code, details };
		}
	}, DATA_MAX_MESSAGE_BYTES);
	assert.equal(thrown?.name, 'ChatError');
	assert.equal(thrown?.code, 'MESSAGE_TOO_LARGE');
	assert.equal((thrown?.details as { maxBytes: number }).maxBytes, DATA_MAX_MESSAGE_BYTES);

	// The next message still arrives, right after the others: nothing oversize got through.
	await sendChat(bob, 'hello from Bob');
	await pollUntil(() => chatLog(carol), (l) => l.length === texts.length + 1, { what: "Bob's message on Carol's page" });
	const last = (await chatLog(carol)).at(-1);
	assert.deepEqual(last, { peerId: peerId(bob), seq: 0, text: 'hello from Bob' });
	// Polled too: Bob's message reaches Alice's page on its own data channel, not with Carol's.
	await pollUntil(() => chatLog(alice), (l) => l.length === texts.length + 1, { what: "Alice's own messages and Bob's on her page" });
});

test('screen share and mute show on the other page', async () => {
	assert.equal((await tileState(bob, alice))?.mic, 'on', 'Alice starts unmuted');
	await alice.click('#screen-button');
	await alice.click('#mic-button');

	const screen = await pollUntil(
		() => bob.evaluate(async (id) => {
			const demo = (window as unknown as {
				tureenDemo: { client: { remoteTracks: { peerId: string; source: string; consumer: { getStats(): Promise<RTCStatsReport> } }[] } };
			}).tureenDemo;
			const remote = demo.client.remoteTracks.find((t) => t.peerId === id && t.source === 'screen');
			if (!remote) return undefined;
			let framesDecoded = 0;
			let frameWidth = 0;
			(await remote.consumer.getStats()).forEach((s: { type: string; framesDecoded?: number; frameWidth?: number }) => {
				if (s.type !== 'inbound-rtp') return;
				framesDecoded += s.framesDecoded ?? 0;
				frameWidth = Math.max(frameWidth, s.frameWidth ?? 0);
			});
			const tile = document.querySelector(`#grid .tile[data-peer-id="${id}"][data-source="screen"]`);
			return { framesDecoded, frameWidth, label: tile?.querySelector('.name')?.textContent ?? '' };
		}, peerId(alice)),
		(s) => s !== undefined && s.framesDecoded > 0,
		{ what: "Alice's screen decoded on Bob's page", timeoutMs: 30_000 },
	);
	assert.equal(screen?.label, "Alice's screen");
	console.log(`screen share on the other page: ${screen?.frameWidth} px wide, ${screen?.framesDecoded} frames decoded`);

	// A screen share is one encoding (no simulcast layers), tagged as a screen on the server.
	const published = await alice.evaluate(() => {
		const client = (window as unknown as { tureenDemo: { client: { publishedProducers: { source: string; encodings: number }[] } } }).tureenDemo.client;
		return client.publishedProducers;
	});
	assert.deepEqual(published.find((p) => p.source === 'screen')?.encodings, 1);

	const muted = await pollUntil(() => tileState(bob, alice), (s) => s?.mic === 'off', { what: "Alice's tile muted on Bob's page" });
	assert.equal(muted?.camera, 'on', 'muting the microphone leaves the camera on');
	assert.equal((await tileState(carol, alice))?.mic, 'off');
});

test("the demo's controls drive the call: camera off, unmute, stop sharing and leave show on the other pages; screenshot with chat open", async () => {
	await alice.click('#camera-button');
	await pollUntil(() => tileState(bob, alice), (s) => s?.camera === 'off', { what: "Alice's camera off on Bob's page" });
	assert.equal(await bob.isVisible(`#grid .tile[data-peer-id="${peerId(alice)}"][data-source="camera"] .avatar`), true, 'her initials show instead');
	await alice.click('#camera-button');
	await pollUntil(() => tileState(bob, alice), (s) => s?.camera === 'on', { what: "Alice's camera back on Bob's page" });

	// The screenshot: Bob's view of the call, chat open, Alice sharing (and muted) and speaking.
	await sendChat(bob, 'Looks good, Alice!');
	await pollUntil(() => chatLog(alice), (l) => l.at(-1)?.text === 'Looks good, Alice!', { what: "Bob's reply on Alice's page" });
	await new Promise((resolve) => setTimeout(resolve, 2500)); // one quality badge refresh
	mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
	await bob.screenshot({ path: SCREENSHOT });
	console.log(`meeting screenshot: ${SCREENSHOT}`);

	await alice.click('#mic-button');
	await pollUntil(() => tileState(carol, alice), (s) => s?.mic === 'on', { what: "Alice unmuted on Carol's page" });
	await alice.click('#screen-button');
	await pollUntil(
		() => carol.evaluate((id) => document.querySelector(`#grid .tile[data-peer-id="${id}"][data-source="screen"]`) !== null, peerId(alice)),
		(present) => !present,
		{ what: "Alice's screen tile gone on Carol's page" },
	);

	await alice.click('#leave-button');
	for (const page of [bob, carol]) {
		await pollUntil(() => tileState(page, alice), (s) => s === undefined, { what: "Alice's tile gone after she left" });
	}
	assert.equal(await alice.isVisible('#join-form'), true, 'Alice can join again');
	assert.match((await alice.textContent('#status')) ?? '', /left room/);
});
