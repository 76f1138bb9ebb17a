// Mutated HTTP requests against the API, and what every reply must look like.
import { request as httpRequest } from 'node:http';

import { type Stats, bump, fail } from './oracle.ts';
import { HTTP_BODY_LIMIT, HTTP_CASES, REPLY_TIMEOUT_MS } from './settings.ts';
import { randomString, randomValue, type Rng } from './values.ts';

export type HttpCase = { method: string; path: string; headers: Record<string, string>; body?: Buffer };
export type HttpResult = { status: number; headers: Record<string, string | string[] | undefined>; body: string } | { error: string };

export function rawHttp(baseUrl: string, c: HttpCase): Promise<HttpResult> {
	const url = new URL(baseUrl);
	return new Promise((resolve) => {
		let settled = false;
		const done = (result: HttpResult) => {
			if (settled) return;
			settled = true;
			resolve(result);
		};
		let req: ReturnType<typeof httpRequest>;
		try {
			req = httpRequest(
				{
					host: url.hostname,
					port: url.port,
					method: c.method,
					path: c.path,
					// A connection of its own: a request the parser refuses must not take others down with it.
					agent: false,
					headers: { connection: 'close', ...c.headers, ...(c.body ? { 'content-length': String(c.body.length) } : {}) },
					timeout: REPLY_TIMEOUT_MS,
				},
				(res) => {
					const chunks: Buffer[] = [];
					res.on('data', (chunk: Buffer) => chunks.push(chunk));
					res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
					res.on('error', (error) => done({ error: error.message }));
				},
			);
		} catch (error) {
			// A case Node's client refuses to send is a bug in the generator, not the server.
			throw new Error(`test generated an unsendable HTTP request ${c.method} ${c.path.slice(0, 80)}: ${(error as Error).message}`, { cause: error });
		}
		req.on('timeout', () => {
			req.destroy(new Error('timed out'));
		});
		// The server may answer (e.g. 413) and close before it has read the whole body.
		req.on('error', (error) => done({ error: (error as NodeJS.ErrnoException).code ?? error.message }));
		if (c.body) req.write(c.body);
		req.end();
	});
}

export function httpCases(rng: Rng): HttpCase[] {
	const roomIds = ['fuzz-http', 'fuzz-victims', 'a', 'A_b-9', 'bad%20room', 'tab%09', '', '%00', '..', '..%2f..%2fetc%2fpasswd', 'x'.repeat(64), 'x'.repeat(65), '%F0%9F%94%A5', '%ZZ', '%', 'null', '__proto__', 'constructor'];
	const workerIds = ['0', '1', '2', '-1', '1.5', 'abc', '9999999999999999999999', '0x1', '1e3', '', '%20', '00'];
	const bodies: (() => Buffer | undefined)[] = [
		() => undefined,
		() => Buffer.from(JSON.stringify({ roomId: rng.pick(roomIds) })),
		() => Buffer.from(JSON.stringify({ roomId: rng.pick([5, true, null, ['abc'], { a: 1 }, 1.5]) })),
		() => Buffer.from(JSON.stringify({ roomId: 'fuzz-http', extra: 1 })),
		() => Buffer.from(JSON.stringify(randomValue(rng))),
		() => Buffer.from('{"roomId":'),
		() => Buffer.from('not json at all'),
		() => Buffer.from(''),
		() => Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
		() => Buffer.from(`{"roomId":"${'r'.repeat(HTTP_BODY_LIMIT + rng.int(100_000))}"}`),
		() => Buffer.from(`${'['.repeat(5000)}${']'.repeat(5000)}`),
		() => Buffer.from('{"__proto__":{"roomId":"polluted"}}'),
		() => Buffer.from('{"roomId":"fuzz-http","roomId":"fuzz-http-2"}'),
	];
	const contentTypes = [
		undefined, 'application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain',
		'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'application/JSON',
		'application/json, text/plain', '', ';;;', 'application/vnd.api+json',
	];
	const paths: (() => string)[] = [
		() => '/rooms',
		() => `/rooms/${rng.pick(roomIds)}`,
		() => `/rooms/${rng.pick(roomIds)}/${randomString(rng, 10).replace(/[^A-Za-z0-9]/g, '')}`,
		() => `/workers/${rng.pick(workerIds)}/${rng.pick(['drain', 'undrain', 'stats', ''])}`,
		() => rng.pick(['/workers', '/stats', '/health', '/ready', '/metrics', '/openapi.json', '/docs', '/dashboard', '/', '/ws']),
		() => rng.pick(['/nope', '/rooms/', '//rooms', '/ROOMS', '/rooms?roomId=a', '/stats?x=%ZZ', '/%', '/%2e%2e/', '/rooms/a/../../stats']),
		() => `/${'a/'.repeat(rng.range(1, 2000))}`,
		() => `/rooms/${'x'.repeat(rng.range(100, 6000))}`,
		() => `/${[...Buffer.from(randomString(rng, 30))].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')}`,
	];
	const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'POST', 'GET', 'DELETE'];
	const cases: HttpCase[] = [];
	for (let i = 0; i < HTTP_CASES; i++) {
		const method = rng.pick(methods);
		const path = rng.pick(paths)();
		// Drains are undone at the end; deleting the victims' room is fine (its peers get roomClosed).
		const body = method === 'GET' || method === 'HEAD' ? (rng.chance(0.1) ? Buffer.from('{"x":1}') : undefined) : rng.pick(bodies)();
		const contentType = rng.pick(contentTypes);
		const headers: Record<string, string> = {};
		if (contentType !== undefined && (body || rng.chance(0.3))) headers['content-type'] = contentType;
		if (rng.chance(0.1)) headers.authorization = rng.pick(['Bearer x', 'Basic Zm9v', 'Bearer', '']);
		if (rng.chance(0.05)) headers['transfer-encoding'] = 'identity';
		cases.push({ method, path, headers, ...(body ? { body } : {}) });
	}
	return cases;
}

