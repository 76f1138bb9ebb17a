// Memory of the server under clients that stop reading (issue 10, finding 3).
// Starts a server (this checkout's, or the one under --server-dir, e.g. an
// older commit exported for a before/after comparison), opens N raw
// WebSocket connections that ask for the router capabilities as fast as the
// rate limit allows and never read a byte, then prints the server's RSS
// over time, how many sockets the server cut, and the RSS after they close.
//   npm run bench -- slow-readers [--readers 40] [--seconds 60] [--server-dir DIR] [--port 3900]
// A measurement, not a test: the figures depend on the machine.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { waitFor } from '../scripts/localCluster.ts';
import { describeMachine, describeWorkerBinary } from './machineInfo.ts';
import { processRssKb } from './procStats.ts';

const { values } = parseArgs({
	options: {
		readers: { type: 'string', default: '40' },
		seconds: { type: 'string', default: '60' },
		'server-dir': { type: 'string', default: resolve(fileURLToPath(import.meta.url), '../..') },
		port: { type: 'string', default: '3900' },
	},
});
const READERS = Number(values.readers);
const SECONDS = Number(values.seconds);
const PORT = Number(values.port);
const SERVER_DIR = values['server-dir'];
// Under the server's 50 requests/s per socket, so every request is answered.
const REQUESTS_PER_SECOND = 40;

const mib = (kb: number | undefined) => (kb === undefined ? 'gone' : `${(kb / 1024).toFixed(0)} MiB`);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A masked client text frame (RFC 6455): all a client that never reads needs to send. */
function textFrame(text: string): Buffer {
	const payload = Buffer.from(text);
	const mask = randomBytes(4);
	const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
	const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
	return Buffer.concat([header, mask, masked]);
}

/** Opens /ws by hand and stops reading once the handshake answer has arrived. */
function openSlowReader(): Promise<{ socket: Socket; cut: () => boolean }> {
	return new Promise((done, fail) => {
		let closed = false;
		const socket = connect(PORT, '127.0.0.1', () => {
			socket.write(
				`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${PORT}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
			);
		});
		socket.once('data', (chunk) => {
			if (!chunk.toString().startsWith('HTTP/1.1 101')) return fail(new Error(`upgrade refused: ${chunk.toString().split('\r\n')[0]}`));
			socket.pause();
			done({ socket, cut: () => closed });
		});
		socket.on('close', () => (closed = true));
		socket.on('error', () => (closed = true));
	});
}

// What produced the figures: the machine, and the worker binary the server under test runs.
const machine = describeMachine();
const worker = describeWorkerBinary(process.env.MEDIASOUP_WORKER_BIN ?? resolve(SERVER_DIR, 'node_modules/mediasoup/worker/out/Release/mediasoup-worker'));
const server = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
	cwd: SERVER_DIR,
	env: { ...process.env, PORT: String(PORT), HTTP_HOST: '127.0.0.1', MEDIASOUP_WORKER_COUNT: '1', RTC_BASE_PORT: '48000', LOG_LEVEL: 'error' },
	stdio: ['ignore', 'ignore', 'inherit'],
});
try {
	await waitFor(`the server on port ${PORT}`, async () => (await fetch(`http://127.0.0.1:${PORT}/health`)).ok, 30_000, {
		giveUp: () => (server.exitCode === null ? undefined : `it exited with ${server.exitCode}`),
	});
	const pid = server.pid!;
	await sleep(2000);
	const baseline = processRssKb(pid);
	const readers = await Promise.all(Array.from({ length: READERS }, () => openSlowReader()));
	let id = 0;
	const timer = setInterval(() => {
		for (const reader of readers) {
			if (reader.cut()) continue;
			reader.socket.write(textFrame(JSON.stringify({ id: ++id, method: 'getRouterRtpCapabilities', data: { roomId: 'slow-readers' } })));
		}
	}, 1000 / REQUESTS_PER_SECOND);
	let peak = baseline ?? 0;
	for (let s = 5; s <= SECONDS; s += 5) {
		await sleep(5000);
		const rss = processRssKb(pid);
		peak = Math.max(peak, rss ?? 0);
		console.log(`t=${s}s rss=${mib(rss)} cut=${readers.filter((r) => r.cut()).length}/${READERS}`);
	}
	clearInterval(timer);
	const cut = readers.filter((r) => r.cut()).length;
	for (const reader of readers) reader.socket.destroy();
	await sleep(10_000);
	const after = processRssKb(pid);
	console.log(
		`server ${SERVER_DIR} on ${machine.cpuModel}, ${machine.cores} cores (load average ${machine.loadAverage.start.toFixed(1)} at the start), Node ${machine.node}, ` +
			`worker ${worker.path} (sha256 ${worker.sha256.slice(0, 16)}, ${worker.origin}, SRTP ${worker.srtpCrypto})\n${READERS} slow readers for ${SECONDS} s: baseline ${mib(baseline)}, peak ${mib(peak)} (+${mib(peak - (baseline ?? 0))}), ` +
			`cut by the server ${cut}/${READERS}, 10 s after they closed ${mib(after)}`,
	);
} finally {
	server.kill('SIGKILL');
}
