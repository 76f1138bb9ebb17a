// Prints each worker's RTC ports and the firewall rules for the current
// environment (same variables as the server): `npm run port-plan`.
import { ConfigError, loadConfig } from '../src/config.ts';
import { firewallRange, firewallRules, portPlan } from '../src/services/workers/portPlan.ts';

try {
	const config = loadConfig(process.env);
	const single = config.rtcPortMode === 'single';
	console.log(`RTC_PORT_MODE=${config.rtcPortMode}: ${single ? 'one WebRtcServer port per worker, shared by all its transports' : 'each transport binds its own port of its worker range'}`);
	for (const [workerId, { min, max }] of portPlan(config).entries()) {
		console.log(single ? `worker ${workerId}: ${min} (UDP + TCP)` : `worker ${workerId}: ${min}-${max} (UDP + TCP)`);
	}
	const { min, max } = firewallRange(config);
	console.log(`\nopen ${min === max ? min : `${min}-${max}`} UDP and TCP, and ${config.port}/tcp for HTTP + WebSocket:`);
	for (const rule of firewallRules(config, config.port)) console.log(`  ${rule}`);
} catch (error) {
	if (!(error instanceof ConfigError)) throw error;
	console.error(`configuration error: ${error.message}`);
	process.exit(2);
}
