// One lane of sockets sending generated frames and checking each reply; the victims whose ids they try.
import type { Method, ResponseMessage } from '../../../src/protocol/messages.ts';
import type { Tureen } from '../../../src/server.ts';
import { type WsTestClient, connect } from '../wsClient.ts';
import { type LaneState, NEVER_FOR_VALID, type Stats, type Victims, bump, describeFrame, expectationFor, fail, opusRtpParameters } from './oracle.ts';
import { Generator } from './generator.ts';
import { FRAMES_PER_LANE, JOINS_PER_SOCKET, PERMITTED_CLOSES, REPLY_TIMEOUT_MS, REQUESTS_PER_SOCKET, SEED } from './settings.ts';
import { Rng } from './values.ts';

export function resetState(state: LaneState): void {
	state.client = undefined;
	state.setup = [];
	state.requestsOnSocket = 0;
	state.joinsOnSocket = 0;
	state.joined = false;
	state.send = [];
	state.recv = [];
	state.producers = [];
	state.consumers = [];
	state.dataProducers = [];
}

/** Learns the lane's own ids from successful replies and notifications. */
export function learn(state: LaneState, method: Method | undefined, data: unknown, response: ResponseMessage, stats: Stats): void {
	for (const message of state.client?.takeBuffered() ?? []) {
		if (!('notification' in message)) {
			fail(stats, `a reply nobody asked for: ${JSON.stringify(message).slice(0, 200)}`);
			continue;
		}
		if (message.notification === 'roomClosed' || message.notification === 'roomMoved') {
			state.send = [];
			state.recv = [];
			state.producers = [];
			state.consumers = [];
			state.dataProducers = [];
			if (message.notification === 'roomClosed') state.joined = false;
		}
	}
	if (!response.ok || !method) return;
	const result = response.data as Record<string, unknown>;
	switch (method) {
		case 'join':
			state.joined = true;
			break;
		case 'createWebRtcTransport':
			((data as { direction: string }).direction === 'send' ? state.send : state.recv).push(String(result.transportId));
			break;
		case 'produce':
			state.producers.push(String(result.producerId));
			break;
		case 'consume':
			state.consumers.push(String(result.consumerId));
			break;
		case 'closeProducer':
			state.producers = state.producers.filter((id) => id !== (data as { producerId: string }).producerId);
			break;
		case 'produceData':
			state.dataProducers.push(String(result.dataProducerId));
			break;
		case 'closeDataProducer':
			state.dataProducers = state.dataProducers.filter((id) => id !== (data as { dataProducerId: string }).dataProducerId);
			break;
		case 'leave':
			state.joined = false;
			state.send = [];
			state.recv = [];
			state.producers = [];
			state.consumers = [];
			state.dataProducers = [];
			break;
		default:
			break;
	}
}

export async function closeLaneSocket(state: LaneState, stats: Stats): Promise<void> {
	const client = state.client;
	if (!client) return;
	await client.close();
	checkClientAfterUse(client, stats);
	resetState(state);
}

export function checkClientAfterUse(client: WsTestClient, stats: Stats): void {
	for (const { text, problem } of client.invalidFrames) fail(stats, `malformed server frame (${problem}): ${text}`);
	stats.notifications += client.notifications.length;
	for (const message of client.takeBuffered()) {
		if ('ok' in message) fail(stats, `a reply nobody asked for: ${JSON.stringify(message).slice(0, 200)}`);
	}
}

export const RTC_BASE_PORT = 56000;
export const RTC_PORTS = 2 * 1000;
export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
export const isId = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 64;

/**
 * Why an ok reply is wrong for its request, by hand from the protocol
 * (src/protocol/messages.ts ResponseData) and the lane's own state; undefined when right.
 */
