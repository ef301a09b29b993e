import { describe, expect, it } from 'vitest';
import { Overlay, openImage, type OverlayEvent } from '../../src/index.js';
import { DEMO_IMAGE } from '../../src/demo/walkthrough.js';
import { hiddenBelow, narrate, narrationText, redirectValue } from '../../src/serve/page/narrate.js';
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

type Op = ['unlink' | 'mkdir' | 'rmrf', string] | ['rename', string, string];

/** Ops made on layerfs; each opaque event with its narration. */
function opaqueNarrated(ops: Op[], redirectDir: boolean): Array<{ path: string; text: string }> {
  const ov = new Overlay({ lower: layers, redirectDir });
  const out: Array<{ path: string; text: string }> = [];
  ov.on('opaque', (e) => {
    out.push({ path: e.path, text: narrationText(narrate(e, e.reason === 'whiteout' ? hiddenBelow(ov, e.path) : {})) });
  });
  for (const [op, a, b] of ops) {
    if (op === 'unlink') ov.unlinkSync(a);
    else if (op === 'mkdir') ov.mkdirSync(a);
    else if (op === 'rmrf') ov.rmSync(a, { recursive: true });
    else ov.renameSync(a, b!);
  }
  return out;
}

const OPAQUE_CASES: Array<{ what: string; ops: Op[]; redirectDir: boolean; says: string }> = [
  { what: 'mkdir where a lower file was deleted', ops: [['unlink', '/etc/motd'], ['mkdir', '/etc/motd']], redirectDir: false, says: 'a new directory where a file of a lower layer was deleted' },
  { what: 'mkdir where a lower directory was deleted', ops: [['rmrf', '/opt'], ['mkdir', '/opt']], redirectDir: false, says: 'a new directory where a directory of a lower layer was deleted' },
  { what: 'mkdir in a merged directory with redirect_dir=on', ops: [['mkdir', '/etc/new']], redirectDir: true, says: 'a new directory in a merged directory, with redirect_dir=on' },
  { what: 'an upper-only directory moved into a merged one', ops: [['mkdir', '/a'], ['rename', '/a', '/etc/a']], redirectDir: false, says: 'a directory made in the upper layer, moved into a merged directory' },
];

describe('narration of opaque directories', () => {
  it.each(OPAQUE_CASES)('$what: says why the directory is opaque', ({ ops, redirectDir, says }) => {
    const [last] = opaqueNarrated(ops, redirectDir).slice(-1);
    expect(last!.text).toContain(says);
    expect(last!.text).not.toMatch(/over (a directory|one) a lower layer has/);
  });

  if (requireKernelOverlay('the opaque xattr check of the narration')) {
    it.each(OPAQUE_CASES)('$what: the kernel marks the same directory trusted.overlay.opaque="y"', ({ ops, redirectDir }) => {
      const narrated = opaqueNarrated(ops, redirectDir).map((n) => n.path);
      const root = new Overlay({ lower: layers }).lstatSync('/');
      const k = new KernelOverlay(layers, { redirectDir, upperRoot: { mode: root.mode, uid: root.uid, gid: root.gid, atimeMs: root.atimeMs, mtimeMs: root.mtimeMs } });
      try {
        const { outcomes, upper } = k.session(ops);
        expect(outcomes).toEqual(ops.map(() => 'ok'));
        expect(upper.filter((e) => e.xattrs?.['trusted.overlay.opaque'] === 'y').map((e) => e.path)).toEqual(narrated);
      } finally {
        k.dispose();
      }
    });
  }
});

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
