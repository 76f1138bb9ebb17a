import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';

import { TureenError } from '../errors.ts';

/** What a join token grants: one room, one identity, until it expires. */
export type JoinClaims = { roomId: string; peer: string; displayName?: string };

const ALGORITHM = 'HS256';

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

/** Throws UNAUTHORIZED (missing, forged, expired) or FORBIDDEN (another room). */
export async function verifyJoinToken(secret: string, token: string | undefined, roomId: string): Promise<JoinClaims> {
	if (!token) throw new TureenError('UNAUTHORIZED', 'this server requires a join token');
	let payload;
	try {
		({ payload } = await jwtVerify(token, key(secret), { algorithms: [ALGORITHM], requiredClaims: ['exp', 'sub', 'room'] }));
	} catch (error) {
		const reason = error instanceof joseErrors.JWTExpired ? 'the join token has expired' : 'the join token is invalid';
		throw new TureenError('UNAUTHORIZED', reason);
	}
	if (payload.room !== roomId) {
		throw new TureenError('FORBIDDEN', `the join token is for another room, not "${roomId}"`);
	}
	return {
		roomId,
		peer: String(payload.sub),
		...(typeof payload.name === 'string' ? { displayName: payload.name } : {}),
	};
}
