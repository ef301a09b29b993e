import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { openImage, type Layer } from '../../src/index.js';
import { DEMO_IMAGE } from '../../src/demo/walkthrough.js';
import { bundlePage } from '../../src/serve/bundle-page.js';
import { startTeachingServer, type TeachingServer } from '../../src/serve/server.js';
import { chromiumAvailable, CHROMIUM, launchChromium } from './chromium.js';

/** The teaching page on the demo image, bundled fresh, served, and a headless Chromium to open it in. */
export interface TeachingPageRig {
  server: TeachingServer;
  browser: Browser;
  /** The demo image's layers, as the server hands them to the page. */
  layers: Layer[];
  /** Errors thrown in any page opened with {@link open}. */
  errors: string[];
  /** A new page at this viewport, reduced motion, ready to use (its engine started). */
  open(width: number, height: number): Promise<Page>;
  close(): Promise<void>;
}

export async function startTeachingPage(): Promise<TeachingPageRig> {
  if (!chromiumAvailable()) throw new Error(`${CHROMIUM} is missing: test/setup/debian-deps.sh installs Debian's chromium`);
  const work = fs.mkdtempSync(join(tmpdir(), 'lfs-page-'));
  try {
    const pageDir = join(work, 'page');
    await bundlePage(pageDir);
    const layers = (await openImage(DEMO_IMAGE)).layers.map((l) => l.layer);
    const server = await startTeachingServer({ name: 'images/demo', layers, pageDir });
    const browser = await launchChromium().catch(async (e: unknown) => {
      await server.close();
      throw e;
    });
    const errors: string[] = [];
    return {
      server, browser, layers, errors,
      async open(width, height) {
        const page = await browser.newPage({ viewport: { width, height } });
        page.on('pageerror', (e) => errors.push(`${width} px: ${e.message}`));
        await page.emulateMedia({ reducedMotion: 'reduce' });
        await page.goto(server.url);
        await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 20_000 });
        return page;
      },
      async close() {
        await browser.close();
        await server.close();
        fs.rmSync(work, { recursive: true, force: true });
      },
    };
  } catch (e) {
    fs.rmSync(work, { recursive: true, force: true });
    throw e;
  }
}
