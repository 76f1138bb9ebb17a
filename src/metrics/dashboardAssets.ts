import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import type { FastifyInstance, FastifyReply } from 'fastify';

import { browserBundle } from '../http/bundle.ts';

const PAGE_ENTRY = fileURLToPath(new URL('./dashboard/page.ts', import.meta.url));
const PUBLIC_DIR = new URL('../../public/dashboard/', import.meta.url);

const files = new Map<string, Promise<string>>();

/** The page script with Chart.js, bundled in memory on first use. */
export function dashboardBundle(): Promise<string> {
	return browserBundle(PAGE_ENTRY);
}

function publicFile(name: string): Promise<string> {
	let file = files.get(name);
	if (!file) {
		file = readFile(new URL(name, PUBLIC_DIR), 'utf8');
		files.set(name, file);
		file.catch(() => files.delete(name));
	}
	return file;
}

// Everything the page needs is same-origin; nothing may come from a CDN.
const CSP = [
	"default-src 'none'",
	"script-src 'self'",
	"style-src 'self'",
	"connect-src 'self'",
	"img-src 'self' data:",
	"base-uri 'none'",
	"form-action 'none'",
	"frame-ancestors 'none'",
].join('; ');

function asset(reply: FastifyReply, type: string, body: string, headers: Record<string, string> = {}): FastifyReply {
	return reply
		.type(type)
		.headers({ 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', ...headers })
		.send(body);
}

/**
 * GET /dashboard and its two assets. The page and script are not secret; the
 * data they poll (/stats, /rooms) is, and carries the admin token when given.
 */
export function registerDashboardRoutes(app: FastifyInstance, logger: { error(fields: object, message: string): void }): void {
	// Build now so the first visitor does not wait; errors surface on request too.
	dashboardBundle().catch((error: unknown) => logger.error({ err: error }, 'dashboard bundle failed'));

	const hide = { schema: { hide: true } };
	app.get('/dashboard', hide, async (_request, reply) =>
		asset(reply, 'text/html; charset=utf-8', await publicFile('index.html'), {
			'content-security-policy': CSP,
			// The page URL may carry ?token=; keep it out of Referer headers.
			'referrer-policy': 'no-referrer',
		}),
	);
	// The page links its assets relatively, so /dashboard/ would break them.
	app.get('/dashboard/', hide, async (request, reply) => {
		const query = request.url.indexOf('?');
		return reply.redirect(`../dashboard${query === -1 ? '' : request.url.slice(query)}`);
	});
	app.get('/dashboard/dashboard.css', hide, async (_request, reply) =>
		asset(reply, 'text/css; charset=utf-8', await publicFile('dashboard.css')),
	);
	app.get('/dashboard/app.js', hide, async (_request, reply) =>
		asset(reply, 'text/javascript; charset=utf-8', await dashboardBundle()),
	);
}
