// The bench drives the server through its front door (bench/README.md,
// "Through the front door, and the one seam"): from src/ it imports only the
// protocol, the public entry points, its seam and the pure policies its
// simulations run, so that moving the server's rooms and participants never
// touches the bench. And the seam is the bench's alone: nothing in src/ uses it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** What bench/ may import from src/ (paths from the repository root). */
const ALLOWED = [
	/^src\/protocol\/[^/]+\.ts$/,
	/^src\/(server|config|logger|benchSeam)\.ts$/,
	/^src\/services\/workers\/(placement|peerPlacement)\.ts$/,
	/^src\/services\/rooms\/codecs\.ts$/,
	/^src\/services\/participants\/dynacastPolicy\.ts$/,
];

function tsFiles(dir: string): string[] {
	return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) return tsFiles(path);
		return entry.name.endsWith('.ts') ? [path] : [];
	});
}

/** Every module `file` imports or re-exports, as a path from the repository root (relative specifiers only). */
function importsOf(file: string): string[] {
	const text = readFileSync(join(ROOT, file), 'utf8');
	const specifiers = [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/g)].map((m) => m[1] ?? m[2]!);
	return specifiers.map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

describe('bench imports', () => {
	it('take from src/ only the protocol, the entry points, the seam and pure policies', () => {
		const offending = tsFiles('bench').flatMap((file) =>
			importsOf(file)
				.filter((target) => target.startsWith('src/') && !ALLOWED.some((pattern) => pattern.test(target)))
				.map((target) => `${file} -> ${target}`),
		);
		assert.deepEqual(offending, []);
	});

	it('the seam is used by the bench alone', () => {
		const users = tsFiles('src').filter((file) => importsOf(file).includes('src/benchSeam.ts'));
		assert.deepEqual(users, []);
	});
});
