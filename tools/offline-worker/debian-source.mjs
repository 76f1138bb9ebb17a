// Fetches a Debian source package with apt's ordinary source download and
// unpacks it with dpkg-source, so Debian's patches apply. The machine's apt
// configuration is left as it was: the deb-src entries (same URIs, suites,
// components and signing key as the machine's Debian deb entries) go into a
// private sources folder, and apt keeps its lists and cache in a temporary
// folder. apt checks the downloaded files against the signed Sources index;
// dpkg-source checks them again against the .dsc checksums.
// Dependency-free on purpose: it runs before `npm ci` has finished its job.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { cacheRoot, log } from './common.mjs';

const APT_SOURCES_DIR = '/etc/apt/sources.list.d';
const APT_MAIN_LIST = '/etc/apt/sources.list';

// The archive (…/debian) and its security companion (…/debian-security),
// on deb.debian.org or any mirror.
const DEBIAN_URI = /\/debian(-security)?\/?$/;

/** deb822 stanzas of one .sources text, as [field, value] lists (continuation lines kept). */
function deb822Stanzas(text) {
	return text
		.split(/\n\s*\n/)
		.map(block => {
			const fields = [];
			for (const line of block.split('\n')) {
				if (line.startsWith('#') || line.trim() === '') continue;
				const last = fields.at(-1);
				if (/^\s/.test(line) && last) last[1] += `\n${line}`;
				else if (/^[\w-]+:/.test(line)) fields.push([line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]);
			}
			return fields;
		})
		.filter(fields => fields.length > 0);
}

const field = (fields, name) => fields.find(([key]) => key.toLowerCase() === name)?.[1] ?? '';

/**
 * deb-src twins of the machine's Debian `deb` entries. Pure: takes the text of
 * each apt sources file ({ name, text }), returns the text of a private
 * `.sources` file (deb822) and of a private `.list` file (one-line style).
 */
export function debSrcEntries(files) {
	const stanzas = [];
	const lines = [];
	for (const { name, text } of files) {
		if (name.endsWith('.sources')) {
			for (const fields of deb822Stanzas(text)) {
				if (field(fields, 'enabled').toLowerCase() === 'no') continue;
				if (!field(fields, 'types').split(/\s+/).includes('deb')) continue;
				if (!field(fields, 'uris').split(/\s+/).some(uri => DEBIAN_URI.test(uri))) continue;
				const twin = fields.map(([key, value]) => `${key}: ${key.toLowerCase() === 'types' ? 'deb-src' : value}`);
				stanzas.push(twin.join('\n'));
			}
		} else if (name.endsWith('.list')) {
			for (const line of text.split('\n')) {
				// deb [options] uri suite component...
				const m = /^\s*deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(.*)$/.exec(line);
				if (m && DEBIAN_URI.test(m[2])) lines.push(`deb-src ${m[1] ?? ''}${m[2]} ${m[3].trim()}`);
			}
		}
	}
	return { sources: stanzas.join('\n\n') + (stanzas.length ? '\n' : ''), list: lines.map(l => `${l}\n`).join('') };
}

function machineSourceFiles() {
	const names = fs.existsSync(APT_SOURCES_DIR)
		? fs.readdirSync(APT_SOURCES_DIR).map(name => path.join(APT_SOURCES_DIR, name))
		: [];
	if (fs.existsSync(APT_MAIN_LIST)) names.push(APT_MAIN_LIST);
	return names
		.filter(name => name.endsWith('.sources') || name.endsWith('.list'))
		.map(name => ({ name, text: fs.readFileSync(name, 'utf8') }));
}

function run(cmd, args, opts = {}) {
	const res = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts });
	if (res.status !== 0) {
		const output = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
		throw new Error(`${cmd} ${args.join(' ')} failed with ${res.status ?? res.signal}:\n${output}`);
	}
	return res.stdout;
}

/** apt options that point every list apt reads or writes at `dir` (its own folders are not touched). */
function privateAptOptions(dir, entries) {
	const parts = path.join(dir, 'sources.list.d');
	fs.mkdirSync(parts);
	fs.mkdirSync(path.join(dir, 'lists', 'partial'), { recursive: true });
	fs.mkdirSync(path.join(dir, 'cache', 'archives', 'partial'), { recursive: true });
	if (entries.sources) fs.writeFileSync(path.join(parts, 'tureen-deb-src.sources'), entries.sources);
	if (entries.list) fs.writeFileSync(path.join(parts, 'tureen-deb-src.list'), entries.list);
	return [
		['Dir::Etc::SourceList', '/dev/null'],
		['Dir::Etc::SourceParts', parts],
		['Dir::State::Lists', path.join(dir, 'lists')],
		['Dir::Cache', path.join(dir, 'cache')],
		// As root, apt hands downloads to the _apt user, who cannot write into
		// a private temporary folder; apt then downloads as root anyway, with a
		// warning. Said up front instead.
		...(process.getuid?.() === 0 ? [['APT::Sandbox::User', 'root']] : []),
	].flatMap(([key, value]) => ['-o', `${key}=${value}`]);
}

function downloadFromDebian(name, version, dest, dsc) {
	const entries = debSrcEntries(machineSourceFiles());
	if (!entries.sources && !entries.list) {
		throw new Error(`no Debian entry in ${APT_SOURCES_DIR} or ${APT_MAIN_LIST} to derive a deb-src entry from`);
	}
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tureen-apt-'));
	const staging = `${dest}.tmp-${process.pid}`;
	try {
		const options = privateAptOptions(tmp, entries);
		log(`downloading Debian source package ${name} ${version} (apt-get source, private apt lists)`);
		run('apt-get', [...options, '-qq', 'update']);
		const download = path.join(tmp, 'download');
		fs.mkdirSync(download);
		run('apt-get', [...options, '-qq', 'source', '--download-only', `${name}=${version}`], { cwd: download });
		// Renamed into place whole, so the cache never holds half a download;
		// a concurrent set-up that got there first is as good.
		fs.mkdirSync(path.dirname(dest), { recursive: true });
		fs.cpSync(download, staging, { recursive: true });
		if (fs.existsSync(dest) && !fs.existsSync(dsc)) fs.rmSync(dest, { recursive: true, force: true });
		try {
			fs.renameSync(staging, dest);
		} catch (error) {
			if (!fs.existsSync(dsc)) throw error;
		}
	} finally {
		fs.rmSync(tmp, { recursive: true, force: true });
		fs.rmSync(staging, { recursive: true, force: true });
	}
}

/**
 * Unpacks Debian source package `name` at exactly `version` (patches applied)
 * into `target`. The downloaded files are kept under the cache, so later
 * builds need no network; a missing cache is downloaded again.
 */
export function unpackDebianSource({ name, version, target }) {
	const cached = path.join(cacheRoot(), 'sources', `${name}_${version}`);
	const dsc = path.join(cached, `${name}_${version.replace(/^\d+:/, '')}.dsc`);
	if (!fs.existsSync(dsc)) downloadFromDebian(name, version, cached, dsc);
	fs.rmSync(target, { recursive: true, force: true });
	// dpkg-source checks every file against the .dsc checksums. The .dsc
	// signature needs the uploader's keyring (debian-keyring), which is not
	// required: apt already checked the files against the signed index.
	run('dpkg-source', ['-x', dsc, target]);
	log(`unpacked ${name} ${version} into ${target}`);
	return target;
}