export function successProblem(method: Method, data: Record<string, unknown>, result: unknown, state: LaneState, victims: Victims): string | undefined {
	if (!isObject(result)) return 'has no data object';
	const victimIds = new Set([...victims.peerIds, ...victims.transports, ...victims.producers, ...victims.consumers]);
	switch (method) {
		case 'getRouterRtpCapabilities':
			if (!isObject(result.rtpCapabilities) || !Array.isArray(result.rtpCapabilities.codecs) || result.rtpCapabilities.codecs.length === 0) return 'lacks codecs';
			return result.workerId === 0 || result.workerId === 1 ? undefined : 'names no worker of the two';
		case 'join': {
			if (!isId(result.peerId) || victimIds.has(result.peerId)) return 'lacks a fresh peerId';
			if (result.roomId !== data.roomId) return 'names another room';
			if (result.workerId !== 0 && result.workerId !== 1) return 'names no worker of the two';
			if (!Array.isArray(result.peers) || !Array.isArray(result.producers)) return 'lacks peers or producers';
			const peerIds = result.peers.map((p) => (isObject(p) ? p.peerId : undefined));
			if (data.roomId === victims.roomId && !victims.peerIds.every((id) => peerIds.includes(id))) return 'does not list the victims';
			return peerIds.includes(result.peerId) ? 'lists the joiner among the others' : undefined;
		}
		case 'createWebRtcTransport': {
			if (!isId(result.transportId) || victimIds.has(result.transportId)) return 'lacks a fresh transportId';
			const candidates = result.iceCandidates;
			if (!Array.isArray(candidates) || candidates.length === 0) return 'has no ICE candidates';
			const ports = candidates.map((c) => (isObject(c) ? Number(c.port) : NaN));
			if (!ports.every((port) => port >= RTC_BASE_PORT && port < RTC_BASE_PORT + RTC_PORTS)) return `has ports outside the RTC range: ${ports.join(',')}`;
			if (!isObject(result.iceParameters) || typeof result.iceParameters.usernameFragment !== 'string') return 'lacks ICE parameters';
			return isObject(result.dtlsParameters) && Array.isArray(result.dtlsParameters.fingerprints) ? undefined : 'lacks DTLS fingerprints';
		}
		case 'restartIce':
			if (!state.send.includes(String(data.transportId)) && !state.recv.includes(String(data.transportId))) return 'for a transport the lane does not own';
			return isObject(result.iceParameters) && typeof result.iceParameters.usernameFragment === 'string' ? undefined : 'lacks ICE parameters';
		case 'produce':
			if (!state.send.includes(String(data.transportId))) return 'on a transport that is not the lane\'s send transport';
			return isId(result.producerId) && !victimIds.has(result.producerId) ? undefined : 'lacks a fresh producerId';
		case 'consume': {
			if (!state.recv.includes(String(data.transportId))) return 'on a transport that is not the lane\'s receive transport';
			if (!isId(result.consumerId) || victimIds.has(result.consumerId)) return 'lacks a fresh consumerId';
			if (result.producerId !== data.producerId) return 'for another producer';
			const victim = victims.producers.indexOf(String(data.producerId));
			if (victim >= 0 && result.peerId !== victims.peerIds[victim]) return 'names the wrong producing peer';
			if (result.kind !== 'audio' && result.kind !== 'video') return 'has no kind';
			return isObject(result.rtpParameters) && typeof result.paused === 'boolean' ? undefined : 'lacks rtpParameters or paused';
		}
		case 'produceData':
			if (!state.send.includes(String(data.transportId))) return 'on a transport that is not the lane\'s send transport';
			return isId(result.dataProducerId) && !victimIds.has(result.dataProducerId) ? undefined : 'lacks a fresh dataProducerId';
		case 'consumeData':
			if (!state.recv.includes(String(data.transportId))) return 'on a transport that is not the lane\'s receive transport';
			if (!isId(result.dataConsumerId) || victimIds.has(result.dataConsumerId)) return 'lacks a fresh dataConsumerId';
			if (result.dataProducerId !== data.dataProducerId) return 'for another data producer';
			return isObject(result.sctpStreamParameters) && typeof result.label === 'string' ? undefined : 'lacks sctpStreamParameters or label';
		case 'closeDataProducer':
			if (!state.dataProducers.includes(String(data.dataProducerId))) return `closed ${String(data.dataProducerId)}, which the lane does not own`;
			return Object.keys(result).length === 0 ? undefined : 'is not {}';
		case 'connectWebRtcTransport':
		case 'closeProducer':
		case 'pauseProducer':
		case 'resumeProducer':
		case 'resumeConsumer': {
			const id = String(data.transportId ?? data.producerId ?? data.consumerId);
			const own = [...state.send, ...state.recv, ...state.producers, ...state.consumers];
			if (!own.includes(id)) return `acted on ${id}, which the lane does not own`;
			return Object.keys(result).length === 0 ? undefined : 'is not {}';
		}
		case 'leave':
			return Object.keys(result).length === 0 ? undefined : 'is not {}';
	}
}

