import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';

const PAGE_ENTRY = fileURLToPath(new URL('./dashboard/page.ts', import.meta.url));
const PUBLIC_DIR = new URL('../../public/dashboard/', import.meta.url);

// Module-wide: the source cannot change while the process runs, so every
// server in the process shares one build (and one read of each file).
let bundle: Promise<string> | undefined;
const files = new Map<string, Promise<string>>();

/** The page script with Chart.js, bundled in memory on first use (~0.1 s). */
export function dashboardBundle(): Promise<string> {
	bundle ??= build({
		entryPoints: [PAGE_ENTRY],
		bundle: true,
		write: false,
		format: 'iife',
		platform: 'browser',
		target: ['chrome110', 'firefox115', 'safari16'],
		minify: true,
		// Chart.js is MIT: its licence comment has to travel with it.
		legalComments: 'eof',
		logLevel: 'silent',
	}).then((result) => {
		const output = result.outputFiles[0];
		if (!output) throw new Error('esbuild produced no dashboard bundle');
		return output.text;
	});
	// A failed build is retried on the next request instead of being cached.
	bundle.catch(() => (bundle = undefined));
	return bundle;
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
export function registerDashboardRoutes(app: FastifyInstance, logger: Logger): void {
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
