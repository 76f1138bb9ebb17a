// What produced a result: the machine, Node, mediasoup and the worker binary
// (its sha256, where it came from, and which library does its SRTP crypto).
// Figures differ 2-3.5x between machines and by 2x between SRTP builds, so
// every results file carries this.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as mediasoup from 'mediasoup';

import { WORKER_CPU_ACCOUNTING } from './procStats.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_WORKER_BIN = join(ROOT, 'node_modules/mediasoup/worker/out/Release/mediasoup-worker');
/** Written by scripts/setup.mjs next to a worker it placed from the offline build. */
const INFO_FILE = 'tureen-worker.json';

export type Machine = {
	cpuModel: string;
	cores: number;
	kernel: string;
	memoryGiB: number;
	/** 1-minute load average when the run started and ended: other work on the machine disturbs the figures. */
	loadAverage: { start: number; end?: number };
	node: string;
	mediasoup: string;
	workerCpuAccounting: string;
};

export type WorkerBinary = {
	path: string;
	sha256: string;
	/** 'prebuilt' (mediasoup's download), 'offline' (tools/offline-worker) or 'unknown'. */
	origin: 'prebuilt' | 'offline' | 'unknown';
	/** The SRTP crypto library, from ldd or, for a statically linked libsrtp, the build's own record. */
	srtpCrypto: string;
	/** Shared libraries that matter for SRTP and TLS (from ldd). */
	linked: string[];
	/** The info file scripts/setup.mjs wrote for it, when there is one. */
	buildInfo?: Record<string, unknown>;
};

export function describeMachine(): Machine {
	const list = cpus();
	return {
		cpuModel: list[0]?.model.trim() ?? 'unknown',
		cores: list.length,
		kernel: release(),
		memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
		loadAverage: { start: loadavg()[0]! },
		node: process.versions.node,
		mediasoup: mediasoup.version,
		workerCpuAccounting: WORKER_CPU_ACCOUNTING,
	};
}

/** The worker binary mediasoup runs when nothing else is said (MEDIASOUP_WORKER_BIN, else its own place). */
export function defaultWorkerBin(): string {
	return process.env.MEDIASOUP_WORKER_BIN ? resolve(process.env.MEDIASOUP_WORKER_BIN) : DEFAULT_WORKER_BIN;
}

function readInfo(file: string): Record<string, unknown> | undefined {
	try {
		return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
	} catch {
		return undefined;
	}
}

/** Every info file that may describe `path`: its own folder's, and the placed worker's (which names the cache file it came from). */
function findBuildInfo(path: string, sha256: string): Record<string, unknown> | undefined {
	for (const candidate of [join(dirname(path), INFO_FILE), join(dirname(DEFAULT_WORKER_BIN), INFO_FILE)]) {
		const info = readInfo(candidate);
		if (info && (info.sha256 === sha256 || info.cachedFrom === path)) return info;
	}
	return undefined;
}

/**
 * Which crypto library SRTP runs on: a dynamically linked libsrtp2 shows in
 * ldd; a static one is recognised by the cipher descriptions libsrtp compiles
 * in ("AES-128 counter mode using openssl" / "... using nss").
 */
export function srtpCrypto(lddOutput: string, binary: Buffer): string {
	const nss = /libnss3\.so/.test(lddOutput);
	if (/libsrtp2\.so/.test(lddOutput)) return nss ? 'NSS (system libsrtp2)' : 'system libsrtp2 (crypto library unknown)';
	if (binary.includes('counter mode using openssl')) return 'OpenSSL (static libsrtp)';
	if (binary.includes('counter mode using nss')) return 'NSS (static libsrtp)';
	return nss ? 'NSS' : 'static libsrtp, crypto library unknown';
}

/** Fails loudly when the binary is missing: a run must not silently measure something else. */
export function describeWorkerBinary(path: string): WorkerBinary {
	const absolute = resolve(path);
	if (!existsSync(absolute)) throw new Error(`no worker binary at ${absolute}`);
	const bytes = readFileSync(absolute);
	const sha256 = createHash('sha256').update(bytes).digest('hex');
	const ldd = spawnSync('ldd', [absolute], { encoding: 'utf8' });
	const lddOutput = `${ldd.stdout ?? ''}${ldd.stderr ?? ''}`;
	const buildInfo = findBuildInfo(absolute, sha256);
	const origin = buildInfo ? 'offline' : absolute === DEFAULT_WORKER_BIN ? 'prebuilt' : 'unknown';
	const linked = [...lddOutput.matchAll(/^\s*(lib(?:srtp2|nss3|ssl|crypto|uring)[^\s]*)/gm)].map((m) => m[1]!);
	return { path: absolute, sha256, origin, srtpCrypto: srtpCrypto(lddOutput, bytes), linked, ...(buildInfo ? { buildInfo } : {}) };
}

/** A worker binary in one line of Markdown, as every bench report names it. */
export function workerBinaryLine(b: WorkerBinary): string {
	return `\`${b.path}\`, sha256 \`${b.sha256.slice(0, 16)}…\`, ${b.origin}, SRTP crypto: **${b.srtpCrypto}**${b.linked.length ? ` (links ${b.linked.join(', ')})` : ''}`;
}