export async function runLane(lane: number, wsUrl: string, victims: Victims, rtpCapabilities: Record<string, unknown>, stats: Stats): Promise<void> {
	const rng = new Rng((SEED ^ Math.imul(lane + 1, 0x9e3779b1)) >>> 0);
	const generator = new Generator(rng, lane, victims, rtpCapabilities);
	const state: LaneState = { client: undefined, setup: [], requestsOnSocket: 0, joinsOnSocket: 0, joined: false, send: [], recv: [], producers: [], consumers: [], dataProducers: [] };

	for (let i = 0; i < FRAMES_PER_LANE; i++) {
		const frame = generator.next(state);
		let expectation = expectationFor(frame, victims, state.joined);
		if (
			state.client &&
			expectation.kind === 'reply' &&
			((expectation.takesRequest && state.requestsOnSocket >= REQUESTS_PER_SOCKET) || (expectation.takesJoin && state.joinsOnSocket >= JOINS_PER_SOCKET))
		) {
			await closeLaneSocket(state, stats);
		}
		if (!state.client) {
			state.client = await connect(wsUrl);
			stats.sockets++;
			generator.planSetup(state);
			// The frame now goes to a fresh socket that has joined nothing.
			expectation = expectationFor(frame, victims, state.joined);
		}
		const client = state.client;
		if (expectation.kind === 'reply') {
			if (expectation.takesRequest) state.requestsOnSocket++;
			if (expectation.takesJoin) state.joinsOnSocket++;
		}
		stats.wsFrames++;
		client.sendRaw(frame.payload, { binary: frame.binary });

		if (expectation.kind === 'close') {
			try {
				const { code } = await client.waitForClose(REPLY_TIMEOUT_MS);
				bump(stats.closes, String(code));
				if (!expectation.codes.includes(code)) fail(stats, `closed with ${code}, expected ${expectation.codes.join('/')}: ${describeFrame(frame)}`);
				else stats.answered++;
			} catch (error) {
				fail(stats, `${(error as Error).message}: ${describeFrame(frame)}`);
			}
			checkClientAfterUse(client, stats);
			await client.close();
			resetState(state);
			continue;
		}

		let response: ResponseMessage;
		try {
			response = await client.nextResponse(REPLY_TIMEOUT_MS);
		} catch (error) {
			const closeInfo = client.closeInfo;
			if (closeInfo) {
				bump(stats.closes, String(closeInfo.code));
				if (!(closeInfo.code in PERMITTED_CLOSES)) fail(stats, `unexpected close ${closeInfo.code} ${closeInfo.reason}: ${describeFrame(frame)}`);
				else fail(stats, `closed (${closeInfo.code}) instead of replying: ${describeFrame(frame)}`);
			} else {
				fail(stats, `${(error as Error).message}: ${describeFrame(frame)}`);
			}
			checkClientAfterUse(client, stats);
			await client.close();
			resetState(state);
			continue;
		}

		stats.answered++;
		bump(stats.replies, response.ok ? 'ok' : response.error.code);
		if (expectation.method && !expectation.codes) bump((stats.byMethod[expectation.method] ??= {}), response.ok ? 'ok' : response.error.code);
		if (response.id !== expectation.id) {
			fail(stats, `reply id ${response.id}, expected ${expectation.id}: ${describeFrame(frame)} -> ${JSON.stringify(response).slice(0, 200)}`);
		}
		if (expectation.codes) {
			if (response.ok || !expectation.codes.includes(response.error.code)) {
				fail(stats, `expected ${expectation.codes.join('/')}: ${describeFrame(frame)} -> ${JSON.stringify(response).slice(0, 300)}`);
			} else if (expectation.foreign) {
				stats.foreignRefused++;
			}
		} else if (!response.ok && NEVER_FOR_VALID.has(response.error.code)) {
			fail(stats, `${response.error.code} for a valid ${expectation.method}: ${describeFrame(frame)} -> ${JSON.stringify(response).slice(0, 300)}`);
		} else if (response.ok && expectation.method) {
			const problem = successProblem(expectation.method, expectation.data as Record<string, unknown>, response.data, state, victims);
			if (problem) fail(stats, `ok ${expectation.method} reply ${problem}: ${describeFrame(frame)} -> ${JSON.stringify(response).slice(0, 300)}`);
		}
		learn(state, expectation.method, expectation.data, response, stats);

		if (!response.ok && (response.error.code === 'UNAUTHORIZED' || response.error.code === 'FORBIDDEN')) {
			const { code } = await client.waitForClose(REPLY_TIMEOUT_MS).catch(() => ({ code: -1 }));
			bump(stats.closes, String(code));
			if (code !== 4401) fail(stats, `no 4401 close after ${response.error.code}`);
			checkClientAfterUse(client, stats);
			resetState(state);
		}
	}
	await closeLaneSocket(state, stats);
}

