import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import type { FastifyInstance } from 'fastify';

import { browserBundle } from './bundle.ts';

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** The demo page at / and the browser bundles it loads. */
export async function registerClientRoutes(app: FastifyInstance): Promise<void> {
	const demoBundle = () => browserBundle(root('client/demo/main.ts'));
	const libraryBundle = () => browserBundle(root('client/tureenClient.ts'));
	const indexHtml = await readFile(root('public/index.html'), 'utf8');

	app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(indexHtml));
	app.get('/app.js', { schema: { hide: true } }, async (_request, reply) =>
		reply.type('text/javascript; charset=utf-8').send(await demoBundle()),
	);
	// The client library alone, as an ES module, for apps of your own.
	app.get('/tureen-client.js', { schema: { hide: true } }, async (_request, reply) =>
		reply.type('text/javascript; charset=utf-8').send(await libraryBundle()),
	);
}
