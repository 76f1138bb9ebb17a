// Which RTC ports each worker owns, and the firewall rules that follow.

export type PortRange = { min: number; max: number };

export type PortPlanInput = {
	workerCount: number;
	rtcBasePort: number;
	rtcPortsPerWorker: number;
};

export function portRangeFor(workerId: number, plan: PortPlanInput): PortRange {
	const min = plan.rtcBasePort + workerId * plan.rtcPortsPerWorker;
	return { min, max: min + plan.rtcPortsPerWorker - 1 };
}

export function portPlan(plan: PortPlanInput): PortRange[] {
	return Array.from({ length: plan.workerCount }, (_, i) => portRangeFor(i, plan));
}

/** The whole RTC span, which is what a firewall needs to open (UDP and TCP). */
export function firewallRange(plan: PortPlanInput): PortRange {
	return {
		min: plan.rtcBasePort,
		max: plan.rtcBasePort + plan.workerCount * plan.rtcPortsPerWorker - 1,
	};
}

export function firewallRules(plan: PortPlanInput, httpPort: number): string[] {
	const { min, max } = firewallRange(plan);
	return [
		`ufw allow ${httpPort}/tcp   # HTTP + WebSocket signalling`,
		`ufw allow ${min}:${max}/udp   # WebRTC media (preferred)`,
		`ufw allow ${min}:${max}/tcp   # WebRTC media over TCP (fallback)`,
	];
}
