// Decides, for one mediasoup version, which ./glue folder stands in for which
// of its worker/subprojects/*.wrap files, reading only what that version
// ships: each wrap file's own `directory =` line (the folder Meson looks for
// before it would download anything) and `[provide]` lines (the dependency
// names and variables it provides), and the references in worker/meson.build.
// So a release that keeps its subprojects needs no change here; one that drops
// a subproject leaves its glue unused; one that adds a subproject the worker
// build needs on Linux stops with one line naming the wrap file.
// Pure functions over text, plus placeGlue(); dependency-free (runs before `npm ci`).
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The sections of an INI-style wrap file: { section: { key: value } }. */
function parseIni(text) {
	const sections = {};
	let current;
	for (const raw of text.split('\n')) {
		const line = raw.trim();
		if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
		const header = /^\[([^\]]+)\]$/.exec(line);
		if (header) {
			current = sections[header[1].trim()] ??= {};
			continue;
		}
		const eq = line.indexOf('=');
		if (current && eq > 0) current[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
	}
	return sections;
}

const list = value => (value ?? '').split(',').map(s => s.trim()).filter(Boolean);

/**
 * One wrap file: its subproject name (the file name), the folder Meson uses
 * (`directory =`, Meson's default being the name), and what its [provide]
 * section offers: dependency names served by a variable of the subproject
 * (`name = variable`) and names the subproject must override itself
 * (`dependency_names = a, b`).
 */
export function parseWrap(fileName, text) {
	const sections = parseIni(text);
	const name = path.basename(fileName).replace(/\.wrap$/, '');
	const wrap = Object.entries(sections).find(([section]) => section.startsWith('wrap-'))?.[1] ?? {};
	const provide = sections.provide ?? {};
	const variables = {};
	const overridden = [];
	for (const [key, value] of Object.entries(provide)) {
		if (key === 'dependency_names') overridden.push(...list(value));
		else if (key !== 'program_names') variables[key] = value;
	}
	return {
		file: path.basename(fileName),
		name,
		directory: wrap.directory || name,
		provides: [...Object.keys(variables), ...overridden],
		variables,
		overridden,
	};
}

const normalise = s => s.toLowerCase().replace(/_/g, '-');

/** The glue folder that stands in for a wrap: named after the wrap, or after one of the dependencies it provides. */
export function matchGlue(wrap, glueNames) {
	const wanted = new Set([wrap.name, ...wrap.provides].map(normalise));
	return glueNames.find(g => wanted.has(normalise(g)));
}

/** Boolean option defaults of meson_options.txt (the build passes none of mediasoup's own -D options). */
export function optionDefaults(optionsText) {
	const defaults = {};
	for (const m of optionsText.matchAll(/option\(\s*'([^']+)'[^)]*?type\s*:\s*'boolean'[^)]*?value\s*:\s*(true|false)/g)) {
		defaults[m[1]] = m[2] === 'true';
	}
	return defaults;
}

/**
 * Whether a meson `if` condition holds for this build (Linux, default
 * options). Only the two shapes mediasoup uses to make a subproject optional
 * are decided; anything else counts as "may hold", so the subproject is
 * treated as needed (a missing glue is then reported, never silently skipped).
 */
function conditionMayHold(condition, defaults, system) {
	const host = /^host_machine\.system\(\)\s*(==|!=)\s*'([^']+)'$/.exec(condition);
	if (host) return (host[2] === system) === (host[1] === '==');
	const option = /^(not\s+)?get_option\('([^']+)'\)$/.exec(condition);
	if (option && option[2] in defaults) return defaults[option[2]] !== Boolean(option[1]);
	return true;
}

/**
 * What meson.build reads from subprojects, outside blocks that cannot run
 * here: `subproject('name')` calls (with the variables read from each through
 * get_variable()) and `dependency('name')` calls.
 */
