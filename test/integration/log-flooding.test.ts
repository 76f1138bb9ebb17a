// Hardening finding 7, log flooding (issue 10): oversize frames, invalid
// UTF-8 and failed transports each logged a full stack trace at error level.
// Tested here: client mistakes (oversize frames, invalid UTF-8,
// transports refused for want of ports, limits hit) log at warn, without a
// stack trace, once per kind per minute, however often they happen.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { pino } from 'pino';

import { loadConfig } from '../../src/config.ts';
import { Tureen } from '../../src/server.ts';
import { connect } from '../support/wsClient.ts';

type Line = { level: number; msg: string; err?: { stack?: string }; code?: string; limit?: string };
const WARN = 40;

describe('log flooding: client mistakes log at warn without stack traces, once per kind per minute', () => {
	let tureen: Tureen;
	let wsUrl: string;
	const lines: Line[] = [];

	before(async () => {
		const config = loadConfig({
			MEDIASOUP_WORKER_COUNT: '1',
			HTTP_HOST: '127.0.0.1',
			WEBRTC_LISTEN_IP: '127.0.0.1',
			PORT: '0',
			RTC_BASE_PORT: '47000',
			RTC_PORTS_PER_WORKER: '2',
			WS_MAX_MESSAGE_BYTES: '8192',
			MAX_CONNECTIONS_PER_IP: '1000',
		});
		const sink = new Writable({
			write(chunk, _encoding, done) {
				for (const text of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line);
				done();
			},
		});
		tureen = await Tureen.create(config, pino({ level: 'warn' }, sink));
		await tureen.listen();
		wsUrl = `ws://127.0.0.1:${tureen.port}/ws`;
	});

	after(async () => {
		await tureen?.close();
	});

	const about = (pattern: RegExp) => lines.filter((l) => pattern.test(JSON.stringify(l)));

	it('20 oversize frames and 20 invalid UTF-8 frames: one warn line each, no stack', async () => {
		for (let i = 0; i < 20; i++) {
			const client = await connect(wsUrl);
			client.sendRaw('x'.repeat(4 * 8192 + 1));
			await client.waitForClose();
			const broken = await connect(wsUrl);
			broken.sendRaw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
			await broken.waitForClose();
		}
		const oversize = about(/WS_ERR_UNSUPPORTED_MESSAGE_LENGTH/);
		const utf8 = about(/WS_ERR_INVALID_UTF8/);
		assert.equal(oversize.length, 1, JSON.stringify(lines).slice(0, 500));
		assert.equal(utf8.length, 1);
		for (const line of [...oversize, ...utf8]) {
			assert.equal(line.level, WARN);
			assert.equal(line.err, undefined, 'no stack trace');
		}
	});

	it('transports refused for want of ports: warn, once, no stack; nothing at error level', async () => {
		const clients = await Promise.all(Array.from({ length: 3 }, () => connect(wsUrl)));
		const caps = await clients[0]!.request('getRouterRtpCapabilities', { roomId: 'logs' });
		assert.ok(caps.ok);
		const rtpCapabilities = (caps.data as { rtpCapabilities: Record<string, unknown> }).rtpCapabilities;
		for (const client of clients) {
			assert.ok((await client.request('join', { roomId: 'logs', displayName: 'L', rtpCapabilities })).ok);
			for (let i = 0; i < 4; i++) await client.request('createWebRtcTransport', { direction: 'recv' });
		}
		const refused = about(/NO_PORTS_AVAILABLE/);
		assert.equal(refused.length, 1);
		assert.equal(refused[0]!.level, WARN);
		assert.equal(refused[0]!.err, undefined);
		assert.deepEqual(
			lines.filter((l) => l.level > WARN),
			[],
			'client mistakes never log at error level',
		);
		await Promise.all(clients.map((c) => c.close()));
	});
});
