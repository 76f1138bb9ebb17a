// Which RTC ports each worker owns, and the firewall rules that follow.
import type { RtcPortMode } from '../../protocol/stats.ts';

export type PortRange = { min: number; max: number };

export type PortPlanInput = {
	workerCount: number;
	rtcBasePort: number;
	rtcPortsPerWorker: number;
	/** Absent = 'range'. */
	rtcPortMode?: RtcPortMode;
};

/** Ports each worker owns: rtcPortsPerWorker in range mode, one in single mode. */
export function portsPerWorker(plan: PortPlanInput): number {
	return plan.rtcPortMode === 'single' ? 1 : plan.rtcPortsPerWorker;
}

export function portRangeFor(workerId: number, plan: PortPlanInput): PortRange {
	const size = portsPerWorker(plan);
	const min = plan.rtcBasePort + workerId * size;
	return { min, max: min + size - 1 };
}

export function portPlan(plan: PortPlanInput): PortRange[] {
	return Array.from({ length: plan.workerCount }, (_, i) => portRangeFor(i, plan));
}

/** The whole RTC span, which is what a firewall needs to open (UDP and TCP). */
export function firewallRange(plan: PortPlanInput): PortRange {
	return {
		min: plan.rtcBasePort,
		max: plan.rtcBasePort + plan.workerCount * portsPerWorker(plan) - 1,
	};
}

export function firewallRules(plan: PortPlanInput, httpPort: number): string[] {
	const { min, max } = firewallRange(plan);
	const span = min === max ? String(min) : `${min}:${max}`;
	const what = plan.rtcPortMode === 'single' ? `one port per worker (${plan.workerCount} workers)` : 'per-transport ports';
	return [
		`ufw allow ${httpPort}/tcp   # HTTP + WebSocket signalling`,
		`ufw allow ${span}/udp   # WebRTC media (preferred), ${what}`,
		`ufw allow ${span}/tcp   # WebRTC media over TCP (fallback), ${what}`,
	];
}
