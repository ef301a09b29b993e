import { describe, expect, it } from 'vitest';
import { Overlay, openImage, type OverlayEvent } from '../../src/index.js';
import { DEMO_IMAGE } from '../../src/demo/walkthrough.js';
import { narrate, narrationText, redirectValue } from '../../src/serve/page/narrate.js';
import { KernelOverlay } from '../kernel/kernel-overlay.js';
import { requireKernelOverlay } from '../kernel/require-kernel.js';

/**
 * The teaching page's narration of a directory rename under redirect_dir=on names the
 * trusted.overlay.redirect value the kernel writes: checked against a real overlay mount of
 * the demo image (issue 16, item 13).
 */
const layers = (await openImage(DEMO_IMAGE)).layers.map((l) => l.layer);

const SEQUENCES: Array<Array<[string, string]>> = [
  [['/opt', '/opt2']], // within one directory: the old name
  [['/opt', '/opt2'], ['/opt2', '/opt3']], // again within it: the first redirect stays
  [['/opt', '/usr/opt']], // to another directory: the absolute lower path
  [['/opt', '/usr/opt'], ['/usr/opt', '/usr/opt9']], // then within that one: the absolute path stays
  [['/opt', '/opt2'], ['/opt2', '/usr/opt']], // a relative redirect made absolute by a move
];

/** The redirect the narration says the last renamed directory has, following each rename's narration. */
function narratedRedirect(renames: Array<[string, string]>): { value: string | undefined; texts: string[] } {
  const ov = new Overlay({ lower: layers, redirectDir: true });
  const events: Array<Extract<OverlayEvent, { type: 'redirect' }>> = [];
  ov.on('redirect', (e) => events.push(e));
  for (const [from, to] of renames) ov.renameSync(from, to);
  expect(events.map((e) => [e.from, e.path])).toEqual(renames);
  let value: string | undefined;
  for (const e of events) value = redirectValue(e) ?? value;
  return { value, texts: events.map((e) => narrationText(narrate(e))) };
}

describe('narration of redirect_dir renames', () => {
  it('quotes the xattr value layerfs expects of the kernel', () => {
    const { value, texts } = narratedRedirect([['/opt', '/opt2']]);
    expect(value).toBe('opt');
    expect(texts[0]).toContain('trusted.overlay.redirect="opt"');
    expect(texts[0]).toContain('"renaming directories"');
  });

  if (requireKernelOverlay('the redirect xattr check of the narration')) {
    it.each(SEQUENCES.map((s) => [JSON.stringify(s), s] as const))('says what the kernel writes after %s', (_, renames) => {
      const { value } = narratedRedirect(renames);
      const root = new Overlay({ lower: layers }).lstatSync('/');
      const k = new KernelOverlay(layers, { redirectDir: true, upperRoot: { mode: root.mode, uid: root.uid, gid: root.gid, atimeMs: root.atimeMs, mtimeMs: root.mtimeMs } });
      try {
        const { outcomes, upper } = k.session(renames.map(([a, b]) => ['rename', a, b]));
        expect(outcomes).toEqual(renames.map(() => 'ok'));
        const last = renames.at(-1)![1];
        const entry = upper.find((e) => e.path === last);
        expect(entry?.xattrs?.['trusted.overlay.redirect']).toBe(value);
      } finally {
        k.dispose();
      }
    });
  }
});
