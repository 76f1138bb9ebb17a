import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { firewallRange, firewallRules, portPlan, portRangeFor } from '../../src/services/workers/portPlan.ts';

const DEFAULT_PLAN = { workerCount: 4, rtcBasePort: 10000, rtcPortsPerWorker: 1000 };

describe('portRangeFor', () => {
	it('gives worker i the ports base + i*size .. base + (i+1)*size - 1', () => {
		assert.deepEqual(portRangeFor(0, DEFAULT_PLAN), { min: 10000, max: 10999 });
		assert.deepEqual(portRangeFor(1, DEFAULT_PLAN), { min: 11000, max: 11999 });
		assert.deepEqual(portRangeFor(3, DEFAULT_PLAN), { min: 13000, max: 13999 });
	});

	it('works with small ranges', () => {
		const plan = { workerCount: 3, rtcBasePort: 40000, rtcPortsPerWorker: 2 };
		assert.deepEqual(portRangeFor(2, plan), { min: 40004, max: 40005 });
	});
});

describe('portPlan', () => {
	it('has one range per worker, in workerId order', () => {
		assert.deepEqual(portPlan(DEFAULT_PLAN), [
			{ min: 10000, max: 10999 },
			{ min: 11000, max: 11999 },
			{ min: 12000, max: 12999 },
			{ min: 13000, max: 13999 },
		]);
	});

	it('ranges are contiguous, disjoint and each exactly rtcPortsPerWorker wide', () => {
		for (const workerCount of [1, 2, 3, 7, 16]) {
			for (const rtcPortsPerWorker of [2, 10, 1000]) {
				const plan = { workerCount, rtcBasePort: 20000, rtcPortsPerWorker };
				const ranges = portPlan(plan);
				assert.equal(ranges.length, workerCount);
				assert.equal(ranges[0]!.min, 20000);
				for (const [i, range] of ranges.entries()) {
					// Written out independently of portRangeFor.
					assert.deepEqual(range, { min: 20000 + i * rtcPortsPerWorker, max: 20000 + (i + 1) * rtcPortsPerWorker - 1 });
					assert.equal(range.max - range.min + 1, rtcPortsPerWorker);
					if (i > 0) assert.equal(range.min, ranges[i - 1]!.max + 1);
				}
				assert.equal(ranges.at(-1)!.max, 20000 + workerCount * rtcPortsPerWorker - 1);
				assert.deepEqual(firewallRange(plan), { min: 20000, max: 20000 + workerCount * rtcPortsPerWorker - 1 });
			}
		}
	});

	it('is empty for zero workers', () => {
		assert.deepEqual(portPlan({ ...DEFAULT_PLAN, workerCount: 0 }), []);
	});
});

describe('firewall', () => {
	it('firewallRange spans every worker range', () => {
		assert.deepEqual(firewallRange(DEFAULT_PLAN), { min: 10000, max: 13999 });
		assert.deepEqual(firewallRange({ workerCount: 1, rtcBasePort: 40000, rtcPortsPerWorker: 1000 }), {
			min: 40000,
			max: 40999,
		});
	});

	it('firewallRules open HTTP over TCP and the RTC span over UDP and TCP', () => {
		const rules = firewallRules(DEFAULT_PLAN, 3000);
		assert.equal(rules.length, 3);
		assert.match(rules[0]!, /^ufw allow 3000\/tcp\b/);
		assert.match(rules[1]!, /^ufw allow 10000:13999\/udp\b/);
		assert.match(rules[2]!, /^ufw allow 10000:13999\/tcp\b/);
	});
});

describe('single-port mode (RTC_PORT_MODE=single)', () => {
	const SINGLE = { workerCount: 16, rtcBasePort: 40000, rtcPortsPerWorker: 1000, rtcPortMode: 'single' as const };

	it('gives worker i exactly the port base + i, whatever rtcPortsPerWorker says', () => {
		assert.deepEqual(portRangeFor(0, SINGLE), { min: 40000, max: 40000 });
		assert.deepEqual(portRangeFor(15, SINGLE), { min: 40015, max: 40015 });
		assert.deepEqual(portPlan({ ...SINGLE, workerCount: 3 }), [
			{ min: 40000, max: 40000 },
			{ min: 40001, max: 40001 },
			{ min: 40002, max: 40002 },
		]);
	});

	it('a 16-worker machine opens 16 UDP + 16 TCP ports', () => {
		assert.deepEqual(firewallRange(SINGLE), { min: 40000, max: 40015 });
		const rules = firewallRules(SINGLE, 3000);
		assert.equal(rules.length, 3);
		assert.match(rules[0]!, /^ufw allow 3000\/tcp\b/);
		assert.match(rules[1]!, /^ufw allow 40000:40015\/udp\b.*one port per worker \(16 workers\)/);
		assert.match(rules[2]!, /^ufw allow 40000:40015\/tcp\b.*one port per worker/);
	});

	it('one worker: a single port, not a range', () => {
		const rules = firewallRules({ ...SINGLE, workerCount: 1 }, 8080);
		assert.match(rules[1]!, /^ufw allow 40000\/udp\b/);
		assert.match(rules[2]!, /^ufw allow 40000\/tcp\b/);
	});

	it('range mode is what an absent mode means', () => {
		assert.deepEqual(portPlan({ ...SINGLE, rtcPortMode: 'range', workerCount: 2 }), portPlan({ workerCount: 2, rtcBasePort: 40000, rtcPortsPerWorker: 1000 }));
	});
});
