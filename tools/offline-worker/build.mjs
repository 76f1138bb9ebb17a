#!/usr/bin/env node
// Builds the mediasoup-worker binary without network access beyond Debian's
// packages and the npm registry: the C++ sources come from the installed npm
// package of the pinned mediasoup version, and every C/C++ subproject that
// mediasoup's Meson build would download is replaced by a small folder from
// ./glue that wraps the matching Debian library (see the comment in each).
// libsrtp is the exception: Debian's binary one is built on NSS, so it is
// built here, static and on OpenSSL, from Debian's source package.
//
// Usage: node tools/offline-worker/build.mjs --source <mediasoup package dir> --out <binary path>
// Dependency-free on purpose: it runs before `npm ci` has finished its job.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildInputsHash, cacheRoot, log, placeExecutable } from './common.mjs';
import { unpackDebianSource } from './debian-source.mjs';
import { gluePackages, placeGlue, planFor } from './glue.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

const glueDir = path.join(here, 'glue');
// Debian packages every build needs (bookworm names); each glue folder names
// the library packages it wraps in its own debian-packages file.
const DEBIAN_PACKAGES = ['build-essential', 'pkg-config', 'python3', 'ninja-build', 'dpkg-dev'];
const MIN_MESON = [1, 1, 0];
// Debian source package built into subprojects/<name> (see glue/libsrtp3/meson.build).
const LIBSRTP_SOURCE = { name: 'libsrtp2', version: '2.5.0-3' };
// As upstream's release build (worker/tasks.py: `--buildtype release
// -Db_ndebug=true`, Meson's default b_lto=false), plus: download nothing.
const MESON_SETUP_ARGS = ['--buildtype=release', '-Db_ndebug=true', '--wrap-mode=nodownload'];

function parseArgs(argv) {
	const args = {};
	for (let i = 0; i < argv.length; i += 2) {
		const key = argv[i]?.replace(/^--/, '');
		if (!key || argv[i + 1] === undefined) throw new Error(`bad argument near "${argv[i]}"`);
		args[key] = argv[i + 1];
	}
	if (!args.source || !args.out) {
		throw new Error('usage: build.mjs --source <mediasoup package dir> --out <binary path>');
	}
	return args;
}

function run(cmd, args, opts = {}) {
	log(`$ ${cmd} ${args.join(' ')}`);
	const res = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
	if (res.status !== 0) {
		throw new Error(`${cmd} ${args.join(' ')} failed with ${res.status ?? res.signal}`);
	}
}

function missingDebianPackages(wanted) {
	return wanted.filter(pkg => {
		const res = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
		return res.status !== 0 || !res.stdout.includes('install ok installed');
	});
}

export function ensureDebianPackages(packages, wanted = DEBIAN_PACKAGES) {
	const missing = packages ?? missingDebianPackages(wanted);
	if (missing.length === 0) return;
	if (process.getuid?.() !== 0) {
		throw new Error(
			`missing Debian packages: ${missing.join(' ')}; install them with: sudo apt-get install -y ${missing.join(' ')}`
		);
	}
	log(`installing Debian packages: ${missing.join(' ')}`);
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	run('apt-get', ['update', '-qq'], { env });
	run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

function versionAtLeast(text, min) {
	const parts = text.trim().split('.').map(Number);
	for (let i = 0; i < min.length; i++) {
		if ((parts[i] ?? 0) !== min[i]) return (parts[i] ?? 0) > min[i];
	}
	return true;
}

// Debian bookworm's meson (1.0) is older than mediasoup's meson.build allows,
// so a newer one is pip-installed into the cache (pip reaches a local mirror).
function findMeson() {
	const system = spawnSync('meson', ['--version'], { encoding: 'utf8' });
	if (system.status === 0 && versionAtLeast(system.stdout, MIN_MESON)) {
		return { cmd: 'meson', env: process.env };
	}
	const target = path.join(cacheRoot(), 'pytools');
	const env = { ...process.env, PYTHONPATH: target };
	const probe = spawnSync('python3', ['-m', 'mesonbuild.mesonmain', '--version'], { encoding: 'utf8', env });
	if (probe.status !== 0 || !versionAtLeast(probe.stdout, MIN_MESON)) {
		run('python3', ['-m', 'pip', 'install', '--quiet', '--upgrade', '--target', target, 'meson']);
	}
	return { cmd: 'python3', prefix: ['-m', 'mesonbuild.mesonmain'], env };
}

export function buildWorker({ source, out }) {
	const pkg = JSON.parse(fs.readFileSync(path.join(source, 'package.json'), 'utf8'));
	const started = Date.now();
	// Fails here, in one line naming the wrap file, when this version needs glue that does not exist yet.
	const plan = planFor(path.join(source, 'worker'), glueDir, pkg.version);
	log(
		`building mediasoup-worker ${pkg.version} offline (about 4 min on 2 idle cores, longer on a busy machine); ` +
			`glue: ${plan.use.map(u => `${u.glue} -> subprojects/${u.wrap.directory}`).join(', ')}` +
			(plan.unusedGlue.length ? `; not used by this version: ${plan.unusedGlue.join(', ')}` : '') +
			(plan.notNeeded.length ? `; not needed here: ${plan.notNeeded.join(', ')}` : '')
	);
	ensureDebianPackages(undefined, [...DEBIAN_PACKAGES, ...gluePackages(glueDir, plan)]);
	const meson = findMeson();
	const mesonRun = args => run(meson.cmd, [...(meson.prefix ?? []), ...args], { env: meson.env });

	const buildRoot = path.join(cacheRoot(), 'build', `${pkg.version}-${buildInputsHash()}`);
	const workerDir = path.join(buildRoot, 'worker');
	const outDir = path.join(buildRoot, 'out');
	if (!fs.existsSync(path.join(outDir, 'build.ninja'))) {
		fs.rmSync(buildRoot, { recursive: true, force: true });
		fs.cpSync(path.join(source, 'worker'), workerDir, { recursive: true });
		placeGlue(workerDir, glueDir, plan);
		unpackDebianSource({ ...LIBSRTP_SOURCE, target: path.join(workerDir, 'subprojects', LIBSRTP_SOURCE.name) });
		mesonRun(['setup', outDir, workerDir, ...MESON_SETUP_ARGS]);
	}
	const jobs = String(Math.max(1, os.availableParallelism()));
	// The FBS headers must exist before any source that includes them compiles.
	mesonRun(['compile', '-C', outDir, '-j', jobs, 'flatbuffers-generator']);
	mesonRun(['compile', '-C', outDir, '-j', jobs, 'mediasoup-worker']);

	placeExecutable(path.join(outDir, 'mediasoup-worker'), out);
	// The object files are large and the binary is cached; keep only the binary.
	fs.rmSync(buildRoot, { recursive: true, force: true });
	log(`built ${out} in ${Math.round((Date.now() - started) / 1000)} s`);
	return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
	try {
		buildWorker(parseArgs(process.argv.slice(2)));
	} catch (error) {
		console.error(`[offline-worker] ${error.message}`);
		process.exit(1);
	}
}
