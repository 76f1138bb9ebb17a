// TURN through a real coturn (Debian's turnserver, started here on loopback
// with the config docs/turn.md ships): the credentials Tureen mints work,
// expired or forged ones are refused, and the relay reaches the media
// server's address and nothing else on loopback.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { ResponseData } from '../../src/protocol/messages.ts';
import type { Tureen } from '../../src/server.ts';
import { mintIceServer } from '../../src/services/turn/credentials.ts';
import { probeTurn } from '../../src/services/turn/turnProbe.ts';
import { startCoturn, type TestCoturn } from '../support/coturn.ts';
import { pollUntil } from '../support/demoPage.ts';
import { newNodeClient } from '../support/nodeClient.ts';
import { startTestServer } from '../support/server.ts';
import { NoTurnServerError } from '../../client/tureenClient.ts';
import { connect } from '../support/wsClient.ts';

const SECRET = 'integration-turn-secret-0123';
/** The media server listens here; coturn and everything else on 127.0.0.1. */
const MEDIA_IP = '127.0.0.2';
let coturn: TestCoturn;

before(async () => {
	coturn = await startCoturn({ secret: SECRET, allowedPeerIps: [MEDIA_IP], tls: true, relayPorts: { min: 46200, max: 46299 } });
});

after(async () => {
	await coturn?.stop();
});

function urls(): { udp: string; tcp: string; tls: string } {
	return {
		udp: `turn:127.0.0.1:${coturn.port}?transport=udp`,
		tcp: `turn:127.0.0.1:${coturn.port}?transport=tcp`,
		tls: `turns:127.0.0.1:${coturn.tlsPort}?transport=tcp`,
	};
}

describe('coturn with the shipped config', () => {
	test('minted credentials allocate over UDP, TCP and TLS, and may relay to the media server address', async () => {
		const ice = mintIceServer({ urls: [], secret: SECRET, ttlSeconds: 600 }, 'peer-ok', Date.now());
		for (const url of Object.values(urls())) {
			const result = await probeTurn(url, { username: ice.username, password: ice.credential, peer: { ip: MEDIA_IP, port: 40000 }, tls: { ca: coturn.certPem! } });
			assert.equal(result.ok, true, `${url}: ${JSON.stringify(result)}`);
			assert.ok(result.ok && result.relayed?.port, 'a relayed address');
			assert.equal(result.ok && result.permission, 'granted', `${url}: permission to ${MEDIA_IP}`);
		}
	});

	test('expired credentials are refused (401)', async () => {
		const expired = mintIceServer({ urls: [], secret: SECRET, ttlSeconds: 60 }, 'peer-late', Date.now() - 120_000);
		const result = await probeTurn(urls().udp, { username: expired.username, password: expired.credential });
		assert.deepEqual([result.ok, !result.ok && result.errorCode], [false, 401]);
	});

	test('forged credentials are refused (401): a wrong secret, or a username changed after minting', async () => {
		const forged = mintIceServer({ urls: [], secret: 'not-the-secret-of-coturn', ttlSeconds: 600 }, 'peer-x', Date.now());
		const wrongSecret = await probeTurn(urls().udp, { username: forged.username, password: forged.credential });
		assert.deepEqual([wrongSecret.ok, !wrongSecret.ok && wrongSecret.errorCode], [false, 401]);
		const real = mintIceServer({ urls: [], secret: SECRET, ttlSeconds: 600 }, 'peer-y', Date.now());
		const longer = `${Number(real.username.split(':')[0]) + 86_400}:peer-y`;
		const stretched = await probeTurn(urls().tcp, { username: longer, password: real.credential });
		assert.deepEqual([stretched.ok, !stretched.ok && stretched.errorCode], [false, 401]);
	});

	test('a relay to any other loopback address or port, or a private address, is refused (403 on CreatePermission)', async () => {
		const ice = mintIceServer({ urls: [], secret: SECRET, ttlSeconds: 600 }, 'peer-probe', Date.now());
		for (const peer of [
			{ ip: '127.0.0.1', port: coturn.port },
			{ ip: '127.0.0.1', port: 6379 },
			{ ip: '127.0.0.3', port: 40000 },
			{ ip: '10.0.0.1', port: 22 },
			{ ip: '192.168.1.1', port: 80 },
			{ ip: '169.254.169.254', port: 80 },
		]) {
			const result = await probeTurn(urls().udp, { username: ice.username, password: ice.credential, peer });
			assert.equal(result.ok && result.permission, 'refused', `relay to ${peer.ip}:${peer.port}: ${JSON.stringify(result)}`);
		}
	});
});

