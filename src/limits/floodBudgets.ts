import type { FloodLimits } from '../config.ts';
import { KeyedBudget } from './keyedBudget.ts';

/**
 * Issue 21's budgets shared across sockets (findings 5 and 6): requests and
 * joins per address, joins per identity in a room. One set per server.
 */
export type FloodBudgets = {
	/** Every frame of every socket of an address; a bucket of two seconds' worth, as per socket. */
	requests: KeyedBudget;
	/** Joins of every socket of an address; a bucket of a minute's worth. */
	joins: KeyedBudget;
	/** Joins of one token identity in one room (key: identityJoinKey). */
	identityJoins: KeyedBudget;
};

export function floodBudgets(limits: FloodLimits, now: () => number = Date.now): FloodBudgets {
	const perMinute = (n: number) => ({ capacity: n, perSecond: n / 60 });
	return {
		requests: new KeyedBudget({ capacity: 2 * limits.requestsPerIpPerSecond, perSecond: limits.requestsPerIpPerSecond }, now),
		joins: new KeyedBudget(perMinute(limits.joinsPerIpPerMinute), now),
		identityJoins: new KeyedBudget(perMinute(limits.joinsPerIdentityPerMinute), now),
	};
}

export function identityJoinKey(roomId: string, identity: string): string {
	return `${roomId}\n${identity}`;
}
