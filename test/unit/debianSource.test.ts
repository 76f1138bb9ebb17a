// The deb-src entries the offline worker build hands to apt: twins of the
// machine's Debian deb entries (same URIs, suites, components, key) and
// nothing else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { debSrcEntries } from '../../tools/offline-worker/debian-source.mjs';

const BOOKWORM_SOURCES = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

describe('debSrcEntries', () => {
	it('turns each Debian deb822 stanza into a deb-src one, all else unchanged', () => {
		const { sources, list } = debSrcEntries([{ name: '/etc/apt/sources.list.d/debian.sources', text: BOOKWORM_SOURCES }]);
		assert.equal(list, '');
		assert.equal(
			sources,
			[
				'Types: deb-src',
				'URIs: http://deb.debian.org/debian',
				'Suites: bookworm bookworm-updates',
				'Components: main',
				'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
				'',
				'Types: deb-src',
				'URIs: http://deb.debian.org/debian-security',
				'Suites: bookworm-security',
				'Components: main',
				'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
				'',
			].join('\n'),
		);
	});

	it('keeps options and suites of one-line entries, on any Debian mirror', () => {
		const text = [
			'# comment',
			'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.de.debian.org/debian/ bookworm main contrib',
			'deb http://security.debian.org/debian-security bookworm-security main',
			'deb-src http://deb.debian.org/debian bookworm main',
		].join('\n');
		const { sources, list } = debSrcEntries([{ name: '/etc/apt/sources.list', text }]);
		assert.equal(sources, '');
		assert.equal(
			list,
			'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.de.debian.org/debian/ bookworm main contrib\n' +
				'deb-src http://security.debian.org/debian-security bookworm-security main\n',
		);
	});

	it('leaves out other archives, disabled stanzas and deb-src-only stanzas', () => {
		const text = [
			'Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main',
			'Types: deb\nEnabled: no\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main',
			'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main',
		].join('\n\n');
		const files = [
			{ name: 'a.sources', text },
			{ name: 'b.list', text: 'deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n' },
			{ name: 'c.sources.disabled', text: BOOKWORM_SOURCES },
		];
		assert.deepEqual(debSrcEntries(files), { sources: '', list: '' });
	});
});
