// What Tureen reports about its TURN servers (/ready details, metrics). Pure.

/** One TURN URL's last check. `checking` until the first one ends. */
export type TurnServerStatus =
	| { url: string; state: 'checking' }
	| { url: string; state: 'up'; rttMs: number; checkedAt: number }
	| { url: string; state: 'down'; error: string; checkedAt: number };

/** up: every URL answered an allocate; partial: some did; down: none; checking: not all known yet. */
export type TurnSummary = 'up' | 'partial' | 'down' | 'checking';

export function summarizeTurn(servers: readonly TurnServerStatus[]): TurnSummary {
	if (servers.some((s) => s.state === 'checking')) return 'checking';
	const up = servers.filter((s) => s.state === 'up').length;
	return up === servers.length ? 'up' : up === 0 ? 'down' : 'partial';
}
