import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Headless Debian Chromium as root, with a fake camera and microphone, and
// loopback ICE candidates so media stays on 127.0.0.1.
const CHROMIUM_ARGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--use-fake-ui-for-media-stream',
	'--use-fake-device-for-media-stream',
	'--allow-loopback-in-peer-connection',
	'--autoplay-policy=no-user-gesture-required',
];

export type TestBrowser = { context: BrowserContext; close(): Promise<void> };

/**
 * A fresh Chromium profile per call; close() removes it. `extraArgs` are
 * per-launch flags such as `--use-file-for-fake-audio-capture=<wav>`, which
 * apply to every page of that browser.
 */
export async function launchBrowser(extraArgs: readonly string[] = []): Promise<TestBrowser> {
	const profile = mkdtempSync(path.join(tmpdir(), 'tureen-chromium-'));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM_PATH,
		headless: true,
		args: [...CHROMIUM_ARGS, ...extraArgs, ...(process.env.CHROMIUM_EXTRA_ARGS?.split(' ').filter(Boolean) ?? [])],
		viewport: { width: 1280, height: 800 },
	});
	return {
		context,
		async close() {
			await context.close().catch(() => undefined);
			rmSync(profile, { recursive: true, force: true });
		},
	};
}
