// The frames a lane sends: random JSON, mutations of valid requests, other peers' ids, raw bytes.
import { METHODS, type Method } from '../../../src/protocol/messages.ts';
import { type Frame, type LaneState, SETUP, type SetupStep, type Victims, opusRtpParameters, vp8RtpParameters } from './oracle.ts';
import { HARD_FRAME_LIMIT, WS_MAX_MESSAGE_BYTES } from './settings.ts';
import { KEY_POOL, WEIRD_NUMBERS, deepNesting, randomString, randomValue, retype, uuidLike, type Rng } from './values.ts';

export class Generator {
	readonly #rng: Rng;
	readonly #lane: number;
	readonly #victims: Victims;
	readonly #rtpCapabilities: Record<string, unknown>;
	#nextId = 1;

	constructor(rng: Rng, lane: number, victims: Victims, rtpCapabilities: Record<string, unknown>) {
		this.#rng = rng;
		this.#lane = lane;
		this.#victims = victims;
		this.#rtpCapabilities = rtpCapabilities;
	}

	get #roomId(): string {
		const rng = this.#rng;
		return rng.weighted<string>([
			[3, `fuzz-lane-${this.#lane}`],
			[5, this.#victims.roomId],
			[2, `fuzz-shared-${rng.int(4)}`],
		]);
	}

	/** Most new sockets first join and set up media properly; the rest are fuzzed from scratch. */
	planSetup(state: LaneState): void {
		state.setup = this.#rng.chance(0.8) ? [...SETUP] : [];
	}

