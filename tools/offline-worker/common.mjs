// Shared by the offline worker build and the project set-up: where the cache
// lives and what decides whether a cached worker binary is still valid.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export function cacheRoot() {
	return process.env.TUREEN_CACHE_DIR || path.join(os.homedir(), '.cache', 'tureen');
}

function listFiles(dir) {
	return fs
		.readdirSync(dir, { withFileTypes: true })
		.flatMap(e => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]))
		.sort();
}

// Everything in this folder shapes the binary, so all of it goes into the key:
// the glue, the Meson flags and the libsrtp source package version (both in
// build.mjs) included.
export function buildInputsHash() {
	const hash = createHash('sha256');
	// *.d.mts only give the tests types for the .mjs files: they do not shape the binary.
	for (const file of listFiles(here).filter(f => !f.endsWith('.d.mts'))) {
		hash.update(path.relative(here, file));
		hash.update(fs.readFileSync(file));
	}
	return hash.digest('hex').slice(0, 16);
}

export function cachedWorkerPath(mediasoupVersion) {
	return path.join(cacheRoot(), 'worker', `${mediasoupVersion}-${buildInputsHash()}`, 'mediasoup-worker');
}

/** Copy, then rename over the target: running processes keep the old file, nothing is half-written. */
export function placeExecutable(from, to) {
	fs.mkdirSync(path.dirname(to), { recursive: true });
	const tmp = `${to}.tmp-${process.pid}`;
	fs.copyFileSync(from, tmp);
	fs.chmodSync(tmp, 0o755);
	fs.renameSync(tmp, to);
}

export function log(message) {
	console.log(`[tureen setup] ${message}`);
}
