import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Overlay, openImage, type StackView } from '../../src/index.js';
import { DEMO_IMAGE } from '../../src/demo/walkthrough.js';
import { bundlePage } from '../../src/serve/bundle-page.js';
import { upperEntries } from '../../src/overlay/upper-entries.js';
import { startTeachingServer, type TeachingServer } from '../../src/serve/server.js';
import { chromiumAvailable, CHROMIUM, launchChromium } from '../support/chromium.js';
import { engineOf } from '../../src/fs/overlay-fs.js';

/**
 * The teaching page end to end in real headless Chromium: the bundled engine runs in the
 * page, and what it draws after each change is compared with the library's own stackView of
 * the same changes made in Node.
 */
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-page-'));
let server: TeachingServer;
let browser: Browser;
let page: Page;
let layers: Awaited<ReturnType<typeof openImage>>['layers'][number]['layer'][];
const errors: string[] = [];

/** The stack as drawn: each band's layer and its cells (name:kind:role). */
async function drawn(p: Page): Promise<Array<[string, string[]]>> {
  return p.$$eval('.band:not([data-layer="merged"])', (bands) => bands.map((b) => [
    (b as HTMLElement).dataset.layer!,
    [...b.querySelectorAll<HTMLElement>('.cell')].map((c) => `${c.dataset.name}:${c.dataset.kind}:${c.dataset.role}`),
  ] as [string, string[]]));
}

function expected(view: StackView): Array<[string, string[]]> {
  return view.bands.map((b) => [String(b.layer), b.cells.map((c) => `${c.name}:${c.kind}:${c.role}`)]);
}

const cell = (layer: string, name: string) => `.band[data-layer="${layer}"] .cell[data-name="${name}"]`;

