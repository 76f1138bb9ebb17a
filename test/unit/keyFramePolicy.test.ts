import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { onKeyFrameRequest, onKeyFrameTimer, type KeyFrameState } from '../../src/limits/keyFramePolicy.ts';
import { KeyFrameGate } from '../../src/services/participants/keyFrameGate.ts';

const INTERVAL = 1000;

/** Runs the policy over request times (and the timers they set): the times a request is sent. */
function simulate(requests: number[]): number[] {
	const sent: number[] = [];
	let state: KeyFrameState | undefined;
	let timerAt: number | undefined;
	const events = [...requests];
	for (let t = 0; t <= Math.max(...requests) + 3 * INTERVAL; t++) {
		if (timerAt === t && state) {
			const fired = onKeyFrameTimer(state, t);
			state = fired.state;
			timerAt = undefined;
			if (fired.send) {
				sent.push(t);
				timerAt = t + INTERVAL;
			} else state = undefined;
		}
		while (events[0] === t) {
			events.shift();
			const { decision, state: next } = onKeyFrameRequest(state, t, INTERVAL);
			state = next;
			if (decision.action === 'send') {
				sent.push(t);
				timerAt = t + INTERVAL;
			} else if (decision.action === 'defer') timerAt = decision.at;
		}
	}
	return sent;
}

describe('key-frame coalescing policy', () => {
	it('the first request goes at once; the ones within the interval become one at its end', () => {
		assert.deepEqual(simulate([0]), [0]);
		assert.deepEqual(simulate([0, 10, 20, 999]), [0, 1000]);
		assert.deepEqual(simulate([0, 1000]), [0, 1000]);
		assert.deepEqual(simulate([0, 2500]), [0, 2500]);
	});

	it('45 requests a second for 5 s reach the publisher at most once per interval, and the last asker is served', () => {
		const requests = Array.from({ length: 225 }, (_, i) => Math.floor((i * 1000) / 45));
		const sent = simulate(requests);
		for (let i = 1; i < sent.length; i++) assert.ok(sent[i]! - sent[i - 1]! >= INTERVAL, `${sent[i - 1]} then ${sent[i]}`);
		assert.ok(sent.length <= 6, `${sent.length} sent`);
		assert.ok(sent.at(-1)! >= requests.at(-1)!, 'a request after the last one asked');
	});

	it('a folded request changes nothing; a timer with nothing folded sends nothing', () => {
		const state = { lastSentAt: 0, pending: true };
		assert.deepEqual(onKeyFrameRequest(state, 500, INTERVAL), { decision: { action: 'fold' }, state });
		assert.deepEqual(onKeyFrameTimer({ lastSentAt: 0, pending: false }, 1000), { send: false, state: { lastSentAt: 0, pending: false } });
	});
});

describe('KeyFrameGate', () => {
	it('asks once at once, once more at the interval end, then forgets the stream', async () => {
		const gate = new KeyFrameGate(40);
		const asked: string[] = [];
		for (let i = 0; i < 10; i++) await gate.request('p:0', async () => void asked.push(`a${i}`));
		await gate.request('q:0', async () => void asked.push('q'));
		assert.deepEqual(asked, ['a0', 'q']);
		await new Promise((resolve) => setTimeout(resolve, 60));
		assert.deepEqual(asked, ['a0', 'q', 'a9']);
		await new Promise((resolve) => setTimeout(resolve, 100));
		assert.equal(gate.streams, 0);
	});

	it('interval 0 passes every request', async () => {
		const gate = new KeyFrameGate(0);
		let asked = 0;
		for (let i = 0; i < 5; i++) await gate.request('p:0', async () => void asked++);
		assert.equal(asked, 5);
	});
});
