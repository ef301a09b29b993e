import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Overlay } from '../../src/index.js';
import { startTeachingPage, type TeachingPageRig } from '../support/teaching-page.js';

/**
 * The teaching page's layout and accessibility in real headless Chromium, at a laptop's
 * 1024×768, a wide 1400 px screen and a 390 px phone: the stack wraps its columns instead of
 * hiding them, no name or layer badge is cut, and axe-core finds nothing (WCAG 2 A/AA,
 * contrast included). Screenshots go to test-artifacts/page/ to be looked at.
 */
const SHOTS = join(import.meta.dirname, '../../test-artifacts/page');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const WIDTHS = [[1024, 768], [1400, 1000], [390, 844]] as const;
let rig: TeachingPageRig;

beforeAll(async () => {
  rig = await startTeachingPage();
  fs.mkdirSync(SHOTS, { recursive: true });
}, 60_000);

afterAll(() => rig?.close());

afterEach(() => expect(rig.errors.splice(0)).toEqual([]));

/** Runs a test on a page of its own at this viewport, closed afterwards. */
async function atWidth(width: number, height: number, test: (page: Page) => Promise<void>): Promise<void> {
  const page = await rig.open(width, height);
  try {
    await test(page);
  } finally {
    await page.close();
  }
}

/** The changes the issue was filed with: /etc/passwd renamed to passwd.old, /etc/group deleted, a refused rename logged. */
async function changeEtc(page: Page): Promise<void> {
  await page.click('.merged-list li[data-name="etc"] button');
  await page.fill('#path', '/etc/passwd');
  await page.fill('#to', '/etc/passwd.old');
  await page.click('#rename');
  await page.fill('#path', '/etc/group');
  await page.click('#delete');
  await page.fill('#path', '/opt');
  await page.fill('#to', '/opt2');
  await page.click('#rename'); // EXDEV: an error line in the log
  await page.click('.merged-list li[data-name="passwd.old"] button');
}

interface Box { left: number; right: number; top: number; bottom: number }
interface DrawnCell { row: number; layer: string; name: string; box: Box; text: string; cut: boolean; parts: Array<{ text: string; box: Box; clipped: boolean }> }

/** Every cell drawn, with its row of the drawing, its box and its parts' (name, badge) boxes. */
function cellsDrawn(page: Page): Promise<DrawnCell[]> {
  return page.$$eval('.stack .band .cell', (cells) => cells.map((c) => {
    const box = (el: Element) => { const r = el.getBoundingClientRect(); return { left: r.left, right: r.right, top: r.top, bottom: r.bottom }; };
    const el = c as HTMLElement;
    return {
      row: Number(el.closest<HTMLElement>('.stack')!.dataset.row),
      layer: el.closest<HTMLElement>('.band')!.dataset.layer!,
      name: el.dataset.name!,
      box: box(el),
      text: el.textContent!,
      cut: el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1,
      parts: [...el.children].map((p) => ({ text: p.textContent!, box: box(p), clipped: p.scrollWidth > p.clientWidth + 1 || p.scrollHeight > p.clientHeight + 1 })),
    };
  }));
}

const inside = (a: Box, b: Box) => a.left >= b.left - 0.5 && a.right <= b.right + 0.5 && a.top >= b.top - 0.5 && a.bottom <= b.bottom + 0.5;

