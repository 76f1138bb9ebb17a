// What the signalling-input tests share: a real server (one real mediasoup
// worker, MAX_PEERS_PER_ROOM=2) started by the suite, raw `ws` clients on it,
// and the assertions on error and ok replies.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import type { ResponseMessage, SignallingErrorCode } from '../../src/protocol/messages.ts';
import type { Tureen } from '../../src/server.ts';
import { startTestServer } from './server.ts';
import { connect, type OkResponse, type WsTestClient } from './wsClient.ts';

export const WS_MAX_MESSAGE_BYTES = 65536;
export const ROOM_IDLE_TIMEOUT_MS = 500;

export type JoinData = { peerId: string; roomId: string; workerId: number; peers: { peerId: string; displayName: string }[] };
type TransportData = { transportId: string };

export function assertError(response: ResponseMessage, code: SignallingErrorCode, id?: number | null): void {
	assert.equal(response.ok, false, `expected ${code}, got ${JSON.stringify(response)}`);
	if (response.ok) return;
	assert.equal(response.error.code, code, JSON.stringify(response));
	assert.equal(typeof response.error.message, 'string');
	assert.ok(response.error.message.length > 0);
	if (id !== undefined) assert.equal(response.id, id);
}

export function assertOk(response: ResponseMessage): OkResponse {
	assert.equal(response.ok, true, `expected ok, got ${JSON.stringify(response)}`);
	return response as OkResponse;
}

export async function pollUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (let attempt = 0; attempt < 1000; attempt++) {
		if (await check()) return;
		if (Date.now() > deadline) break;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	throw new Error(`timed out waiting for ${what}`);
}

/** The suite's server and the ways its tests reach it; call at the top of a describe. */
export function inputServer(rtcBasePort: number) {
	const state = { tureen: undefined as unknown as Tureen, baseUrl: '', wsUrl: '' };
	const clients = new Set<WsTestClient>();

	const open = async (): Promise<WsTestClient> => {
		const client = await connect(state.wsUrl);
		clients.add(client);
		return client;
	};

	const rtpCapabilities = async (client: WsTestClient, roomId: string): Promise<Record<string, unknown>> => {
		const data = assertOk(await client.request('getRouterRtpCapabilities', { roomId })).data as { rtpCapabilities: Record<string, unknown> };
		return data.rtpCapabilities;
	};

	const join = async (client: WsTestClient, roomId: string, displayName: string): Promise<JoinData> => {
		const caps = await rtpCapabilities(client, roomId);
		return assertOk(await client.request('join', { roomId, displayName, rtpCapabilities: caps })).data as JoinData;
	};

	const createTransport = async (client: WsTestClient, direction: 'send' | 'recv'): Promise<string> => {
		const data = assertOk(await client.request('createWebRtcTransport', { direction })).data as TransportData;
		assert.equal(typeof data.transportId, 'string');
		return data.transportId;
	};

	before(async () => {
		({ tureen: state.tureen, baseUrl: state.baseUrl } = await startTestServer({
			MEDIASOUP_WORKER_COUNT: '1',
			RTC_BASE_PORT: String(rtcBasePort),
			MAX_PEERS_PER_ROOM: '2',
			ROOM_IDLE_TIMEOUT_MS: String(ROOM_IDLE_TIMEOUT_MS),
		}));
		state.wsUrl = `${state.baseUrl.replace(/^http/, 'ws')}/ws`;
		assert.equal(state.tureen.config.wsMaxMessageBytes, WS_MAX_MESSAGE_BYTES);
	});

	after(async () => {
		await Promise.all([...clients].map((c) => c.close()));
		await state.tureen?.close();
	});

	return {
		get tureen(): Tureen {
			return state.tureen;
		},
		get baseUrl(): string {
			return state.baseUrl;
		},
		open,
		rtpCapabilities,
		join,
		createTransport,
	};
}