beforeAll(async () => {
  if (!chromiumAvailable()) throw new Error(`${CHROMIUM} is missing: test/setup/debian-deps.sh installs Debian's chromium`);
  const pageDir = join(work, 'page');
  await bundlePage(pageDir);
  layers = (await openImage(DEMO_IMAGE)).layers.map((l) => l.layer);
  server = await startTeachingServer({ name: 'images/demo', layers, pageDir });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.emulateMedia({ reducedMotion: 'reduce' });
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 20_000 });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('the teaching page in headless Chromium', () => {
  it('draws the stack of / : the merged view, the empty writable band, four read-only bands', async () => {
    expect(await page.textContent('#image-name')).toBe('images/demo · 4 read-only layers');
    expect(await page.$$eval('.band', (b) => b.map((x) => (x as HTMLElement).dataset.layer))).toEqual(['merged', 'upper', '3', '2', '1', '0']);
    expect(await page.$$(cell('upper', '*').replace('[data-name="*"]', ''))).toHaveLength(0);
    expect(await drawn(page)).toEqual(expected(new Overlay({ lower: layers }).stackView('/')));
    expect(await page.$$eval('.merged-list li', (li) => li.map((l) => (l as HTMLElement).dataset.name))).toEqual(new Overlay({ lower: layers }).readdirSync('/'));
  });

  it('a write to a lower file copies it up, parents first, and the drawing follows', async () => {
    const node = new Overlay({ lower: layers });
    await page.click('.merged-list li[data-name="etc"] button');
    await page.click(cell('1', 'motd'));
    expect(await page.inputValue('#path')).toBe('/etc/motd');
    await page.fill('#content', 'hello from the page\n');
    await page.click('#write');
    node.writeFileSync('/etc/motd', 'hello from the page\n');

    expect(await page.getAttribute(cell('upper', 'motd'), 'data-event')).toBe('copy-up');
    expect(await page.$eval(cell('upper', 'motd'), (el) => el.getAnimations().length)).toBe(0);
    expect(await page.getAttribute(cell('upper', 'motd'), 'data-role')).toBe('wins');
    expect(await page.getAttribute(cell('1', 'motd'), 'data-role')).toBe('shadowed');
    expect(await drawn(page)).toEqual(expected(node.stackView('/etc')));
    expect(await page.$$eval('#log > li:first-child li', (li) => li.map((l) => `${(l as HTMLElement).dataset.event} ${(l as HTMLElement).dataset.path}`)))
      .toEqual(['copy-up /etc', 'copy-up /etc/motd']);
    expect(await page.textContent('#detail pre')).toBe('hello from the page\n');
    expect(await page.getAttribute('.merged-list li[data-name="motd"]', 'data-provider')).toBe('upper');
  });

  it('a delete of a lower file leaves a whiteout in the writable band', async () => {
    await page.click('.merged-list li[data-name="group"] button');
    await page.emulateMedia({ reducedMotion: 'no-preference' });
    await page.click('#delete');
    // The whiteout drops into the writable band (and nothing moves for reduced motion).
    expect(await page.$eval(cell('upper', 'group'), (el) => el.getAnimations().length)).toBe(1);
    await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished)));
    await page.emulateMedia({ reducedMotion: 'reduce' });
    const node = new Overlay({ lower: layers });
    node.writeFileSync('/etc/motd', 'hello from the page\n');
    node.rmSync('/etc/group', { recursive: true });

    expect(await page.getAttribute(cell('upper', 'group'), 'data-kind')).toBe('whiteout');
    expect(await page.getAttribute(cell('upper', 'group'), 'data-event')).toBe('whiteout');
    expect(await page.textContent(cell('upper', 'group'))).toBe('.wh.group');
    expect(await page.$('.merged-list li[data-name="group"]')).toBeNull();
    expect(await drawn(page)).toEqual(expected(node.stackView('/etc')));
    // The commit panel lists what ov.commit() writes, as the library lists it in Node.
    expect(await page.$$eval('#changeset li', (li) => li.map((l) => `${(l as HTMLElement).dataset.kind} ${(l as HTMLElement).dataset.path}`)))
      .toEqual(['directory ./', 'directory etc/', 'whiteout etc/.wh.group', 'file etc/motd']);
    expect([...upperEntries(engineOf(node))].map((e) => e.path)).toEqual(['./', 'etc/', 'etc/.wh.group', 'etc/motd']);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'teaching-page.png'), fullPage: true });
  });

  it('a directory deleted and made again is opaque: the lower bands no longer show through', async () => {
    await page.fill('#path', '/usr/share/doc/demo');
    await page.click('#delete');
    await page.click('#mkdir');
    await page.click('#crumbs button:first-child');
    for (const d of ['usr', 'share', 'doc', 'demo']) await page.click(`.merged-list li[data-name="${d}"] button`);
    expect(await page.getAttribute('.stack', 'data-dir')).toBe('/usr/share/doc/demo');
    expect(await page.getAttribute('.band[data-layer="upper"]', 'data-opaque')).toBe('true');
    expect(await page.$$eval('.band[data-hidden="true"]', (b) => b.map((x) => (x as HTMLElement).dataset.layer))).toEqual(['3', '0']);
    expect(await page.$$eval('#log > li:first-child li', (li) => li.map((l) => (l as HTMLElement).dataset.event))).toEqual(['opaque']);
  });

  it('renaming a lower directory fails with EXDEV, explained, until redirect_dir is on', async () => {
    await page.fill('#path', '/opt');
    await page.fill('#to', '/opt2');
    await page.click('#rename');
    expect(await page.getAttribute('#log > li:first-child li.error', 'data-code')).toBe('EXDEV');
    expect(await page.textContent('#log > li:first-child li.error')).toContain('redirect_dir=on');
    await page.check('#redirect-dir');
    await page.fill('#path', '/opt');
    await page.fill('#to', '/opt2');
    await page.click('#rename');
    expect(await page.$('#log li.error')).toBeNull();
    expect(await page.$$eval('.merged-list li', (li) => li.map((l) => (l as HTMLElement).dataset.name))).toContain('opt2');
    // Deleting the directory on screen brings the drawing back to /.
    await page.click('.merged-list li[data-name="opt2"] button');
    expect(await page.getAttribute('.stack', 'data-dir')).toBe('/opt2');
    await page.click('#delete');
    expect(await page.getAttribute('.stack', 'data-dir')).toBe('/');
    expect(errors).toEqual([]);
  });

  it('the server answers hostile requests without falling over: full URLs, other hosts, traversal, writes', async () => {
    const { port } = new URL(server.url);
    /** One raw HTTP/1.1 request; the status code of the answer. */
    const raw = (target: string, host: string, method = 'GET') => new Promise<number>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write(`${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
      let answer = '';
      socket.on('data', (d) => (answer += d.toString('latin1')));
      socket.on('end', () => resolve(Number(answer.split(' ')[1])));
      socket.on('error', reject);
    });
    const here = `127.0.0.1:${port}`;
    expect(await raw('http://a:99999/', here)).toBe(400); // a full URL as the target once crashed the server
    expect(await raw('/image.json', `evil.example:${port}`)).toBe(421); // DNS rebinding
    expect(await raw('/../../../etc/passwd', here)).toBe(404);
    expect(await raw('/%2e%2e/%2e%2e/etc/passwd', here)).toBe(404);
    expect(await raw('/image.json', here, 'POST')).toBe(405);
    expect(await raw('/', `localhost:${port}`)).toBe(200);
    expect(await raw('/image.json', here)).toBe(200);
  });
});