describe('the teaching page at 1024, 1400 and 390 px', () => {
  it.each(WIDTHS)('at %i px every entry of every band of / is on screen, columns aligned (issue 16, item 11)', async (width, height) => {
    await atWidth(width, height, async (page) => {
      const view = new Overlay({ lower: rig.layers }).stackView('/');
      const cells = await cellsDrawn(page);
      const panel = (await page.$eval('#stack', (el) => { const r = el.getBoundingClientRect(); return { left: r.left, right: r.right, top: r.top, bottom: r.bottom }; }));
      // The page itself does not scroll sideways, and no cell lies outside the stack panel.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      for (const c of cells) expect(inside({ ...c.box, top: panel.top, bottom: panel.top }, { ...panel, bottom: panel.top }), `${c.layer} ${c.name}`).toBe(true);
      // Every entry of every band is drawn (L3's only entry, usr/, included) ...
      for (const b of view.bands) {
        expect(cells.filter((c) => c.layer === String(b.layer)).map((c) => c.name).sort(), `band ${b.layer}`).toEqual(b.cells.map((c) => c.name).sort());
      }
      expect(cells.some((c) => c.layer === '3' && c.name === 'usr')).toBe(true);
      // ... and each band says how many entries it has here, whichever row they are drawn in.
      expect(await page.$$eval('.stack[data-row="0"] .band:not(.merged-band) .count', (c) => c.map((x) => x.textContent))).toEqual(view.bands.map((b) => `${b.cells.length} ${b.cells.length === 1 ? 'entry' : 'entries'}`));
      // A name's versions line up: one column per name in each row of the drawing.
      const column = new Map<string, number>();
      for (const c of cells) {
        const key = `${c.row} ${c.name}`;
        if (!column.has(key)) column.set(key, c.box.left);
        expect(Math.abs(c.box.left - column.get(key)!), `${c.layer} ${c.name}`).toBeLessThan(1);
      }
      await page.screenshot({ path: join(SHOTS, `root-${width}.png`), fullPage: true });
    });
  });

  it.each(WIDTHS)('at %i px no name or layer badge is cut (issue 16, item 14)', async (width, height) => {
    await atWidth(width, height, async (page) => {
      await changeEtc(page);
      const cells = await cellsDrawn(page);
      for (const c of cells) {
        expect(c.cut, `${c.layer} ${c.name}: "${c.text}" overflows its cell`).toBe(false);
        for (const p of c.parts) {
          expect(p.clipped, `${c.layer} ${c.name}: "${p.text}" is cut`).toBe(false);
          expect(inside(p.box, c.box), `${c.layer} ${c.name}: "${p.text}" leaves its cell`).toBe(true);
        }
      }
      // The cell: the name and its badge, each whole.
      const merged = cells.find((c) => c.layer === 'merged' && c.name === 'passwd.old')!;
      expect(merged.parts.map((p) => p.text)).toEqual(['passwd.old', 'upper']);
      await page.screenshot({ path: join(SHOTS, `etc-${width}.png`), fullPage: true });
    });
  });

  it.each(WIDTHS)('at %i px axe-core finds no WCAG 2 A/AA violation, contrast included (issue 16, item 11)', async (width, height) => {
    await atWidth(width, height, async (page) => {
      const check = async (what: string) => {
        await page.addScriptTag({ path: AXE });
        const result = await page.evaluate(() => (window as unknown as { axe: { run(o: object): Promise<{ violations: Array<{ id: string; nodes: Array<{ target: string[]; failureSummary?: string }> }> }> } })
          .axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }));
        const found = result.violations.flatMap((v) => v.nodes.map((n) => `${v.id} ${n.target.join(' ')}: ${n.failureSummary ?? ''}`));
        expect(found, `${what} at ${width} px`).toEqual([]);
      };
      await check('the stack of /');
      await changeEtc(page);
      await check('/etc after a rename, a delete and a refused rename');
      // An opaque directory: hidden lower bands, the opaque badge, a whiteout marked as just made.
      await page.fill('#path', '/usr/share/doc/demo');
      await page.click('#delete');
      await page.click('#mkdir');
      await page.click('#crumbs button:first-child');
      for (const d of ['usr', 'share', 'doc', 'demo']) await page.click(`.merged-list li[data-name="${d}"] button`);
      expect(await page.$$('.band[data-hidden="true"]')).not.toHaveLength(0);
      await check('an opaque directory over hidden lower bands');
      await page.screenshot({ path: join(SHOTS, `opaque-${width}.png`), fullPage: true });
    });
  });
});