describe('Tureen hands TURN credentials in the join answer', () => {
	let tureen: Tureen;
	let baseUrl: string;

	before(async () => {
		({ tureen, baseUrl } = await startTestServer({
			MEDIASOUP_WORKER_COUNT: '1',
			RTC_BASE_PORT: '47400',
			WEBRTC_LISTEN_IP: MEDIA_IP,
			TURN_URLS: Object.values(urls()).join(','),
			TURN_SECRET: SECRET,
			TURN_CREDENTIAL_TTL_S: '900',
		}));
	});

	after(async () => {
		await tureen?.close();
	});

	test('iceServers: every TURN URL, username expiry:peerId a TTL from now, and coturn accepts them', async () => {
		const ws = await connect(`${baseUrl.replace(/^http/, 'ws')}/ws`);
		try {
			const { rtpCapabilities } = (await ws.requestOk('getRouterRtpCapabilities', { roomId: 'turn-join' })) as { rtpCapabilities: Record<string, unknown> };
			const before = Math.floor(Date.now() / 1000);
			const joined = (await ws.requestOk('join', { roomId: 'turn-join', displayName: 'tester', rtpCapabilities })) as ResponseData['join'];
			const [server, ...rest] = joined.iceServers ?? [];
			assert.equal(rest.length, 0);
			assert.ok(server);
			assert.deepEqual(server.urls, Object.values(urls()));
			const [expiry, user] = server.username.split(':');
			assert.equal(user, joined.peerId);
			assert.ok(Number(expiry) >= before + 900 && Number(expiry) <= before + 902, `expiry ${expiry} is ~900 s after ${before}`);
			const result = await probeTurn(urls().tls, { username: server.username, password: server.credential, peer: { ip: MEDIA_IP, port: 47400 }, tls: { ca: coturn.certPem! } });
			assert.equal(result.ok && result.permission, 'granted', JSON.stringify(result));
		} finally {
			ws.close();
		}
	});
});

test('health: at start the server allocates on each TURN URL; /ready details and /metrics say which answer', async () => {
	const dead = 'turn:127.0.0.1:9?transport=tcp';
	const { tureen, baseUrl } = await startTestServer({
		MEDIASOUP_WORKER_COUNT: '1',
		RTC_BASE_PORT: '47510',
		WEBRTC_LISTEN_IP: MEDIA_IP,
		TURN_URLS: [urls().udp, urls().tcp, urls().tls, dead].join(','),
		TURN_SECRET: SECRET,
	});
	try {
		type Ready = { status: string; turn: { status: string; servers: { url: string; state: string; error?: string }[] } };
		const ready = await pollUntil(
			async () => {
				const response = await fetch(`${baseUrl}/ready`);
				return { code: response.status, body: (await response.json()) as Ready };
			},
			(r) => r.body.turn.status !== 'checking',
			{ what: 'the TURN check to end', timeoutMs: 15_000 },
		);
		assert.equal(ready.code, 200, 'a TURN server down does not make the node unready');
		assert.equal(ready.body.status, 'ready');
		assert.equal(ready.body.turn.status, 'partial');
		const state = Object.fromEntries(ready.body.turn.servers.map((s) => [s.url, s.state]));
		assert.deepEqual(state, { [urls().udp]: 'up', [urls().tcp]: 'up', [urls().tls]: 'down', [dead]: 'down' });
		// The server checks TURN/TLS certificates as browsers do: the test's self-signed one is not trusted.
		assert.match(ready.body.turn.servers.find((s) => s.url === urls().tls)!.error ?? '', /certificate/i);
		const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
		assert.match(metrics, new RegExp(`tureen_turn_server_up\\{url="${urls().udp.replace(/[?.]/g, '\\$&')}"\\} 1`));
		assert.match(metrics, new RegExp(`tureen_turn_server_up\\{url="${dead.replace(/[?.]/g, '\\$&')}"\\} 0`));
	} finally {
		await tureen.close();
	}
});

test('a client forced to relay fails with NoTurnServerError when the server has no TURN', async () => {
	const { tureen, baseUrl } = await startTestServer({ MEDIASOUP_WORKER_COUNT: '1', RTC_BASE_PORT: '47500' });
	const client = newNodeClient(baseUrl, undefined, { iceTransportPolicy: 'relay' });
	try {
		await assert.rejects(client.join({ roomId: 'no-turn', displayName: 'x' }), NoTurnServerError);
	} finally {
		await client.leave().catch(() => undefined);
		await tureen.close();
	}
});
