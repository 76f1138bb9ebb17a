import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConnectionCounter } from '../../src/limits/connectionCounter.ts';
import { ClientMistakeLog, LogThrottle } from '../../src/limits/logThrottle.ts';
import { WindowCounter } from '../../src/limits/windowCounter.ts';
import { isCrossOriginBrowserRequest } from '../../src/http/crossOrigin.ts';

describe('WindowCounter', () => {
	it('allows max per key per window, then again in the next window', () => {
		let now = 0;
		const counter = new WindowCounter(2, 60_000, () => now);
		assert.deepEqual([counter.tryTake('a'), counter.tryTake('a'), counter.tryTake('a'), counter.tryTake('b')], [true, true, false, true]);
		now = 59_999;
		assert.equal(counter.tryTake('a'), false);
		now = 60_000;
		assert.equal(counter.tryTake('a'), true);
	});

	it('forgets keys whose window has passed (memory bounded by active keys)', () => {
		let now = 0;
		const counter = new WindowCounter(1, 1000, () => now);
		for (let i = 0; i < 500; i++) counter.tryTake(`ip-${i}`);
		assert.equal(counter.keys, 500);
		now = 1000;
		counter.tryTake('fresh');
		assert.equal(counter.keys, 1);
	});
});

describe('LogThrottle and ClientMistakeLog', () => {
	it('one line per key per window, reporting how many were held back', () => {
		let now = 0;
		const throttle = new LogThrottle(1000, () => now);
		assert.equal(throttle.take('k'), 0);
		assert.equal(throttle.take('k'), undefined);
		assert.equal(throttle.take('k'), undefined);
		assert.equal(throttle.take('other'), 0);
		now = 1000;
		assert.equal(throttle.take('k'), 2);
	});

	it('ClientMistakeLog warns through the throttle with the suppressed count', () => {
		let now = 0;
		const lines: object[] = [];
		const log = new ClientMistakeLog({ warn: (fields) => lines.push(fields) }, new LogThrottle(1000, () => now));
		for (let i = 0; i < 5; i++) log.warn('k', { i }, 'm');
		now = 1000;
		log.warn('k', { i: 5 }, 'm');
		assert.deepEqual(lines, [{ i: 0 }, { i: 5, suppressedSinceLast: 4 }]);
	});
});

describe('ConnectionCounter', () => {
	it('caps per address and in total; release frees the slot', () => {
		const counter = new ConnectionCounter({ connectionsPerIp: 2, connections: 3 });
		assert.equal(counter.admit('a'), undefined);
		assert.equal(counter.admit('a'), undefined);
		assert.deepEqual(counter.admit('a'), { limit: 'connectionsPerIp', max: 2 });
		assert.equal(counter.admit('b'), undefined);
		assert.deepEqual(counter.admit('c'), { limit: 'connections', max: 3 });
		counter.release('a');
		assert.equal(counter.total, 2);
		assert.equal(counter.admit('c'), undefined);
		// Releasing an address with nothing open changes nothing.
		counter.release('zzz');
		assert.equal(counter.total, 3);
	});
});

describe('isCrossOriginBrowserRequest', () => {
	const cases: [Record<string, string>, boolean][] = [
		[{}, false],
		[{ host: 'h:3000' }, false],
		[{ host: 'h:3000', origin: 'http://h:3000' }, false],
		[{ host: 'h:3000', origin: 'http://H:3000' }, false],
		[{ host: 'h:3000', origin: 'http://h:3001' }, true],
		[{ host: 'h:3000', origin: 'https://evil.example' }, true],
		[{ host: 'h:3000', origin: 'null' }, true],
		[{ host: 'h:3000', 'sec-fetch-site': 'same-origin' }, false],
		[{ host: 'h:3000', 'sec-fetch-site': 'none' }, false],
		[{ host: 'h:3000', 'sec-fetch-site': 'same-site' }, true],
		[{ host: 'h:3000', 'sec-fetch-site': 'cross-site' }, true],
	];
	for (const [headers, expected] of cases) {
		it(`${JSON.stringify(headers)} -> ${expected}`, () => assert.equal(isCrossOriginBrowserRequest(headers), expected));
	}
});