/** Two well-behaved peers (audio producers, send and recv transports, one consumer) whose ids others try to use. */
export async function setUpVictims(wsUrl: string, roomId: string, clients: WsTestClient[]): Promise<{ victims: Victims; rtpCapabilities: Record<string, unknown>; v: WsTestClient[] }> {
	const v = [await connect(wsUrl), await connect(wsUrl)];
	clients.push(...v);
	const caps = (await v[0]!.requestOk('getRouterRtpCapabilities', { roomId })) as { rtpCapabilities: Record<string, unknown> };
	const rtpCapabilities = caps.rtpCapabilities;
	const victims: Victims = { roomId, peerIds: [], transports: [], producers: [], consumers: [] };
	for (const [i, client] of v.entries()) {
		const joined = (await client.requestOk('join', { roomId, displayName: `victim ${i}`, rtpCapabilities })) as { peerId: string };
		victims.peerIds.push(joined.peerId);
		for (const direction of ['send', 'recv'] as const) {
			victims.transports.push(((await client.requestOk('createWebRtcTransport', { direction })) as { transportId: string }).transportId);
		}
		const produced = (await client.requestOk('produce', { transportId: victims.transports[i * 2]!, kind: 'audio', rtpParameters: opusRtpParameters(7000 + i) })) as {
			producerId: string;
		};
		victims.producers.push(produced.producerId);
	}
	const consumed = (await v[1]!.requestOk('consume', { producerId: victims.producers[0]!, transportId: victims.transports[3]! })) as { consumerId: string };
	victims.consumers.push(consumed.consumerId);
	return { victims, rtpCapabilities, v };
}

/**
 * Problems with the victims after others tried their ids: every transport,
 * producer and consumer still exists server-side, unpaused, owned by its peer.
 */
export function victimProblems(tureen: Tureen, victims: Victims): string[] {
	const problems: string[] = [];
	const room = tureen.rooms.getRoom(victims.roomId);
	if (!room) return [`room ${victims.roomId} is gone`];
	const [p0, p1] = victims.peerIds.map((id) => room.members.get(id));
	if (!p0 || !p1) return ['a victim is no longer in its room'];
	const expect = (what: string, ok: boolean) => ok || problems.push(what);
	expect('victim 0 lost a transport', [...p0.transports.keys()].sort().join() === victims.transports.slice(0, 2).sort().join());
	expect('victim 1 lost a transport', [...p1.transports.keys()].sort().join() === victims.transports.slice(2, 4).sort().join());
	for (const [i, peer] of [p0, p1].entries()) {
		const producer = peer.producers.get(victims.producers[i]!);
		expect(`victim ${i} lost its producer`, producer !== undefined && !producer.closed);
		expect(`victim ${i}'s producer was paused`, producer?.paused === false);
		expect(`victim ${i} got objects of others`, peer.producers.size === 1);
		for (const transport of peer.transports.values()) expect(`a transport of victim ${i} was connected by someone`, transport.dtlsState === 'new');
	}
	const consumer = p1.consumers.get(victims.consumers[0]!);
	expect('victim 1 lost its consumer', consumer !== undefined && !consumer.closed);
	expect("victim 1's consumer was resumed by someone", consumer?.paused === true);
	return problems;
}
