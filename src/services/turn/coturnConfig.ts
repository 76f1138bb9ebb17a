// A turnserver.conf (coturn 4.6) that matches Tureen's TURN settings: TURN
// REST API credentials (use-auth-secret), no relaying into private, loopback
// or link-local ranges except the media server's own addresses, quotas.
// Pure: `npm run turn`, the tests and docs/turn.md use the same lines.

/** Ranges a TURN server on the public Internet must never relay to (RFC 6890 special-purpose, private, loopback, link-local, CGNAT). */
export const DENIED_PEER_RANGES: readonly string[] = [
	'0.0.0.0-0.255.255.255',
	'10.0.0.0-10.255.255.255',
	'100.64.0.0-100.127.255.255',
	'127.0.0.0-127.255.255.255',
	'169.254.0.0-169.254.255.255',
	'172.16.0.0-172.31.255.255',
	'192.0.0.0-192.0.0.255',
	'192.0.2.0-192.0.2.255',
	'192.88.99.0-192.88.99.255',
	'192.168.0.0-192.168.255.255',
	'198.18.0.0-198.19.255.255',
	'198.51.100.0-198.51.100.255',
	'203.0.113.0-203.0.113.255',
	'240.0.0.0-255.255.255.255',
	'::1',
	'64:ff9b::-64:ff9b::ffff:ffff',
	'::ffff:0.0.0.0-::ffff:255.255.255.255',
	'100::-100::ffff:ffff:ffff:ffff',
	'2001::-2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff',
	'2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
	'fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
	'fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
];

function isLoopback(ip: string): boolean {
	return ip.startsWith('127.') || ip === '::1';
}

export type CoturnOptions = {
	/** Addresses coturn listens on (one listening-ip line each). */
	listenIps: readonly string[];
	/** TURN over UDP and TCP (3478 by convention). */
	port: number;
	/** TURN over TLS; needs cert and key. 443 in production (reachable through firewalls that pass only HTTPS). */
	tls?: { port: number; cert: string; key: string };
	/** Address relayed traffic leaves from (the public one in production). */
	relayIp: string;
	/** Ports coturn allocates relays on. */
	relayPorts: { min: number; max: number };
	realm: string;
	/** The same value as Tureen's TURN_SECRET. */
	secret: string;
	/** The media server's addresses (ANNOUNCED_IP / WEBRTC_LISTEN_IP): the only private or loopback peers allowed; they win over denied-peer-ip. */
	allowedPeerIps: readonly string[];
	/** Default DENIED_PEER_RANGES. */
	deniedPeerRanges?: readonly string[];
	/** Allocations per username (one peer: its send and receive transports, a few candidates each). */
	userQuota: number;
	/** Allocations on the whole server. */
	totalQuota: number;
	/** Where coturn keeps its pid file, its (unused) user database and its log; never the system's /var paths. */
	stateDir: string;
	/** The external address coturn reports when it is behind NAT (`external-ip`). */
	externalIp?: string;
};

/** turnserver.conf lines for these options (comments included). */
export function coturnConfig(o: CoturnOptions): string {
	const lines = [
		'# Generated for Tureen (src/services/turn/coturnConfig.ts); see docs/turn.md.',
		...o.listenIps.map((ip) => `listening-ip=${ip}`),
		`listening-port=${o.port}`,
		...(o.tls ? [`tls-listening-port=${o.tls.port}`, `cert=${o.tls.cert}`, `pkey=${o.tls.key}`, 'no-tlsv1', 'no-tlsv1_1'] : ['no-tls', 'no-dtls']),
		// DTLS to TURN is something no browser speaks.
		...(o.tls ? ['no-dtls'] : []),
		`relay-ip=${o.relayIp}`,
		...(o.externalIp ? [`external-ip=${o.externalIp}`] : []),
		`min-port=${o.relayPorts.min}`,
		`max-port=${o.relayPorts.max}`,
		`realm=${o.realm}`,
		'# TURN REST API: username "<expiry unix seconds>:<peerId>", password base64(HMAC-SHA1(secret, username)).',
		'use-auth-secret',
		`static-auth-secret=${o.secret}`,
		'fingerprint',
		'# Never a way into the private network: only the media server may be reached among these.',
		'no-multicast-peers',
		...(o.deniedPeerRanges ?? DENIED_PEER_RANGES).map((range) => `denied-peer-ip=${range}`),
		...o.allowedPeerIps.map((ip) => `allowed-peer-ip=${ip}`),
		// coturn refuses every loopback peer unless told otherwise; a media server on loopback (tests, one-box setups) needs it, and denied-peer-ip still covers the rest of 127/8.
		...(o.allowedPeerIps.some(isLoopback) ? ['allow-loopback-peers'] : []),
		`user-quota=${o.userQuota}`,
		`total-quota=${o.totalQuota}`,
		'no-cli',
		'no-rfc5780',
		'no-stun-backward-compatibility',
		'response-origin-only-with-rfc5780',
		`pidfile=${o.stateDir}/turnserver.pid`,
		`userdb=${o.stateDir}/turndb`,
		`log-file=${o.stateDir}/turnserver.log`,
		'simple-log',
	];
	return `${lines.join('\n')}\n`;
}
