#!/usr/bin/env node
// Idempotent project set-up, run automatically before `npm start`, `npm test`
// and `npm run lint` (a few hundred ms when nothing changed):
//  1. installs the npm dependencies from the lockfile when they are missing
//     or stale;
//  2. makes sure mediasoup has its worker binary where it looks for it
//     (node_modules/mediasoup/worker/out/Release/mediasoup-worker). Online,
//     mediasoup's own postinstall downloads the prebuilt worker and nothing
//     else runs. When that download cannot work (no route to its host), the
//     worker is built from the npm package's sources against Debian's
//     libraries by tools/offline-worker and cached under ~/.cache/tureen;
//  3. with --for-tests, installs the Debian packages the tests drive
//     (Chromium, ffmpeg, redis-server, coturn); with --for-cluster, only redis-server
//     (what `npm run cluster` starts).
// Dependency-free on purpose: it runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildWorker, ensureDebianPackages } from '../tools/offline-worker/build.mjs';
import { cachedWorkerPath, log, placeExecutable } from '../tools/offline-worker/common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stampFile = path.join(root, 'node_modules', '.tureen-setup.json');
const workerTarget = path.join(root, 'node_modules/mediasoup/worker/out/Release/mediasoup-worker');
const workerInfoFile = path.join(path.dirname(workerTarget), 'tureen-worker.json');
const CLUSTER_PACKAGES = { 'redis-server': '/usr/bin/redis-server' };
// coturn: the TURN server the TURN tests (and `npm run turn`) start themselves, by PID; never as a service.
const TEST_PACKAGES = { chromium: '/usr/bin/chromium', ffmpeg: '/usr/bin/ffmpeg', coturn: '/usr/bin/turnserver', ...CLUSTER_PACKAGES };

function lockInfo() {
	const text = fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8');
	const lock = JSON.parse(text);
	return {
		hash: createHash('sha256').update(text).digest('hex'),
		mediasoupVersion: lock.packages['node_modules/mediasoup'].version,
	};
}

function npmCi(extraEnv) {
	log(`npm ci${extraEnv.MEDIASOUP_WORKER_BIN ? ' (mediasoup worker download skipped)' : ''}`);
	const res = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
		cwd: root,
		stdio: 'inherit',
		env: { ...process.env, ...extraEnv },
	});
	return res.status === 0;
}

// The same URL mediasoup's postinstall downloads from.
async function prebuiltWorkerReachable(version) {
	const base =
		process.env.MEDIASOUP_WORKER_PREBUILT_DOWNLOAD_BASE_URL ||
		'https://github.com/versatica/mediasoup/releases/download';
	const kernel = os.platform() === 'linux' ? `-kernel${os.release().split('.')[0]}` : '';
	const url = `${base}/${version}/mediasoup-worker-${version}-${os.platform()}-${os.arch()}${kernel}.tgz`;
	try {
		const res = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(8000) });
		return res.ok;
	} catch {
		return false;
	}
}

async function installDependencies(mediasoupVersion) {
	const cached = cachedWorkerPath(mediasoupVersion);
	// A worker given by the user, or one we built before, makes the download moot.
	if (process.env.MEDIASOUP_WORKER_BIN || fs.existsSync(cached)) {
		if (!npmCi({ MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN || cached })) {
			throw new Error('npm ci failed');
		}
		return;
	}
	if ((await prebuiltWorkerReachable(mediasoupVersion)) && npmCi({})) return;
	log('the prebuilt mediasoup worker cannot be downloaded here: building it offline');
	if (!npmCi({ MEDIASOUP_WORKER_BIN: cached })) throw new Error('npm ci failed');
}

function readJson(file) {
	try {
		return JSON.parse(fs.readFileSync(file, 'utf8'));
	} catch {
		return undefined;
	}
}

function ensureWorker(mediasoupVersion) {
	if (process.env.MEDIASOUP_WORKER_BIN) return;
	const cached = cachedWorkerPath(mediasoupVersion);
	const placed = readJson(workerInfoFile);
	// A prebuilt worker (no info file) or the offline build of these exact inputs: keep it.
	if (fs.existsSync(workerTarget) && (!placed || placed.cachedFrom === cached)) return;
	if (!fs.existsSync(cached)) {
		buildWorker({ source: path.join(root, 'node_modules/mediasoup'), out: cached });
	}
	placeExecutable(cached, workerTarget);
	// Lets the tests prove the binary in use is the one built from the pinned sources.
	const sha256 = createHash('sha256').update(fs.readFileSync(workerTarget)).digest('hex');
	fs.writeFileSync(
		workerInfoFile,
		JSON.stringify({ mediasoupVersion, builtBy: 'tools/offline-worker', cachedFrom: cached, sha256 }, null, 2)
	);
	log(`mediasoup worker ${mediasoupVersion} placed from ${cached}`);
}

function ensurePackages(packages) {
	const missing = Object.entries(packages)
		.filter(([, bin]) => !fs.existsSync(bin))
		.map(([pkg]) => pkg);
	ensureDebianPackages(missing);
	if (missing.includes('coturn')) keepCoturnServiceOff();
}

// Debian's coturn enables a system service; the tests and `npm run turn` start
// their own turnserver by PID, so nothing system-wide may run or start at boot.
function keepCoturnServiceOff() {
	const env = { ...process.env, DPKG_MAINTSCRIPT_PACKAGE: 'coturn' };
	spawnSync('deb-systemd-helper', ['disable', 'coturn.service'], { env, stdio: 'ignore' });
	if (fs.existsSync('/run/systemd/system')) spawnSync('systemctl', ['stop', 'coturn.service'], { stdio: 'ignore' });
	log('coturn installed; its system service is disabled and stopped (the tests start their own turnserver)');
}

async function main() {
	const started = Date.now();
	const { hash, mediasoupVersion } = lockInfo();
	const stamp = readJson(stampFile);
	if (stamp?.lockHash !== hash) {
		await installDependencies(mediasoupVersion);
	}
	ensureWorker(mediasoupVersion);
	// npm scripts run node_modules/.bin/node (README "Quick start"): say so when that Node is missing.
	if (!fs.existsSync(path.join(root, 'node_modules', '.bin', 'node'))) {
		log(`no node-linux-${process.arch} binary in node_modules/.bin (an optional dependency): npm scripts run on this machine's Node ${process.version}`);
	}
	if (process.argv.includes('--for-tests')) ensurePackages(TEST_PACKAGES);
	else if (process.argv.includes('--for-cluster')) ensurePackages(CLUSTER_PACKAGES);
	if (stamp?.lockHash !== hash) {
		fs.writeFileSync(stampFile, JSON.stringify({ lockHash: hash, mediasoupVersion }, null, 2));
		log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
	}
}

main().catch(error => {
	console.error(`[tureen setup] ${error.message}`);
	process.exit(1);
});
