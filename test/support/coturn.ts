// A real coturn (Debian's turnserver) for one test: own ports on loopback, its
// state in a temp dir, stopped by PID. Nothing system-wide.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { coturnConfig, type CoturnOptions } from '../../src/services/turn/coturnConfig.ts';
import { probeTurn } from '../../src/services/turn/turnProbe.ts';

export const TURNSERVER = '/usr/bin/turnserver';

/** A port free on 127.0.0.1 for both TCP and UDP right now. */
export async function freePort(): Promise<number> {
	for (;;) {
		const port = await new Promise<number>((resolve, reject) => {
			const server = createServer();
			server.once('error', reject);
			server.listen(0, '127.0.0.1', () => {
				const { port: p } = server.address() as { port: number };
				server.close(() => resolve(p));
			});
		});
		const udpFree = await new Promise<boolean>((resolve) => {
			const socket = createSocket('udp4');
			socket.once('error', () => resolve(false));
			socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
		});
		if (udpFree) return port;
	}
}

export type TestCoturn = {
	host: string;
	port: number;
	tlsPort: number | undefined;
	/** PEM of the self-signed certificate (for a Node TLS client's `ca`) when TLS is on. */
	certPem: string | undefined;
	secret: string;
	pid: number;
	stop(): Promise<void>;
	log(): Promise<string>;
};

/** A self-signed certificate for CN=`host` (and IP SAN) made with openssl into `dir`. */
export function makeSelfSignedCert(dir: string, host: string): { cert: string; key: string } {
	const cert = join(dir, 'turn-cert.pem');
	const key = join(dir, 'turn-key.pem');
	const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${host}`, '-addext', `subjectAltName=IP:${host}`, '-keyout', key, '-out', cert], {
		stdio: ['ignore', 'ignore', 'pipe'],
	});
	if (made.status !== 0) throw new Error(`openssl req failed: ${made.stderr.toString()}`);
	return { cert, key };
}

export type StartCoturnOptions = {
	secret: string;
	allowedPeerIps: string[];
	tls?: boolean;
	host?: string;
	relayPorts?: { min: number; max: number };
	/** Default: free ones. */
	port?: number;
	tlsPort?: number;
};

export async function startCoturn(options: StartCoturnOptions): Promise<TestCoturn> {
	const host = options.host ?? '127.0.0.1';
	const stateDir = await mkdtemp(join(tmpdir(), 'tureen-coturn-'));
	const port = options.port ?? (await freePort());
	const tlsPort = options.tls ? (options.tlsPort ?? (await freePort())) : undefined;
	const tls = tlsPort !== undefined ? { port: tlsPort, ...makeSelfSignedCert(stateDir, host) } : undefined;
	const config: CoturnOptions = {
		listenIps: [host],
		port,
		...(tls ? { tls } : {}),
		relayIp: host,
		relayPorts: options.relayPorts ?? { min: 46100, max: 46199 },
		realm: 'tureen.test',
		secret: options.secret,
		allowedPeerIps: options.allowedPeerIps,
		userQuota: 20,
		totalQuota: 200,
		stateDir,
	};
	const file = join(stateDir, 'turnserver.conf');
	await writeFile(file, coturnConfig(config));
	const child: ChildProcess = spawn(TURNSERVER, ['-c', file], { stdio: 'ignore' });
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	const pid = child.pid!;
	const stop = async () => {
		if (child.exitCode === null && child.signalCode === null) {
			process.kill(pid, 'SIGTERM');
			const timer = setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 3000);
			await exited;
			clearTimeout(timer);
		}
		await rm(stateDir, { recursive: true, force: true });
	};
	// Ready when it answers a STUN/TURN request on its UDP port.
	const deadline = Date.now() + 10_000;
	for (;;) {
		const probe = await probeTurn(`turn:${host}:${port}`, { username: 'x', password: 'x', timeoutMs: 300 });
		if (probe.ok || probe.errorCode !== undefined) break;
		if (child.exitCode !== null || Date.now() > deadline) {
			const log = await readFile(join(stateDir, 'turnserver.log'), 'utf8').catch(() => '');
			await stop();
			throw new Error(`turnserver did not start: ${log.slice(-2000)}`);
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	return {
		host,
		port,
		tlsPort,
		certPem: tls ? await readFile(tls.cert, 'utf8') : undefined,
		secret: options.secret,
		pid,
		stop,
		log: () => readFile(join(stateDir, 'turnserver.log'), 'utf8').catch(() => ''),
	};
}
