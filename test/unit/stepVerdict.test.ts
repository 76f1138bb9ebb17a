import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { deficitOf, judgeStep, type ConsumerWindow } from '../../bench/stepVerdict.ts';

const limits = { lossThreshold: 0.01, backlogThreshold: 0.03, stallShare: 0.5 };
const healthy = (key: string): ConsumerWindow => ({ key, sent: 1000, received: 1000, expected: 1000 });
const many = (n: number) => Array.from({ length: n }, (_, i) => healthy(`c${i}`));

describe('judgeStep', () => {
	it('passes when every consumer received what was sent', () => {
		const v = judgeStep(many(100), limits);
		assert.equal(v.good, true);
		assert.deepEqual(v.reasons, []);
		assert.equal(v.consumers, 100);
	});

	it('fails on one stalled consumer among two hundred, though the aggregate stays within 1%', () => {
		const consumers = [...many(199), { key: 'quiet', sent: 1000, received: 0, expected: 0 }];
		assert.ok(deficitOf(consumers) <= 0.01);
		const v = judgeStep(consumers, limits);
		assert.equal(v.good, false);
		assert.equal(v.stalled, 1);
		assert.match(v.reasons[0]!, /stalled \(e\.g\. quiet: 0 of 1000/);
	});

	it('fails on one consumer losing more than 1% while the others lose nothing', () => {
		const consumers = [...many(99), { key: 'gappy', sent: 1000, received: 980, expected: 1000 }];
		const v = judgeStep(consumers, limits);
		assert.equal(v.good, false);
		assert.equal(v.lossy, 1);
		assert.equal(v.worstLoss, 0.02);
	});

	it('passes at exactly the threshold', () => {
		const v = judgeStep([...many(9), { key: 'edge', sent: 1000, received: 990, expected: 1000 }], limits);
		assert.equal(v.good, true);
	});

	it('fails when all consumers together fall behind what was sent by more than the backlog threshold', () => {
		const queued = Array.from({ length: 10 }, (_, i) => ({ key: `q${i}`, sent: 1000, received: 980, expected: 980 }));
		assert.equal(judgeStep(queued, limits).good, true);
		const behind = Array.from({ length: 10 }, (_, i) => ({ key: `b${i}`, sent: 1000, received: 950, expected: 950 }));
		const v = judgeStep(behind, limits);
		assert.equal(v.good, false);
		assert.ok(Math.abs(v.deficit - 0.05) < 1e-12);
		assert.match(v.reasons.join(), /falling behind/);
	});

	it('accepts a draining backlog (received more than sent)', () => {
		const v = judgeStep([{ key: 'd', sent: 1000, received: 1030, expected: 1030 }], limits);
		assert.equal(v.good, true);
		assert.ok(v.deficit < 0);
	});

	it('fails when nothing was measured', () => {
		assert.equal(judgeStep([], limits).good, false);
	});
});
