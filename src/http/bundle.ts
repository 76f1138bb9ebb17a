import { build } from 'esbuild';

/**
 * Bundles a browser entry point in memory, once per process: esbuild takes
 * about 0.1 s, so pages are always built from the current sources and no
 * build output is ever stale or committed.
 */
export function browserBundle(entryPoint: string): () => Promise<string> {
	let bundle: Promise<string> | undefined;
	return () => {
		bundle ??= build({
			entryPoints: [entryPoint],
			bundle: true,
			minify: true,
			format: 'esm',
			platform: 'browser',
			target: ['chrome111', 'firefox115', 'safari16'],
			write: false,
			sourcemap: 'inline',
			logLevel: 'silent',
		}).then((result) => result.outputFiles[0]?.text ?? '');
		return bundle;
	};
}
