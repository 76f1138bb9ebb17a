import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DataRateGuard, type GuardedDataProducer } from '../../src/services/participants/dataRateGuard.ts';

/** A data producer whose counters the test sets; pause/resume as mediasoup's. */
function fakeDataProducer(id: string) {
	const state = { messages: 0, bytes: 0, paused: false, closed: false };
	const producer: GuardedDataProducer = {
		id,
		get closed() {
			return state.closed;
		},
		get paused() {
			return state.paused;
		},
		getStats: async () => [{ type: 'data-producer', timestamp: 0, label: '', protocol: '', messagesReceived: state.messages, bytesReceived: state.bytes }],
		pause: async () => void (state.paused = true),
		resume: async () => void (state.paused = false),
	};
	return { producer, state };
}

function setup(producers: GuardedDataProducer[]) {
	let t = 0;
	const told: boolean[] = [];
	const guard = new DataRateGuard(
		{ dataProducers: () => producers, throttled: (paused) => told.push(paused) },
		{ messagesPerSecond: 10, bytesPerSecond: 10_000 },
		{ windowMs: 1000, now: () => t },
	);
	guard.start();
	return { guard, told, advance: (ms: number) => void (t += ms) };
}

describe('DataRateGuard', () => {
	it('holds every data producer of a peer over the rate, and tells the peer once', async () => {
		const a = fakeDataProducer('a');
		const b = fakeDataProducer('b');
		const { guard, told, advance } = setup([a.producer, b.producer]);
		try {
			advance(1000);
			a.state.messages = 8;
			b.state.messages = 3; // 11 messages in a second, over 10
			await guard.check();
			assert.deepEqual([a.state.paused, b.state.paused], [true, true]);
			assert.deepEqual(told, [true]);
			advance(1000);
			a.state.messages = 30; // still flooding (mediasoup counts while paused)
			await guard.check();
			assert.deepEqual(told, [true], 'no second notification while still held');
			assert.equal(a.state.paused, true);
		} finally {
			guard.stop();
		}
	});

	it('releases at the first window under the limit', async () => {
		const a = fakeDataProducer('a');
		const { guard, told, advance } = setup([a.producer]);
		try {
			advance(1000);
			a.state.bytes = 20_000;
			await guard.check();
			advance(1000);
			a.state.bytes = 25_000; // 5000 B/s
			await guard.check();
			assert.equal(a.state.paused, false);
			assert.deepEqual(told, [true, false]);
		} finally {
			guard.stop();
		}
	});

	it('leaves a peer at the limit alone', async () => {
		const a = fakeDataProducer('a');
		const { guard, told, advance } = setup([a.producer]);
		try {
			for (let i = 1; i <= 3; i++) {
				advance(1000);
				a.state.messages = 10 * i;
				a.state.bytes = 10_000 * i;
				await guard.check();
			}
			assert.equal(a.state.paused, false);
			assert.deepEqual(told, []);
		} finally {
			guard.stop();
		}
	});

	it('holds a data producer made while the peer is held', async () => {
		const a = fakeDataProducer('a');
		const late = fakeDataProducer('late');
		const producers = [a.producer];
		const { guard, advance } = setup(producers);
		try {
			advance(1000);
			a.state.messages = 100;
			await guard.check();
			producers.push(late.producer);
			advance(1000);
			a.state.messages = 200;
			await guard.check();
			assert.equal(late.state.paused, true);
		} finally {
			guard.stop();
		}
	});
});
