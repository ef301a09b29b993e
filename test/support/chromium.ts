import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (test/setup/debian-deps.sh installs it); LAYERFS_CHROMIUM overrides. */
export const CHROMIUM = process.env.LAYERFS_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

/**
 * Headless Chromium as root on a machine with no outside network: no sandbox (root), and
 * none of the background connections that would be refused at every start. (Playwright
 * gives each launch a new empty profile itself.)
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}
