// TURN REST API credentials (draft-uberti-behave-turn-rest-00), the scheme
// coturn checks with `use-auth-secret` + `static-auth-secret`: the username is
// `<expiry unix seconds>:<peerId>`, the password base64(HMAC-SHA1(secret,
// username)). coturn refuses a username whose expiry has passed, for every
// authenticated request (allocate, refresh, permissions), so the TTL bounds a
// relayed session too. Pure: the clock is an argument.
import { createHmac } from 'node:crypto';

/** One RTCIceServer as the join answer carries it (the shape browsers and mediasoup-client take). */
export type IceServer = { urls: string[]; username: string; credential: string };

export type TurnSettings = {
	/** turn:/turns: URLs (RFC 7065) clients are given. */
	urls: readonly string[];
	/** coturn's static-auth-secret. */
	secret: string;
	/** Seconds a minted credential stays valid. */
	ttlSeconds: number;
};

/** The password coturn expects for `username`. */
export function turnPassword(secret: string, username: string): string {
	return createHmac('sha1', secret).update(username).digest('base64');
}

/** `expiry:user`, expiry = now + ttl in whole unix seconds. */
export function turnUsername(user: string, nowMs: number, ttlSeconds: number): string {
	return `${Math.floor(nowMs / 1000) + ttlSeconds}:${user}`;
}

/** Short-lived TURN credentials for `user` (a peer id), valid ttlSeconds from nowMs. */
export function mintIceServer(settings: TurnSettings, user: string, nowMs: number): IceServer {
	const username = turnUsername(user, nowMs, settings.ttlSeconds);
	return { urls: [...settings.urls], username, credential: turnPassword(settings.secret, username) };
}

/** Unix seconds at which a minted username stops working; undefined when it is no REST API username. */
export function turnExpiry(username: string): number | undefined {
	const match = /^(\d+):/.exec(username);
	return match ? Number(match[1]) : undefined;
}
