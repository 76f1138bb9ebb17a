// `npm run turn`: a local coturn (Debian's turnserver) configured to match
// Tureen's TURN settings, on loopback, until Ctrl-C (stopped by its PID, its
// temp dir removed). Prints the environment to start Tureen with.
//
//   TURN_SECRET      shared with Tureen (default: a random one, printed)
//   TURN_HOST        where coturn listens and relays from (default 127.0.0.1)
//   TURN_PORT        TURN over UDP and TCP (default 3478)
//   TURN_TLS_PORT    TURN over TLS with a self-signed certificate (default 5349; browsers need it trusted)
//   WEBRTC_LISTEN_IP the media server address coturn may relay to (default 127.0.0.2: Linux routes all of
//                    127/8 to lo, and keeping Tureen off coturn's 127.0.0.1 lets the denied ranges cover the rest)
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

import { startCoturn, TURNSERVER } from '../test/support/coturn.ts';

if (!existsSync(TURNSERVER)) {
	console.error(`${TURNSERVER} is missing: apt-get install coturn (or npm run pretest, which installs it)`);
	process.exit(2);
}
const secret = process.env.TURN_SECRET ?? randomBytes(24).toString('base64url');
const host = process.env.TURN_HOST ?? '127.0.0.1';
const mediaIp = process.env.WEBRTC_LISTEN_IP ?? '127.0.0.2';
const port = Number(process.env.TURN_PORT ?? 3478);
const tlsPort = Number(process.env.TURN_TLS_PORT ?? 5349);

const coturn = await startCoturn({ secret, allowedPeerIps: [mediaIp], tls: true, host, port, tlsPort, relayPorts: { min: 49160, max: 49260 } });
const urls = [`turn:${host}:${port}?transport=udp`, `turn:${host}:${port}?transport=tcp`, `turns:${host}:${tlsPort}?transport=tcp`];
console.log(`coturn (pid ${coturn.pid}) on ${host}: UDP+TCP ${port}, TLS ${tlsPort} (self-signed), relays only to ${mediaIp} among private/loopback addresses.`);
console.log('\nStart Tureen with:\n');
console.log(`  WEBRTC_LISTEN_IP=${mediaIp} TURN_URLS='${urls.join(',')}' TURN_SECRET='${secret}' npm start\n`);
console.log('Open the demo with ?relay=on to send media only through TURN. Ctrl-C stops coturn.');

let stopping = false;
const stop = () => {
	if (stopping) return;
	stopping = true;
	void coturn.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
