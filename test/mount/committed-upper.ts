import { createHash } from 'node:crypto';
import type { Layer } from '../../src/index.js';
import { major, minor } from '../../src/util/device.js';
import { canonicalTime } from '../support/tree.js';
import type { UpperEntry } from '../kernel/differential.js';

/**
 * A committed upper layer (an OCI changeset read back as a Layer) in kernelUpper's form, to
 * compare with a kernel's upperdir: `.wh.` names as whiteouts, opaque directories marked.
 */
export function committedUpper(layer: Layer): Map<string, UpperEntry> {
  const out = new Map<string, UpperEntry>();
  for (const [path, e] of layer.entries) {
    const u: UpperEntry = { type: e.type, mode: e.mode.toString(8), owner: `${e.uid}:${e.gid}`, mtime: canonicalTime(e.mtimeMs) };
    if (e.type !== 'directory') u.nlink = e.nlink;
    if (e.type === 'file') {
      u.size = e.size;
      u.sha256 = createHash('sha256').update(layer.read(e)).digest('hex');
    }
    if (e.type === 'symlink') u.target = e.linkTarget!;
    if (e.type === 'char' || e.type === 'block') u.rdev = `${major(e.rdev)}:${minor(e.rdev)}`;
    if (layer.opaqueDirs.has(path)) u.opaque = true;
    out.set(path, u);
  }
  for (const path of layer.whiteouts) out.set(path, { type: 'whiteout' });
  return out;
}

/** The entries but the root, sorted by path, as a plain object (for toEqual). */
export const sortedUpper = (m: Map<string, UpperEntry>) => Object.fromEntries([...m].filter(([p]) => p !== '/').sort(([a], [b]) => (a < b ? -1 : 1)));
