#!/usr/bin/env node
// Mutation testing of the pure modules (`npm run test:mutation`): Stryker
// mutates one module at a time and runs only that module's unit tests (the
// command runner with node:test), so each mutant costs a second or two.
// Prints Stryker's report per module, then the score of each; exits non-zero
// when a module scores below BREAK. Not part of `npm test` or CI.
//   npm run test:mutation                 every module
//   npm run test:mutation -- placement    the modules whose name contains "placement"
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BREAK = 85;
const CONCURRENCY = Number(process.env.STRYKER_CONCURRENCY ?? 2);

/** Each pure module and the tests that must kill its mutants. */
const MODULES = [
	{ name: 'placement', mutate: ['src/services/workers/placement.ts'], tests: ['test/unit/placement.test.ts'] },
	{ name: 'peerPlacement', mutate: ['src/services/workers/peerPlacement.ts'], tests: ['test/unit/peerPlacement.test.ts'] },
	{ name: 'nodeSelection', mutate: ['src/cluster/nodeSelection.ts'], tests: ['test/unit/nodeSelection.test.ts'] },
	{ name: 'respawnPolicy', mutate: ['src/services/workers/respawnPolicy.ts'], tests: ['test/unit/respawnPolicy.test.ts'] },
	{ name: 'dynacastPolicy', mutate: ['src/services/participants/dynacastPolicy.ts'], tests: ['test/unit/dynacastPolicy.test.ts'] },
	{ name: 'layerChoice', mutate: ['client/layerChoice.ts'], tests: ['test/unit/layerChoice.test.ts'] },
	{ name: 'portPlan', mutate: ['src/services/workers/portPlan.ts'], tests: ['test/unit/portPlan.test.ts'] },
	{ name: 'config', mutate: ['src/config.ts'], tests: ['test/unit/config.test.ts', 'test/unit/config-limits.test.ts'] },
	{ name: 'rateLimit', mutate: ['src/signalling/rateLimit.ts'], tests: ['test/unit/rateLimit.test.ts'] },
	{ name: 'auth', mutate: ['src/auth/joinToken.ts', 'src/auth/adminToken.ts'], tests: ['test/unit/auth.test.ts'] },
	{ name: 'audioLevelsPolicy', mutate: ['src/services/rooms/audioLevelsPolicy.ts'], tests: ['test/unit/audioLevelsPolicy.test.ts'] },
	{ name: 'dataRate', mutate: ['src/services/participants/dataRatePolicy.ts'], tests: ['test/unit/dataRate.test.ts'] },
	{ name: 'chatFrames', mutate: ['src/protocol/chat.ts'], tests: ['test/unit/chat.test.ts'] },
	{ name: 'tokenBucket', mutate: ['src/limits/tokenBucket.ts'], tests: ['test/unit/tokenBucket.test.ts'] },
	{ name: 'consumeOnce', mutate: ['src/limits/consumeOnce.ts'], tests: ['test/unit/consumeOnce.test.ts'] },
	{ name: 'outgoingBitrate', mutate: ['src/limits/outgoingBitrate.ts'], tests: ['test/unit/outgoingBitrate.test.ts'] },
	{ name: 'keyFramePolicy', mutate: ['src/limits/keyFramePolicy.ts'], tests: ['test/unit/keyFramePolicy.test.ts'] },
	{ name: 'announcePolicy', mutate: ['src/limits/announcePolicy.ts'], tests: ['test/unit/announcePolicy.test.ts'] },
	{ name: 'reclaimPolicy', mutate: ['src/cluster/reclaimPolicy.ts'], tests: ['test/unit/reclaimPolicy.test.ts'] },
	{ name: 'nodeIdPolicy', mutate: ['src/cluster/nodeIdPolicy.ts'], tests: ['test/unit/nodeIdPolicy.test.ts'] },
	{ name: 'qualityBadge', mutate: ['client/demo/quality.ts'], tests: ['test/unit/qualityBadge.test.ts'] },
];

const filter = process.argv[2];
const selected = MODULES.filter((m) => !filter || m.name.toLowerCase().includes(filter.toLowerCase()));
if (selected.length === 0) {
	console.error(`no module matches "${filter}"; modules: ${MODULES.map((m) => m.name).join(', ')}`);
	process.exit(2);
}

const workDir = path.join(root, 'reports', 'mutation');
fs.mkdirSync(workDir, { recursive: true });

// Stryker's own definition: killed and timed-out mutants over every mutant that ran.
function score(reportFile) {
	const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
	const counts = {};
	const survivors = [];
	for (const [file, { mutants }] of Object.entries(report.files)) {
		for (const mutant of mutants) {
			counts[mutant.status] = (counts[mutant.status] ?? 0) + 1;
			if (mutant.status === 'Survived' || mutant.status === 'NoCoverage') {
				survivors.push(`${file}:${mutant.location.start.line} ${mutant.mutatorName}${mutant.replacement ? ` -> ${mutant.replacement}` : ''}`);
			}
		}
	}
	const detected = (counts.Killed ?? 0) + (counts.Timeout ?? 0);
	const valid = detected + (counts.Survived ?? 0) + (counts.NoCoverage ?? 0);
	return { score: valid === 0 ? 100 : (100 * detected) / valid, detected, valid, ignored: counts.Ignored ?? 0, survivors };
}

const results = [];
for (const module of selected) {
	const reportFile = path.join(workDir, `${module.name}.json`);
	const config = {
		$schema: '../../node_modules/@stryker-mutator/core/schema/stryker-schema.json',
		testRunner: 'command',
		commandRunner: { command: `node --import tsx --test ${module.tests.join(' ')}` },
		mutate: module.mutate,
		coverageAnalysis: 'off',
		concurrency: CONCURRENCY,
		reporters: ['clear-text', 'json'],
		jsonReporter: { fileName: reportFile },
		clearTextReporter: { allowColor: false, logTests: false },
		tempDirName: '.stryker-tmp',
		ignorePatterns: ['reports', 'test-results', 'bench/.cache', 'public/build'],
		timeoutMS: 20_000,
	};
	const configFile = path.join(workDir, `${module.name}.config.json`);
	fs.writeFileSync(configFile, JSON.stringify(config, null, '\t'));
	console.log(`\n=== mutation testing ${module.mutate.join(', ')} with ${module.tests.join(', ')}`);
	const run = spawnSync('npx', ['stryker', 'run', configFile], { cwd: root, stdio: 'inherit' });
	if (run.status !== 0 || !fs.existsSync(reportFile)) {
		console.error(`stryker failed for ${module.name} (exit ${run.status})`);
		process.exit(1);
	}
	results.push({ module, ...score(reportFile) });
}

console.log('\nmutation score per module (killed + timed out / all that ran):');
for (const { module, score: s, detected, valid, ignored, survivors } of results) {
	const note = ignored > 0 ? `, ${ignored} equivalent marked in the source` : '';
	console.log(`  ${module.name.padEnd(14)} ${s.toFixed(1).padStart(5)}%  (${detected}/${valid}${note})${s < BREAK ? `  below ${BREAK}%` : ''}`);
	for (const survivor of survivors) console.log(`      survived: ${survivor}`);
}
const failing = results.filter((r) => r.score < BREAK);
process.exit(failing.length > 0 ? 1 : 0);
