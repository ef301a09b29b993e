import type { LayerBuilder } from './layer-builder.js';
import type { TarEntry } from '../tar/changeset.js';

/**
 * Adds one changeset entry (tar/changeset.ts) to `builder` as a layer tar holds it: the reading
 * side of the generators. A hard link names its target; anything else is its type, metadata
 * and content (an entry's `nlink` is what its names add up to, not read). Whiteout and opaque
 * marker names are the builder's to read.
 */
export function addChangesetEntry(builder: LayerBuilder, entry: TarEntry): void {
  const { path, type, linkTarget, data, xattrs, mode, uid, gid, mtimeMs, rdev } = entry;
  if (type === 'hardlink') {
    builder.addHardLink(path, linkTarget!);
    return;
  }
  builder.add(path, {
    type, mode, uid, gid, mtimeMs,
    ...(linkTarget !== undefined ? { linkTarget } : {}),
    ...(rdev !== undefined ? { rdev } : {}),
    ...(data !== undefined ? { content: data } : {}),
    ...(xattrs ? { xattrs: Object.fromEntries(xattrs) } : {}),
  });
}
