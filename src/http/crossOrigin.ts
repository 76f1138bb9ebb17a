import type { IncomingHttpHeaders } from 'node:http';

/**
 * True when a browser sent this request on behalf of a page of another
 * origin: Sec-Fetch-Site says so (modern browsers), or the Origin header
 * names a host other than the one addressed (older ones; "null" from
 * sandboxed frames counts as foreign). Non-browser clients send neither.
 */
export function isCrossOriginBrowserRequest(headers: IncomingHttpHeaders): boolean {
	const site = headers['sec-fetch-site'];
	if (site === 'cross-site' || site === 'same-site') return true;
	const origin = headers.origin;
	if (origin === undefined) return false;
	try {
		return new URL(origin).host.toLowerCase() !== (headers.host ?? '').toLowerCase();
	} catch {
		return true;
	}
}
