// A TURN URL (RFC 7065) as a socket needs it. Pure.
export type TurnTransport = 'udp' | 'tcp' | 'tls';
export type TurnEndpoint = { url: string; host: string; port: number; transport: TurnTransport };

/** turn:host[:port][?transport=udp|tcp] (default UDP, port 3478); turns:host[:port] is TLS (default port 5349). */
export function parseTurnUrl(url: string): TurnEndpoint {
	const match = /^(turns?):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/.exec(url);
	if (!match) throw new Error(`not a TURN URL: ${url}`);
	const secure = match[1] === 'turns';
	const host = match[2]!.replace(/^\[|\]$/g, '');
	const transport: TurnTransport = secure ? 'tls' : match[4] === 'tcp' ? 'tcp' : 'udp';
	return { url, host, port: match[3] ? Number(match[3]) : secure ? 5349 : 3478, transport };
}
