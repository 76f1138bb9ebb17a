import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';

import { DEFAULT_MAX_TOKEN_TTL_SECONDS } from '../config.ts';
import { TureenError } from '../errors.ts';

/** What a join token grants: one room, one identity, until it expires. */
export type JoinClaims = { roomId: string; peer: string; displayName?: string };

/** A checked token: its claims and when the session it opens must end (epoch ms). */
export type VerifiedJoin = JoinClaims & { expiresAt: number };

const ALGORITHM = 'HS256';
// Same bounds the join request puts on a displayName, and on mint-token's --peer.
const MAX_NAME_LENGTH = 64;
const MAX_SUBJECT_LENGTH = 256;

function key(secret: string): Uint8Array {
	return new TextEncoder().encode(secret);
}

export async function mintJoinToken(
	secret: string,
	claims: JoinClaims,
	expiresInSeconds: number,
): Promise<string> {
	return new SignJWT({ room: claims.roomId, ...(claims.displayName ? { name: claims.displayName } : {}) })
		.setProtectedHeader({ alg: ALGORITHM })
		.setSubject(claims.peer)
		.setIssuedAt()
		.setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
		.sign(key(secret));
}

const invalid = (why: string) => new TureenError('UNAUTHORIZED', `the join token is invalid: ${why}`);

/**
 * Throws UNAUTHORIZED (missing, forged, expired, lifetime above
 * maxTtlSeconds, bad sub or name claim) or FORBIDDEN (another room).
 */
export async function verifyJoinToken(
	secret: string,
	token: string | undefined,
	roomId: string,
	maxTtlSeconds = DEFAULT_MAX_TOKEN_TTL_SECONDS,
): Promise<VerifiedJoin> {
	if (!token) throw new TureenError('UNAUTHORIZED', 'this server requires a join token');
	let payload;
	try {
		({ payload } = await jwtVerify(token, key(secret), { algorithms: [ALGORITHM], requiredClaims: ['exp', 'iat', 'sub', 'room'] }));
	} catch (error) {
		const reason = error instanceof joseErrors.JWTExpired ? 'the join token has expired' : 'the join token is invalid';
		throw new TureenError('UNAUTHORIZED', reason);
	}
	if (payload.room !== roomId) {
		throw new TureenError('FORBIDDEN', `the join token is for another room, not "${roomId}"`);
	}
	// Stryker disable next-line StringLiteral: sub is a required claim (jwtVerify above), so its default never applies.
	const { exp = 0, iat = 0, sub = '' } = payload;
	if (exp - iat > maxTtlSeconds) throw invalid(`it lives ${exp - iat} s; this server accepts at most ${maxTtlSeconds} s (MAX_TOKEN_TTL)`);
	if (sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH) throw invalid(`sub must be 1-${MAX_SUBJECT_LENGTH} characters`);
	let displayName: string | undefined;
	if (payload.name !== undefined) {
		displayName = typeof payload.name === 'string' ? payload.name.trim() : '';
		if (displayName.length === 0 || displayName.length > MAX_NAME_LENGTH) throw invalid(`name must be 1-${MAX_NAME_LENGTH} characters`);
	}
	return { roomId, peer: sub, ...(displayName ? { displayName } : {}), expiresAt: exp * 1000 };
}