	/** The next setup request, valid and aimed at the victims' room (whose producers it consumes). */
	#setupRequest(step: SetupStep, state: LaneState): { id: number; method: Method; data: Record<string, unknown> } {
		const id = this.#nextId++;
		switch (step) {
			case 'join':
				return { id, method: 'join', data: { roomId: this.#victims.roomId, displayName: `lane ${this.#lane}`, rtpCapabilities: this.#rtpCapabilities } };
			case 'send':
			case 'recv':
				return { id, method: 'createWebRtcTransport', data: { direction: step } };
			case 'produce':
				return {
					id,
					method: 'produce',
					data: { transportId: state.send[0] ?? 'none', kind: 'audio', rtpParameters: opusRtpParameters(20_000 + this.#lane * 100_000 + this.#rng.int(10_000)) },
				};
			case 'consume':
				return { id, method: 'consume', data: { producerId: this.#rng.pick(this.#victims.producers), transportId: state.recv[0] ?? 'none' } };
		}
	}

	#someId(own: string[], victims: string[]): string {
		const rng = this.#rng;
		return rng.weighted<() => string>([
			[own.length > 0 ? 6 : 0, () => rng.pick(own)],
			[victims.length > 0 ? 4 : 0, () => rng.pick(victims)],
			[1, () => randomString(rng, 64) || 'x'],
			[1, () => uuidLike(rng)],
		])();
	}

	/** A request that passes its schema, aimed at this lane's state, other peers' ids now and then. */
	validRequest(method: Method, state: LaneState): { id: number; method: Method; data: Record<string, unknown> } {
		const rng = this.#rng;
		const v = this.#victims;
		const transports = [...state.send, ...state.recv];
		let data: Record<string, unknown>;
		switch (method) {
			case 'getRouterRtpCapabilities':
				data = { roomId: this.#roomId };
				break;
			case 'join':
				data = {
					roomId: this.#roomId,
					displayName: rng.chance(0.8) ? `lane ${this.#lane}` : randomString(rng, 64).trim() || 'n',
					rtpCapabilities: rng.chance(0.9) ? this.#rtpCapabilities : (randomValue(rng, 3) as object) ?? {},
					...(rng.chance(0.2) ? { token: randomString(rng, 100) } : {}),
				};
				if (typeof data.rtpCapabilities !== 'object' || data.rtpCapabilities === null || Array.isArray(data.rtpCapabilities)) {
					data.rtpCapabilities = { codecs: data.rtpCapabilities };
				}
				break;
			case 'createWebRtcTransport':
				data = { direction: rng.pick(['send', 'recv']) };
				break;
			case 'connectWebRtcTransport':
				data = {
					transportId: this.#someId(transports, v.transports),
					dtlsParameters: {
						role: rng.pick(['client', 'server', 'auto']),
						fingerprints: [{ algorithm: rng.pick(['sha-256', 'sha-1', 'md5', 'sha-999']), value: Array.from({ length: 32 }, () => rng.int(256).toString(16).padStart(2, '0').toUpperCase()).join(':') }],
					},
				};
				break;
			case 'restartIce':
				data = { transportId: this.#someId(transports, v.transports) };
				break;
			case 'produce': {
				const kind = rng.pick(['audio', 'video'] as const);
				// Mostly fresh SSRCs; now and then one this transport may already use, or one mediasoup refuses.
				const ssrc = rng.chance(0.8) ? 10_000 + this.#lane * 100_000 + rng.int(90_000) : rng.pick([0, 1, 1111, 4294967295, 2 ** 40, -1, 1.5]);
				const parameters = kind === 'audio' ? opusRtpParameters(ssrc) : vp8RtpParameters(ssrc);
				data = {
					transportId: this.#someId(rng.chance(0.8) ? state.send : transports, v.transports),
					kind: rng.chance(0.9) ? kind : kind === 'audio' ? 'video' : 'audio',
					rtpParameters: parameters,
					...(rng.chance(0.3) ? { appData: { label: randomString(rng), n: rng.int(10), flag: rng.chance(0.5) } } : {}),
				};
				break;
			}
			case 'closeProducer':
			case 'pauseProducer':
			case 'resumeProducer':
				data = { producerId: this.#someId(state.producers, v.producers) };
				break;
			case 'consume':
				data = {
					producerId: this.#someId(rng.chance(0.2) ? state.producers : [], v.producers),
					transportId: this.#someId(rng.chance(0.8) ? state.recv : transports, v.transports),
				};
				break;
			case 'resumeConsumer':
			case 'pauseConsumer':
			case 'requestKeyFrame':
				data = { consumerId: this.#someId(state.consumers, v.consumers) };
				break;
			case 'produceData':
				data = {
					transportId: this.#someId(rng.chance(0.8) ? state.send : transports, v.transports),
					sctpStreamParameters: { streamId: rng.chance(0.9) ? rng.int(1024) : rng.pick([-1, 65535, 70000, 1.5]), ordered: rng.chance(0.8) },
					...(rng.chance(0.5) ? { label: randomString(rng, 64) } : {}),
				};
				break;
			case 'closeDataProducer':
				data = { dataProducerId: this.#someId(state.dataProducers, []) };
				break;
			case 'consumeData':
				data = { dataProducerId: this.#someId(state.dataProducers, []), transportId: this.#someId(rng.chance(0.8) ? state.recv : transports, v.transports) };
				break;
			case 'setConsumerPreferredLayers':
				data = {
					consumerId: this.#someId(state.consumers, v.consumers),
					spatialLayer: rng.int(3),
					...(rng.chance(0.5) ? { temporalLayer: rng.int(3) } : {}),
				};
				break;
			case 'setConsumerPriority':
				data = { consumerId: this.#someId(state.consumers, v.consumers), priority: 1 + rng.int(255) };
				break;
			case 'getRoomState':
			case 'leave':
				data = {};
				break;
		}
		return { id: this.#nextId++, method, data };
	}

	/** The next frame of this lane. */
	next(state: LaneState): Frame {
		const rng = this.#rng;
		const step = state.setup.shift();
		if (step) return { payload: JSON.stringify(this.#setupRequest(step, state)), binary: false, label: `setup ${step}` };
		const kind = rng.weighted<string>([
			[16, 'valid'],
			[38, 'mutated'],
			[12, 'envelope'],
			[12, 'random-json'],
			[6, 'binary'],
			[3, 'empty'],
			[1.5, 'invalid-utf8'],
			[3, 'large'],
			[0.2, 'over-hard-cap'],
			[2, 'deep'],
			[5, 'text-oddities'],
		]);
		switch (kind) {
			case 'valid':
				return { payload: JSON.stringify(this.validRequest(this.#progressMethod(state), state)), binary: false, label: kind };
			case 'mutated':
				return this.#mutated(state);
			case 'envelope':
				return { payload: JSON.stringify(this.#envelope()), binary: false, label: kind };
			case 'random-json':
				return { payload: JSON.stringify(randomValue(rng)) ?? 'null', binary: false, label: kind };
			case 'binary': {
				const payload = rng.chance(0.5)
					? Buffer.from(JSON.stringify(this.validRequest(rng.pick(METHODS), state)))
					: Buffer.from(Array.from({ length: rng.int(300) }, () => rng.int(256)));
				return { payload, binary: true, label: kind };
			}
			case 'empty':
				return rng.chance(0.5) ? { payload: '', binary: false, label: kind } : { payload: Buffer.alloc(0), binary: true, label: kind };
			case 'invalid-utf8': {
				const bad = rng.pick([[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80]]);
				const valid = Buffer.from(JSON.stringify({ id: this.#nextId++, method: 'join', data: { displayName: 'x' } }));
				const at = rng.int(valid.length);
				return { payload: Buffer.concat([valid.subarray(0, at), Buffer.from(bad), valid.subarray(at)]), binary: false, label: kind };
			}
			case 'large': {
				// Between the soft limit and ~200 KB: MESSAGE_TOO_LARGE, socket kept.
				const size = rng.range(WS_MAX_MESSAGE_BYTES + 1, 200 * 1024);
				const request = this.validRequest(rng.pick(METHODS), state);
				const head = JSON.stringify({ ...request, data: { ...request.data, pad: '' } }).slice(0, -3);
				return { payload: `${head}${'p'.repeat(Math.max(0, size - head.length - 3))}"}}`, binary: false, label: kind };
			}
			case 'over-hard-cap':
				return { payload: `{"id":1,"method":"leave","data":{"pad":"${'q'.repeat(HARD_FRAME_LIMIT)}"}}`, binary: false, label: kind };
			case 'deep': {
				const levels = rng.range(500, 1500);
				const nested = deepNesting(rng, levels);
				if (rng.chance(0.4)) return { payload: nested, binary: false, label: kind };
				const method = rng.pick(METHODS);
				const field = rng.pick(['data', 'rtpCapabilities', 'rtpParameters', 'dtlsParameters', 'appData', 'roomId']);
				const data = field === 'data' ? nested : `{"${field}":${nested}}`;
				return { payload: `{"id":${this.#nextId++},"method":"${method}","data":${data}}`, binary: false, label: kind };
			}
			default:
				return { payload: this.#textOddity(state), binary: false, label: kind };
		}
	}

	/** Mostly moves the lane forward (join, transports, produce, consume), sometimes out of order. */
	#progressMethod(state: LaneState): Method {
		const rng = this.#rng;
		if (rng.chance(0.25)) return rng.pick(METHODS);
		if (!state.joined) return rng.chance(0.7) ? 'join' : 'getRouterRtpCapabilities';
		if (state.send.length === 0 || state.recv.length === 0) return 'createWebRtcTransport';
		return rng.weighted<Method>([
			[3, 'produce'],
			[3, 'consume'],
			[1, 'pauseProducer'],
			[1, 'resumeProducer'],
			[1, 'closeProducer'],
			[2, 'resumeConsumer'],
			[1, 'restartIce'],
			[1, 'produceData'],
			[1, 'consumeData'],
			[1, 'closeDataProducer'],
			[1, 'connectWebRtcTransport'],
			[1, 'createWebRtcTransport'],
			[1, 'leave'],
		]);
	}

	#envelope(): unknown {
		const rng = this.#rng;
		const envelope: Record<string, unknown> = {};
		if (rng.chance(0.85)) envelope.id = rng.chance(0.5) ? rng.pick(WEIRD_NUMBERS) : rng.chance(0.5) ? this.#nextId++ : randomValue(rng, 3);
		if (rng.chance(0.85)) {
			envelope.method = rng.weighted<() => unknown>([
				[4, () => rng.pick(METHODS)],
				[2, () => randomString(rng, 70)],
				[1, () => rng.pick(METHODS).toUpperCase()],
				[1, () => randomValue(rng, 3)],
				[1, () => rng.pick(['hasOwnProperty', 'constructor', '__proto__', 'valueOf', 'toString'])],
			])();
		}
		if (rng.chance(0.8)) envelope.data = randomValue(rng, 1);
		if (rng.chance(0.15)) envelope[rng.pick(KEY_POOL)] = randomValue(rng, 3);
		return rng.chance(0.1) ? [envelope] : envelope;
	}

	#mutated(state: LaneState): Frame {
		const rng = this.#rng;
		// A deep copy: mutations must not reach shared objects such as the router's rtpCapabilities.
		const request: Record<string, unknown> = structuredClone(this.validRequest(rng.pick(METHODS), state));
		const mutations = rng.range(1, 3);
		const applied: string[] = [];
		for (let i = 0; i < mutations; i++) applied.push(this.#mutate(request));
		return { payload: JSON.stringify(request), binary: false, label: `mutated: ${applied.join(', ')}` };
	}

	/** One mutation of a request in place; returns its name. */
	#mutate(request: Record<string, unknown>): string {
		const rng = this.#rng;
		const v = this.#victims;
		const data = request.data;
		const dataObject = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
		const paths = dataObject ? collectPaths(dataObject, 200) : [];
		const kind = rng.weighted<string>([
			[paths.length > 0 ? 4 : 0, 'drop-field'],
			[paths.length > 0 ? 3 : 0, 'rename-field'],
			[paths.length > 0 ? 6 : 0, 'retype-field'],
			[paths.length > 0 ? 3 : 0, 'random-field'],
			[dataObject ? 3 : 0, 'extra-field'],
			[dataObject ? 4 : 0, 'foreign-id'],
			[2, 'retype-data'],
			[1, 'drop-data'],
			[3, 'bad-id'],
			[2, 'swap-method'],
			[1, 'extra-envelope-field'],
			[1, 'drop-id-or-method'],
		]);
		switch (kind) {
			case 'drop-field': {
				const { parent, key } = rng.pick(paths);
				delete parent[key as never];
				break;
			}
			case 'rename-field': {
				const { parent, key } = rng.pick(paths);
				if (Array.isArray(parent)) break;
				const value = parent[key as never];
				delete parent[key as never];
				const renamed = rng.pick([`${key}_`, String(key).toUpperCase(), `${key}`.slice(1), ` ${key}`, `${key}Id`]);
				(parent as Record<string, unknown>)[renamed] = value;
				break;
			}
			case 'retype-field': {
				const { parent, key } = rng.pick(paths);
				(parent as Record<string, unknown>)[key as never] = retype(rng, parent[key as never]);
				break;
			}
			case 'random-field': {
				const { parent, key } = rng.pick(paths);
				(parent as Record<string, unknown>)[key as never] = rng.chance(0.5) ? randomValue(rng, 2) : rng.pick(WEIRD_NUMBERS);
				break;
			}
			case 'extra-field':
				dataObject![rng.chance(0.5) ? rng.pick(KEY_POOL) : randomString(rng, 10)] = randomValue(rng, 3);
				break;
			case 'foreign-id': {
				const field = rng.pick(['transportId', 'producerId', 'consumerId', 'roomId', 'peerId']);
				dataObject![field] = rng.weighted<() => unknown>([
					[3, () => rng.pick([...v.transports, ...v.producers, ...v.consumers, ...v.peerIds])],
					[1, () => v.roomId],
					[1, () => 'x'.repeat(rng.pick([0, 1, 63, 64, 65, 1000]))],
				])();
				break;
			}
			case 'retype-data':
				request.data = rng.pick<unknown>([null, [], [data], 'data', 0, true, randomValue(rng, 2)]);
				break;
			case 'drop-data':
				delete request.data;
				break;
			case 'bad-id':
				request.id = rng.pick<unknown>([-1, -0.5, 1.5, 2 ** 53, 2 ** 53 + 2, 1e21, '1', null, true, [], {}, 0, Number.MAX_SAFE_INTEGER]);
				break;
			case 'swap-method':
				request.method = rng.chance(0.7) ? rng.pick(METHODS) : rng.pick(['', 'Join', 'join ', 'leave\u0000', 'x'.repeat(65)]);
				break;
			case 'extra-envelope-field':
				request[rng.pick(['ok', 'error', 'notification', 'token', 'ID', 'params'])] = randomValue(rng, 2);
				break;
			default:
				delete request[rng.chance(0.5) ? 'id' : 'method'];
				break;
		}
		return kind;
	}

	#textOddity(state: LaneState): string {
		const rng = this.#rng;
		const valid = JSON.stringify(this.validRequest(rng.pick(METHODS), state));
		return rng.pick([
			() => `\ufeff${valid}`,
			() => ` \n\t${valid}\n `,
			() => `${valid}${valid}`,
			() => valid.slice(0, rng.int(valid.length)),
			() => valid.replace('"id":', '"id":1e999,"x":'),
			() => valid.replace(/"id":\d+/, `"id":${this.#nextId++},"id":${this.#nextId++}`),
			() => `{"id":${this.#nextId++},"method":"leave","data":{},"method":"join"}`,
			() => `{"id":${this.#nextId++},"method":"leave","data":{"\\ud800":"\\udfff"}}`,
			() => `{"id":${this.#nextId++},"method":"leave","data":{"__proto__":{"polluted":true}}}`,
			() => `{"id":${this.#nextId++},"method":"join","data":{"roomId":"r","displayName":"\\u0000","rtpCapabilities":{"__proto__":{"codecs":1}}}}`,
			() => `{"id":${this.#nextId++}.0,"method":"leave","data":{}}`,
			() => `{"id":-0,"method":"leave","data":{}}`,
			() => `{"id":${this.#nextId++},"method":"leave","data":{}} trailing`,
			() => 'NaN',
			() => 'Infinity',
			() => "{'id':1,'method':'leave'}",
			() => '[]'.repeat(1000),
			() => `"${'s'.repeat(rng.int(60_000))}"`,
		])();
	}
}

/** Every (parent, key) inside `root` (not root itself), breadth first, at most `limit`. */
export function collectPaths(root: Record<string, unknown>, limit: number): { parent: Record<string, unknown> | unknown[]; key: string | number }[] {
	const paths: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
	const queue: (Record<string, unknown> | unknown[])[] = [root];
	for (let head = 0; head < queue.length && paths.length < limit; head++) {
		const parent = queue[head]!;
		const keys: (string | number)[] = Array.isArray(parent) ? parent.map((_, i) => i) : Object.keys(parent);
		for (const key of keys) {
			if (paths.length >= limit) break;
			paths.push({ parent, key });
			const child = (parent as Record<string | number, unknown>)[key];
			if (typeof child === 'object' && child !== null) queue.push(child as Record<string, unknown>);
		}
	}
	return paths;
}
