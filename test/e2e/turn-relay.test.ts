// Calls in real Chromium where both pages send and receive media only
// through a local coturn (iceTransportPolicy 'relay', the demo's ?relay=on):
// TURN over UDP, over TCP, and over TLS with a self-signed certificate the
// test makes. Two pages per call, one call at a time.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import type { Page } from 'playwright-core';

import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startCoturn, type TestCoturn } from '../support/coturn.ts';
import { ONE_ENCODING, openDemo, pollUntil, videoStats } from '../support/demoPage.ts';
import { startTestServer } from '../support/server.ts';

const SECRET = 'e2e-turn-secret-0123456789';
const MEDIA_IP = '127.0.0.2';
const RELAY_PORTS = { min: 46400, max: 46499 };
let coturn: TestCoturn;

before(async () => {
	coturn = await startCoturn({ secret: SECRET, allowedPeerIps: [MEDIA_IP], tls: true, relayPorts: RELAY_PORTS });
});

after(async () => {
	await coturn?.stop();
});

type Pair = { localType: string; relayProtocol: string | undefined; remoteIp: string };

/** The selected ICE candidate pair of the page's receive and send transports. */
function selectedPairs(page: Page): Promise<Pair[]> {
	return page.evaluate(async () => {
		type Stat = { type: string; id: string; selectedCandidatePairId?: string; localCandidateId?: string; remoteCandidateId?: string; candidateType?: string; relayProtocol?: string; address?: string };
		const client = (window as unknown as { tureenDemo: { client: { recvTransport?: { getStats(): Promise<Map<string, Stat>> }; sendTransport?: { getStats(): Promise<Map<string, Stat>> } } } }).tureenDemo.client;
		const pairs: { localType: string; relayProtocol: string | undefined; remoteIp: string }[] = [];
		for (const transport of [client.recvTransport, client.sendTransport]) {
			if (!transport) continue;
			const stats = [...(await transport.getStats()).values()];
			const selectedId = stats.find((s) => s.type === 'transport')?.selectedCandidatePairId;
			const pair = stats.find((s) => s.id === selectedId);
			const local = stats.find((s) => s.id === pair?.localCandidateId);
			const remote = stats.find((s) => s.id === pair?.remoteCandidateId);
			if (local && remote) pairs.push({ localType: local.candidateType ?? '', relayProtocol: local.relayProtocol, remoteIp: remote.address ?? '' });
		}
		return pairs;
	});
}

async function relayedCall(url: string, expectedProtocol: 'udp' | 'tcp' | 'tls', rtcBasePort: number): Promise<void> {
	const { tureen, baseUrl } = await startTestServer({
		MEDIASOUP_WORKER_COUNT: '1',
		RTC_BASE_PORT: String(rtcBasePort),
		WEBRTC_LISTEN_IP: MEDIA_IP,
		TURN_URLS: url,
		TURN_SECRET: SECRET,
		DRAIN_TIMEOUT_MS: '0',
	});
	// One browser per call, closed before the server: closing pages or the server under open relayed calls took a minute.
	// The TURN server's certificate is self-signed: Chromium's TURN/TLS client checks it like any other.
	const browser: TestBrowser = await launchBrowser(['--ignore-certificate-errors']);
	const started = Date.now();
	const pages: Page[] = [];
	try {
		const room = `relay-${expectedProtocol}`;
		pages.push(await openDemo(browser.context, baseUrl, room, 'Ann', { ...ONE_ENCODING, relay: 'on' }));
		pages.push(await openDemo(browser.context, baseUrl, room, 'Ben', { ...ONE_ENCODING, relay: 'on' }));
		for (const page of pages) {
			await pollUntil(() => videoStats(page), (s) => s.length === 1 && s.every((v) => v.framesDecoded > 10), {
				what: `decoded video from the other page over TURN/${expectedProtocol}`,
				timeoutMs: 45_000,
			});
		}
		console.log(`TURN/${expectedProtocol}: both pages decoding ${Date.now() - started} ms after opening`);
		for (const page of pages) {
			const pairs = await selectedPairs(page);
			assert.equal(pairs.length, 2, 'send and receive transports both connected');
			for (const pair of pairs) {
				assert.equal(pair.localType, 'relay', `the page sends through TURN: ${JSON.stringify(pair)}`);
				assert.equal(pair.relayProtocol, expectedProtocol, `to the TURN server over ${expectedProtocol}`);
				assert.equal(pair.remoteIp, MEDIA_IP, 'to the media server');
			}
		}
	} finally {
		const closing = Date.now();
		await browser.close();
		const browserClosed = Date.now();
		await tureen.close();
		console.log(`TURN/${expectedProtocol}: browser closed in ${browserClosed - closing} ms, server in ${Date.now() - browserClosed} ms`);
	}
}

test('a call through coturn with iceTransportPolicy relay (TURN over UDP): both pages decode each other', async () => {
	await relayedCall(`turn:127.0.0.1:${coturn.port}?transport=udp`, 'udp', 47600);
});

test('TURN over TCP carries a call', async () => {
	await relayedCall(`turn:127.0.0.1:${coturn.port}?transport=tcp`, 'tcp', 47610);
});

test('TURN over TLS (self-signed certificate made by the test) carries a call', async () => {
	await relayedCall(`turns:127.0.0.1:${coturn.tlsPort}?transport=tcp`, 'tls', 47620);
});
