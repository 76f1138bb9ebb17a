// Talks to one TURN server the way a client would: an Allocate with
// long-term credentials (after the 401 that gives realm and nonce), an
// optional CreatePermission towards a peer, then a Refresh with lifetime 0
// that frees the allocation. Used by the start-up health check and by tests.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

import { decodeResponse, encodeRequest, messageLength, StunMethod, type StunAddress, type StunRequest, type StunResponse } from './stunMessage.ts';
import { parseTurnUrl, type TurnEndpoint } from './turnUrl.ts';

export type TurnProbeResult =
	| { ok: true; url: string; relayed: StunAddress | undefined; permission?: 'granted' | 'refused'; rttMs: number }
	| { ok: false; url: string; error: string; errorCode?: number };

export type TurnProbeOptions = {
	username: string;
	password: string;
	timeoutMs?: number;
	/** Ask for a permission to this peer after allocating; the result says whether the server granted it. */
	peer?: { ip: string; port: number };
	/** For turns: URLs (e.g. `ca` of a self-signed test certificate); default: the system's trust store. */
	tls?: Pick<ConnectionOptions, 'ca' | 'rejectUnauthorized' | 'servername'>;
};

/** One request/answer channel to the server over its URL's transport. */
type Exchange = { send(request: StunRequest): Promise<StunResponse>; close(): void };

class ProbeTimeout extends Error {}

function openExchange(endpoint: TurnEndpoint, timeoutMs: number, tls: TurnProbeOptions['tls']): Promise<Exchange> {
	const waiting = new Map<string, (response: StunResponse) => void>();
	const deliver = (data: Buffer) => {
		const response = decodeResponse(data);
		if (!response) return;
		const key = response.transactionId.toString('hex');
		waiting.get(key)?.(response);
		waiting.delete(key);
	};
	const request = (write: (bytes: Buffer) => void) => (req: StunRequest) =>
		new Promise<StunResponse>((resolve, reject) => {
			const key = req.transactionId.toString('hex');
			const timer = setTimeout(() => {
				waiting.delete(key);
				reject(new ProbeTimeout(`no answer from ${endpoint.url} within ${timeoutMs} ms`));
			}, timeoutMs);
			waiting.set(key, (response) => {
				clearTimeout(timer);
				resolve(response);
			});
			write(encodeRequest(req));
		});

	if (endpoint.transport === 'udp') {
		const socket = createSocket(endpoint.host.includes(':') ? 'udp6' : 'udp4');
		socket.on('message', deliver);
		socket.on('error', () => undefined);
		return Promise.resolve({ send: request((bytes) => socket.send(bytes, endpoint.port, endpoint.host)), close: () => socket.close() });
	}
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			socket.destroy();
			reject(new ProbeTimeout(`no ${endpoint.transport.toUpperCase()} connection to ${endpoint.url} within ${timeoutMs} ms`));
		}, timeoutMs);
		const onConnect = () => {
			clearTimeout(timer);
			resolve({ send: request((bytes) => socket.write(bytes)), close: () => socket.destroy() });
		};
		const socket: Socket =
			endpoint.transport === 'tls'
				? tlsConnect({ host: endpoint.host, port: endpoint.port, ...(isIP(endpoint.host) ? {} : { servername: endpoint.host }), ...tls }, onConnect)
				: netConnect({ host: endpoint.host, port: endpoint.port }, onConnect);
		// Over TCP and TLS, STUN messages are framed by their own length (RFC 8489 6.2.2).
		let buffered = Buffer.alloc(0);
		socket.on('data', (chunk: Buffer) => {
			buffered = Buffer.concat([buffered, chunk]);
			for (let length = messageLength(buffered); length !== undefined && buffered.length >= length; length = messageLength(buffered)) {
				deliver(buffered.subarray(0, length));
				buffered = buffered.subarray(length);
			}
		});
		socket.on('error', (error) => {
			clearTimeout(timer);
			reject(error);
		});
	});
}

const UDP = 17;

function failure(url: string, response: StunResponse, what: string): TurnProbeResult {
	return { ok: false, url, error: `${what}: ${response.errorCode ?? '?'} ${response.errorReason ?? ''}`.trim(), ...(response.errorCode ? { errorCode: response.errorCode } : {}) };
}

/** Allocates on the TURN server at `url` with these credentials (and asks for a permission to `peer`); never throws. */
export async function probeTurn(url: string, options: TurnProbeOptions): Promise<TurnProbeResult> {
	const timeoutMs = options.timeoutMs ?? 3000;
	const started = Date.now();
	let exchange: Exchange | undefined;
	try {
		const endpoint = parseTurnUrl(url);
		exchange = await openExchange(endpoint, timeoutMs, options.tls);
		const first = await exchange.send({ method: StunMethod.allocate, transactionId: randomBytes(12), requestedTransport: UDP });
		if (first.klass === 'success') return { ok: true, url, relayed: first.xorRelayedAddress, rttMs: Date.now() - started };
		if (first.errorCode !== 401 || first.realm === undefined || first.nonce === undefined) return failure(url, first, 'allocate');
		const auth = { username: options.username, password: options.password, realm: first.realm, nonce: first.nonce };
		const allocated = await exchange.send({ method: StunMethod.allocate, transactionId: randomBytes(12), requestedTransport: UDP, auth });
		if (allocated.klass !== 'success') return failure(url, allocated, 'allocate refused');
		const rttMs = Date.now() - started;
		let permission: 'granted' | 'refused' | undefined;
		if (options.peer) {
			const answer = await exchange.send({ method: StunMethod.createPermission, transactionId: randomBytes(12), peer: options.peer, auth });
			permission = answer.klass === 'success' ? 'granted' : 'refused';
		}
		await exchange.send({ method: StunMethod.refresh, transactionId: randomBytes(12), lifetime: 0, auth }).catch(() => undefined);
		return { ok: true, url, relayed: allocated.xorRelayedAddress, rttMs, ...(permission ? { permission } : {}) };
	} catch (error) {
		return { ok: false, url, error: (error as Error).message };
	} finally {
		exchange?.close();
	}
}
