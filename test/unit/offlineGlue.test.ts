// How the offline worker build picks its glue (tools/offline-worker/glue.mjs):
// from each wrap file's own directory/[provide] lines and what meson.build
// reads, so a release that keeps its subprojects needs no change, a dropped
// subproject leaves its glue unused, and a new needed one fails in one line
// naming the wrap file. Also checked against the real glue folders and the
// installed mediasoup's worker sources.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { matchGlue, mesonReferences, parseWrap, planFor, planGlue } from '../../tools/offline-worker/glue.mjs';

const LIBUV_WRAP = `[wrap-file]
directory = libuv-v1.51.0
source_url = https://dist.libuv.org/dist/v1.51.0/libuv-v1.51.0.tar.gz

[provide]
libuv = libuv_dep
`;
const DENSE_WRAP = `[wrap-file]
directory = unordered_dense-5.3.2

[provide]
dependency_names = unordered_dense
`;
const CATCH_WRAP = `[wrap-file]
directory = Catch2-3.16.0

[provide]
catch2 = catch2_dep
`;
const OPTIONS = "option('ms_build_tests', type: 'boolean', value: false, description: 'tests')\n";
const MESON = `libuv_proj = subproject(
  'libuv',
  default_options: ['warning_level=0'],
)
ankerl_unordered_dense_dep = dependency('unordered_dense')
dependencies = [
  libuv_proj.get_variable('libuv_dep'),
]
link_whole = [libuv_proj.get_variable('libuv')]
if host_machine.system() == 'windows'
  wingetopt_proj = subproject('wingetopt')
endif
if get_option('ms_build_tests')
  catch2_proj = subproject('catch2')
endif
`;
const GLUE = {
	libuv: "project('libuv', 'c')\nlibuv_dep = dependency('libuv')\nlibuv = static_library('s', 'stub.c')\n",
	'unordered-dense': "project('d', 'cpp')\nankerl_unordered_dense_dep = declare_dependency()\nmeson.override_dependency('unordered_dense', ankerl_unordered_dense_dep)\n",
	'abseil-cpp': "project('abseil-cpp', 'cpp')\n",
};
const WRAPS = [
	{ file: 'libuv.wrap', text: LIBUV_WRAP },
	{ file: 'unordered-dense.wrap', text: DENSE_WRAP },
	{ file: 'catch2.wrap', text: CATCH_WRAP },
	{ file: 'wingetopt.wrap', text: '[wrap-file]\ndirectory = wingetopt-1.00\n' },
];

describe('offline worker glue plan', () => {
	it('reads directory and [provide] from a wrap file', () => {
		assert.deepEqual(parseWrap('libuv.wrap', LIBUV_WRAP), {
			file: 'libuv.wrap',
			name: 'libuv',
			directory: 'libuv-v1.51.0',
			provides: ['libuv'],
			variables: { libuv: 'libuv_dep' },
			overridden: [],
		});
		const dense = parseWrap('unordered-dense.wrap', DENSE_WRAP);
		assert.deepEqual([dense.directory, dense.overridden], ['unordered_dense-5.3.2', ['unordered_dense']]);
		assert.equal(parseWrap('x.wrap', '[wrap-git]\nurl = u\n').directory, 'x', "Meson's default directory is the wrap's name");
	});

	it('matches glue by the wrap name or a provided dependency, - and _ alike', () => {
		assert.equal(matchGlue(parseWrap('unordered-dense.wrap', DENSE_WRAP), ['libuv', 'unordered-dense']), 'unordered-dense');
		assert.equal(matchGlue(parseWrap('dense.wrap', DENSE_WRAP), ['unordered-dense']), 'unordered-dense');
		assert.equal(matchGlue(parseWrap('catch2.wrap', CATCH_WRAP), ['libuv']), undefined);
	});

	it('skips subprojects meson.build only uses on Windows or with tests on', () => {
		const refs = mesonReferences(MESON, OPTIONS);
		assert.deepEqual(Object.keys(refs.subprojects), ['libuv']);
		assert.deepEqual([...refs.subprojects.libuv!], ['libuv_dep', 'libuv']);
		assert.deepEqual([...refs.dependencies], ['unordered_dense']);
		assert.ok('catch2' in mesonReferences(MESON, OPTIONS.replace('false', 'true')).subprojects);
		assert.ok('wingetopt' in mesonReferences(MESON, OPTIONS, 'windows').subprojects);
	});

	it('places each glue at its wrap directory; unused glue and unneeded wraps are listed, not errors', () => {
		const plan = planGlue({ version: '9.0.0', wraps: WRAPS, glue: GLUE, mesonText: MESON, optionsText: OPTIONS });
		assert.deepEqual(plan.use.map((u) => [u.glue, u.wrap.directory]), [['libuv', 'libuv-v1.51.0'], ['unordered-dense', 'unordered_dense-5.3.2']]);
		assert.deepEqual(plan.unusedGlue, ['abseil-cpp']);
		assert.deepEqual(plan.notNeeded, ['catch2.wrap', 'wingetopt.wrap']);
	});

	it('a needed wrap without glue fails in one line naming the wrap file', () => {
		const wraps = [...WRAPS, { file: 'libfoo.wrap', text: '[wrap-file]\ndirectory = libfoo-2.0\n\n[provide]\nfoo = foo_dep\n' }];
		const mesonText = `${MESON}foo_proj = subproject('libfoo')\nx = foo_proj.get_variable('foo_dep')\n`;
		assert.throws(
			() => planGlue({ version: '9.1.0', wraps, glue: GLUE, mesonText, optionsText: OPTIONS }),
			(error: Error) =>
				!error.message.includes('\n') &&
				error.message.includes('mediasoup 9.1.0 worker/subprojects/libfoo.wrap (directory libfoo-2.0, provides foo)') &&
				error.message.includes('glue/libfoo'),
		);
	});

	it('glue that lacks a variable or override the new meson.build reads fails naming wrap and glue', () => {
		const stale = { ...GLUE, 'unordered-dense': "project('d', 'cpp')\nankerl_unordered_dense_dep = declare_dependency()\n" };
		assert.throws(
			() => planGlue({ version: '9.2.0', wraps: WRAPS, glue: stale, mesonText: MESON, optionsText: OPTIONS }),
			/unordered-dense\.wrap .*glue\/unordered-dense\/meson\.build lacks meson\.override_dependency\('unordered_dense'/,
		);
		const noLib = { ...GLUE, libuv: "project('libuv', 'c')\nlibuv_dep = dependency('libuv')\n" };
		assert.throws(() => planGlue({ version: '9.3.0', wraps: WRAPS, glue: noLib, mesonText: MESON, optionsText: OPTIONS }), /libuv\.wrap .*lacks libuv,/);
	});

	it('the real glue serves the installed mediasoup worker sources', (t) => {
		const worker = 'node_modules/mediasoup/worker';
		if (!existsSync(`${worker}/meson.build`)) return t.skip('no installed mediasoup sources');
		const version = (JSON.parse(readFileSync('node_modules/mediasoup/package.json', 'utf8')) as { version: string }).version;
		const plan = planFor(worker, 'tools/offline-worker/glue', version);
		t.diagnostic(`${version}: ${plan.use.map((u) => `${u.glue} -> ${u.wrap.directory}`).join(', ')}; unused ${plan.unusedGlue.join(', ') || 'none'}`);
		assert.deepEqual(plan.use.map((u) => u.glue).sort(), ['flatbuffers', 'libsrtp3', 'libuv', 'openssl', 'unordered-dense']);
	});
});