export function mesonReferences(mesonText, optionsText = '', system = 'linux') {
	const defaults = optionDefaults(optionsText);
	const stack = []; // one boolean per open if/elif/else: may this branch run?
	const subprojects = {}; // name -> Set of variables read
	const projVar = {}; // meson variable holding subproject() -> name
	const dependencies = new Set();
	const lines = mesonText.split('\n');
	for (let i = 0; i < lines.length; i++) {
		const line = lines[i].replace(/#.*$/, '').trim();
		let m;
		if ((m = /^if\s+(.*)$/.exec(line))) stack.push(conditionMayHold(m[1].trim(), defaults, system));
		else if ((m = /^elif\s+(.*)$/.exec(line))) stack[stack.length - 1] = conditionMayHold(m[1].trim(), defaults, system);
		else if (line === 'else') stack[stack.length - 1] = true;
		else if (line === 'endif') stack.pop();
		if (!stack.every(Boolean)) continue;
		// `x = subproject(` may have its name on the next line.
		const call = /(?:(\w+)\s*=\s*)?subproject\(\s*$/.test(line) ? `${line}${(lines[i + 1] ?? '').trim()}` : line;
		for (const s of call.matchAll(/(?:(\w+)\s*=\s*)?subproject\(\s*'([^']+)'/g)) {
			subprojects[s[2]] ??= new Set();
			if (s[1]) projVar[s[1]] = s[2];
		}
		for (const d of line.matchAll(/\bdependency\(\s*'([^']+)'/g)) dependencies.add(d[1]);
		for (const g of line.matchAll(/\b(\w+)\.get_variable\(\s*'([^']+)'/g)) {
			if (projVar[g[1]]) subprojects[projVar[g[1]]].add(g[2]);
		}
	}
	return { subprojects, dependencies };
}

const defines = (mesonText, variable) => new RegExp(`^\\s*${variable}\\s*=`, 'm').test(mesonText);
const overrides = (mesonText, dep) => new RegExp(`override_dependency\\(\\s*'${dep}'`).test(mesonText);

/**
 * The plan for one worker source tree. Inputs are texts, so it is testable:
 *   wraps: [{ file, text }], glue: { name: meson.build text }, mesonText, optionsText.
 * Returns { use: [{ glue, wrap }], unusedGlue: [name], notNeeded: [wrap file] }
 * or throws one line naming the wrap file that cannot be served.
 */
export function planGlue({ version, wraps, glue, mesonText, optionsText }) {
	const refs = mesonReferences(mesonText, optionsText);
	const glueNames = Object.keys(glue).sort();
	const use = [];
	const notNeeded = [];
	for (const { file, text } of wraps) {
		const wrap = parseWrap(file, text);
		const readVars = refs.subprojects[wrap.name];
		const depsNeeded = wrap.provides.filter(d => refs.dependencies.has(d));
		const needed = readVars !== undefined || depsNeeded.length > 0;
		const glueName = matchGlue(wrap, glueNames);
		const where = `mediasoup ${version} worker/subprojects/${file} (directory ${wrap.directory}${wrap.provides.length ? `, provides ${wrap.provides.join(', ')}` : ''})`;
		if (!needed) {
			notNeeded.push(file);
			continue;
		}
		if (!glueName) {
			throw new Error(
				`${where} is needed by the worker build, but tools/offline-worker/glue has no folder for it: add glue/${wrap.name} wrapping the Debian library (see glue/libuv)`
			);
		}
		const glueText = glue[glueName];
		const missing = [
			...[...(readVars ?? [])].filter(v => !defines(glueText, v)),
			// A dependency() served through [provide] needs the variable it names, or an override.
			...depsNeeded
				.filter(d => (wrap.variables[d] ? !defines(glueText, wrap.variables[d]) : !overrides(glueText, d)))
				.map(d => (wrap.variables[d] ? wrap.variables[d] : `meson.override_dependency('${d}', ...)`)),
		];
		if (missing.length > 0) {
			throw new Error(
				`${where}: tools/offline-worker/glue/${glueName}/meson.build lacks ${missing.join(', ')}, which this version's meson.build needs`
			);
		}
		use.push({ glue: glueName, wrap });
	}
	const used = new Set(use.map(u => u.glue));
	return { use, unusedGlue: glueNames.filter(g => !used.has(g)), notNeeded };
}

/** Reads a worker source tree and the glue folder, and returns planGlue()'s plan. */
export function planFor(workerDir, glueDir, version) {
	const subprojects = path.join(workerDir, 'subprojects');
	const wraps = fs
		.readdirSync(subprojects)
		.filter(f => f.endsWith('.wrap'))
		.sort()
		.map(file => ({ file, text: fs.readFileSync(path.join(subprojects, file), 'utf8') }));
	const glue = Object.fromEntries(
		fs
			.readdirSync(glueDir, { withFileTypes: true })
			.filter(e => e.isDirectory())
			.map(e => [e.name, fs.readFileSync(path.join(glueDir, e.name, 'meson.build'), 'utf8')])
	);
	const optionsFile = path.join(workerDir, 'meson_options.txt');
	return planGlue({
		version,
		wraps,
		glue,
		mesonText: fs.readFileSync(path.join(workerDir, 'meson.build'), 'utf8'),
		optionsText: fs.existsSync(optionsFile) ? fs.readFileSync(optionsFile, 'utf8') : '',
	});
}

/** Debian packages the used glue folders ask for (glue/<name>/debian-packages, one a line). */
export function gluePackages(glueDir, plan) {
	return plan.use.flatMap(({ glue }) => {
		const file = path.join(glueDir, glue, 'debian-packages');
		return fs.existsSync(file) ? list(fs.readFileSync(file, 'utf8').replace(/\s+/g, ',')) : [];
	});
}

/** Copies each used glue folder to subprojects/<the wrap's directory>, where Meson finds it and downloads nothing. */
export function placeGlue(workerDir, glueDir, plan) {
	for (const { glue, wrap } of plan.use) {
		fs.cpSync(path.join(glueDir, glue), path.join(workerDir, 'subprojects', wrap.directory), { recursive: true });
	}
}