/** Node's HTTP parser refuses `Transfer-Encoding: identity` before any route runs. */
export function malformedForParser(c: HttpCase): boolean {
	return c.headers['transfer-encoding'] !== undefined;
}

export function checkHttpReply(c: HttpCase, result: HttpResult, stats: Stats): void {
	const what =
		`${c.method} ${c.path.slice(0, 120)} (${c.headers['content-type'] ?? 'no content-type'}, ${c.body?.length ?? 0} B body` +
		`${c.headers['transfer-encoding'] ? `, transfer-encoding: ${c.headers['transfer-encoding']}` : ''})`;
	if ('error' in result) {
		bump(stats.httpStatuses, `error:${result.error}`);
		// Only a body the server refused mid-upload, or a request the HTTP
		// parser refused, may cut the connection without a reply.
		const oversized = (c.body?.length ?? 0) > HTTP_BODY_LIMIT;
		const cut = ['ECONNRESET', 'EPIPE', 'HPE_CLOSED_CONNECTION'].includes(result.error);
		if (!(cut && (oversized || malformedForParser(c)))) fail(stats, `HTTP ${what}: ${result.error}`);
		return;
	}
	bump(stats.httpStatuses, String(result.status));
	if (result.status >= 500 && result.status !== 503) {
		fail(stats, `HTTP ${what} -> ${result.status}: ${result.body.slice(0, 300)}`);
	}
	if (result.status < 400 || c.method === 'HEAD') return;
	const contentType = String(result.headers['content-type'] ?? '');
	let body: { error?: { code?: unknown; message?: unknown } } | undefined;
	try {
		body = JSON.parse(result.body) as typeof body;
	} catch {
		body = undefined;
	}
	const error = body?.error;
	const frameworkKind = frameworkShapeKind(result.body);
	if (frameworkKind) {
		const entry = (stats.httpFrameworkShape[frameworkKind] ??= { count: 0, example: `${what} -> ${result.status} ${result.body.slice(0, 160)}` });
		entry.count++;
		return;
	}
	if (
		!/^application\/json/.test(contentType) ||
		!error ||
		typeof error !== 'object' ||
		typeof error.code !== 'string' ||
		typeof error.message !== 'string' ||
		Object.keys(body ?? {}).length !== 1
	) {
		fail(stats, `HTTP ${what} -> ${result.status} not { error: { code, message } } (${contentType}): ${result.body.slice(0, 300)}`);
	}
}

/**
 * Fastify's own error bodies, `{ error: 'Bad Request', code?, message, statusCode }`,
 * which src/http/app.ts does not reshape: route-lookup errors
 * (frameworkErrors: FST_ERR_BAD_URL, FST_ERR_MAX_PARAM_LENGTH, ...) and
 * the HTTP parser's refusals (clientErrorHandler: 'Client Error').
 */
export function frameworkShapeKind(text: string): string | undefined {
	let body: unknown;
	try {
		body = JSON.parse(text);
	} catch {
		return undefined;
	}
	if (typeof body !== 'object' || body === null) return undefined;
	const { error, code, message, statusCode } = body as Record<string, unknown>;
	if (typeof error !== 'string' || typeof statusCode !== 'number') return undefined;
	if (typeof code === 'string' && code.startsWith('FST_ERR_')) return `frameworkErrors ${code}`;
	if (message === 'Client Error') return 'clientErrorHandler (HTTP parser)';
	return undefined;
}
