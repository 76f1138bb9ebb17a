import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
	{ ignores: ['node_modules/', 'public/build/', 'bench/results/', 'tools/offline-worker/glue/', 'test-results/', 'bench/.cache/', 'reports/', '.stryker-tmp/'] },
	js.configs.recommended,
	...tseslint.configs.recommended,
	{
		files: ['**/*.cjs'],
		languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
	},
	{
		languageOptions: {
			globals: { console: 'readonly', process: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', fetch: 'readonly', AbortSignal: 'readonly' },
		},
		rules: {
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
			'@typescript-eslint/consistent-type-imports': 'error',
		},
	},
);
