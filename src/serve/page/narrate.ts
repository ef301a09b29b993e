import type { EntryType } from '../../layer/entry.js';
import type { OverlayEvent } from '../../overlay/engine.js';
import { layerLabel } from '../../overlay/provenance.js';
import type { StackView } from '../../overlay/stack-view.js';

/** The kernel's overlayfs document, and the sections of it the narration quotes (ids as Sphinx makes them from the titles). */
export const OVERLAYFS_DOC = 'https://docs.kernel.org/filesystems/overlayfs.html';
export const SECTIONS = {
  'non-directories': 'Non-directories',
  'whiteouts-and-opaque-directories': 'whiteouts and opaque directories',
  'renaming-directories': 'renaming directories',
} as const;
export type Section = keyof typeof SECTIONS;

/** Words, and citations of overlayfs.rst sections the page draws as links to the kernel document. */
export type Narration = Array<string | { section: Section }>;

/** What the page knows beyond the event: for an opaque directory made over a whiteout, what the lower layers hold there. */
export interface NarrationContext {
  hiddenBelow?: EntryType;
}

const nameOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** What the lower layers hold at a path the upper layer hides: the topmost lower version, read from the parent's stack. */
export function hiddenBelow(ov: { stackView(path: string): StackView }, path: string): NarrationContext {
  const parent = path.slice(0, Math.max(1, path.lastIndexOf('/')));
  for (const band of ov.stackView(parent).bands) {
    if (band.layer === 'upper') continue;
    const c = band.cells.find((x) => x.name === nameOf(path));
    if (c) return c.kind === 'whiteout' ? {} : { hiddenBelow: c.kind };
  }
  return {};
}
const article = (t: EntryType) => `a ${t === 'char' ? 'character device' : t === 'block' ? 'block device' : t}`;

/**
 * The trusted.overlay.redirect value the kernel writes on a renamed directory, or undefined
 * when it keeps the one it has (ovl_set_redirect): the old name for a rename within one
 * directory, the absolute lower path for a move to another; an existing redirect stays for a
 * rename within the directory, and is made absolute for a move (the same lower path).
 * Checked against a real mount in test/serve/narrate.test.ts.
 */
export function redirectValue(e: Extract<OverlayEvent, { type: 'redirect' }>): string | undefined {
  if (!e.sameDir) return e.lowerPath;
  return e.renamedBefore ? undefined : nameOf(e.lowerPath);
}

/** What the kernel did, in words a class can follow, citing the sections of overlayfs.rst. */
export function narrate(e: OverlayEvent, context: NarrationContext = {}): Narration {
  switch (e.type) {
    case 'copy-up':
      return e.entryType === 'directory'
        ? [`copy-up ${e.path}: the directory from ${layerLabel(e.fromLayer)} is made in the upper layer first, so that what is written below it has a parent there (parents first: `, { section: 'non-directories' }, ')']
        : [`copy-up ${e.path}: the ${e.entryType} is copied from ${layerLabel(e.fromLayer)} into the upper layer, data and metadata, before it is changed; the lower copy is never touched (`, { section: 'non-directories' }, ')'];
    case 'whiteout':
      return [`whiteout ${e.path}: a lower layer still has this name, so the upper layer records the deletion with a whiteout (a 0/0 character device; .wh.${nameOf(e.path)} in a layer tarball) (`, { section: 'whiteouts-and-opaque-directories' }, ')'];
    case 'opaque': {
      const marker = 'the upper directory gets trusted.overlay.opaque="y" (.wh..wh..opq in a layer tarball), which hides everything the lower layers hold under this name';
      const why = e.reason === 'whiteout'
        ? `a new directory where ${context.hiddenBelow ? `${article(context.hiddenBelow)} of a lower layer` : 'a lower entry'} was deleted`
        : e.reason === 'redirect-dir'
          ? 'a new directory in a merged directory, with redirect_dir=on (the kernel marks each one: the lower layers may not change offline then, so lookups in the new directory need not search them)'
          : 'a directory made in the upper layer, moved into a merged directory';
      return [`opaque ${e.path}: ${why}; ${marker} (`, { section: 'whiteouts-and-opaque-directories' }, ')'];
    }
    case 'redirect': {
      const value = redirectValue(e);
      const xattr = value === undefined
        ? `keeps the trusted.overlay.redirect it was given when first renamed (it still leads to ${e.lowerPath})`
        : `gets the xattr trusted.overlay.redirect="${value}" (${e.sameDir ? 'the old name: the rename stayed in one directory' : 'the absolute lower path: the directory moved to another'})`;
      return [`redirect ${e.path}: renamed from ${e.from} with redirect_dir=on; only the directory itself was copied up, not its content, and the upper directory ${xattr}, so a lookup of ${e.path} still merges the lower ${e.lowerPath} (`, { section: 'renaming-directories' }, ')'];
    }
  }
}

/** Why an operation failed, when the reason is the overlay's. */
export function explainError(code: string | undefined, call: string): Narration {
  if (code === 'EXDEV' && call === 'rename') {
    return ['The kernel refuses to rename a directory that a lower layer provides unless redirect_dir=on; mv would copy it instead (', { section: 'renaming-directories' }, '). Tick redirect_dir and try again.'];
  }
  if (code === 'ENOTEMPTY') return ['rmdir only removes empty directories; Delete removes recursively.'];
  return [];
}

/** A narration as plain text (sections in quotes), for logs and tests. */
export function narrationText(n: Narration): string {
  return n.map((part) => (typeof part === 'string' ? part : `"${SECTIONS[part.section]}"`)).join('');
}
