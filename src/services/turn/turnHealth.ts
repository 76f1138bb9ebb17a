// Checks, at start, that each configured TURN URL answers an Allocate with
// credentials minted the way joins get them; keeps the outcome for /ready and
// /metrics. The probe and the clock are passed in (tests use fakes).
import type { TurnConfig } from '../../config.ts';
import { mintIceServer } from './credentials.ts';
import type { TurnProbeOptions, TurnProbeResult } from './turnProbe.ts';
import { summarizeTurn, type TurnServerStatus, type TurnSummary } from './turnStatus.ts';

export type TurnProbe = (url: string, options: TurnProbeOptions) => Promise<TurnProbeResult>;

/** The username's user part for health checks (a peer id is a UUID or a token `sub`; this is neither). */
export const HEALTH_CHECK_USER = 'tureen-health-check';

export class TurnHealth {
	readonly #turn: TurnConfig;
	readonly #probe: TurnProbe;
	readonly #now: () => number;
	#servers: TurnServerStatus[];

	constructor(turn: TurnConfig, probe: TurnProbe, now: () => number = Date.now) {
		this.#turn = turn;
		this.#probe = probe;
		this.#now = now;
		this.#servers = turn.urls.map((url) => ({ url, state: 'checking' }));
	}

	/** Allocates once on every URL (in parallel); never throws. */
	async check(timeoutMs = 3000): Promise<readonly TurnServerStatus[]> {
		const { username, credential } = mintIceServer(this.#turn, HEALTH_CHECK_USER, this.#now());
		this.#servers = await Promise.all(
			this.#turn.urls.map(async (url): Promise<TurnServerStatus> => {
				const result = await this.#probe(url, { username, password: credential, timeoutMs });
				const checkedAt = this.#now();
				return result.ok ? { url, state: 'up', rttMs: result.rttMs, checkedAt } : { url, state: 'down', error: result.error, checkedAt };
			}),
		);
		return this.#servers;
	}

	get servers(): readonly TurnServerStatus[] {
		return this.#servers;
	}

	get summary(): TurnSummary {
		return summarizeTurn(this.#servers);
	}
}
