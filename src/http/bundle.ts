import { build } from 'esbuild';

const bundles = new Map<string, Promise<string>>();

/**
 * Bundles a browser entry point in memory, once per process (esbuild takes
 * about 0.1 s), so pages are always built from the current sources and no
 * build output is ever stale or committed. A failed build is retried on the
 * next call instead of being cached.
 */
export function browserBundle(entryPoint: string): Promise<string> {
	let bundle = bundles.get(entryPoint);
	if (!bundle) {
		bundle = build({
			entryPoints: [entryPoint],
			bundle: true,
			minify: true,
			format: 'esm',
			platform: 'browser',
			target: ['chrome111', 'firefox115', 'safari16'],
			write: false,
			// Bundled libraries' licence comments travel with them.
			legalComments: 'eof',
			logLevel: 'silent',
		}).then((result) => {
			const output = result.outputFiles[0];
			if (!output) throw new Error(`esbuild produced no bundle for ${entryPoint}`);
			return output.text;
		});
		bundles.set(entryPoint, bundle);
		bundle.catch(() => bundles.delete(entryPoint));
	}
	return bundle;
}
