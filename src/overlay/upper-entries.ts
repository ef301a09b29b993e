import { typeFromMode } from '../layer/entry.js';
import { isReservedName } from '../oci/oci-names.js';
import type { OverlayEngine } from './engine.js';
import type { MemfsLink, MemfsNode } from '../util/memfs-types.js';
import { mergedEntries } from './merged-entries.js';
import { entryPath, InodeNames, markerIn, opaqueMarker } from '../tar/changeset.js';
import { preorder } from '../util/preorder.js';
import { join } from '../util/path.js';
import type { TarEntry } from '../tar/changeset.js';

/**
 * The upper layer as an OCI changeset (layer.md): every object of the upper layer with its
 * metadata, `.wh.<name>` for deletions and `.wh..wh..opq` for opaque directories, written
 * before the other entries of their directory (layer.md asks writers to put them first).
 * Entries come sorted by name, parents first, so a commit is deterministic.
 *
 * A directory renamed under redirect_dir has no OCI form (the redirect is a kernel xattr), so
 * it is written in full under its new name and marked opaque.
 */
export function* upperEntries(engine: OverlayEngine): Generator<TarEntry> {
  const names = new InodeNames<MemfsNode>();
  const up = engine.upper;

  // Markers and the content of redirected directories are written by the loop; the walk
  // descends into the other directories, names sorted.
  const childrenOf = ({ link, path }: { link: MemfsLink; path: string }) => {
    const node = link.getNode();
    if (!node.isDirectory() || up.redirects.has(node)) return undefined;
    return namesOf(link).filter((n) => !isReservedName(n)).map((name) => ({ link: link.children.get(name)!, path: join(path, name) }));
  };

  for (const { link, path } of preorder({ link: up.root, path: '/' }, childrenOf)) {
    const node = link.getNode();
    const type = typeFromMode(node.mode) ?? 'file';
    const meta = { mode: node.mode & 0o7777, uid: node.uid, gid: node.gid, mtimeMs: node.mtime.getTime(), xattrs: up.xattrs.get(node) };
    if (type === 'directory') {
      yield { path: entryPath(path, true), type, ...meta };
      if (up.redirects.has(node)) {
        yield opaqueMarker(path);
        yield* mergedEntries(engine, engine.objectAt(path)!, { includeSelf: false });
      } else {
        // Markers (the opaque marker and whiteouts) before the other entries of the directory.
        for (const m of namesOf(link)) if (isReservedName(m)) yield markerIn(path, m);
      }
      continue;
    }
    const at = entryPath(path);
    const first = names.linkTarget(node, path);
    if (first !== undefined) yield { path: at, type: 'hardlink', ...meta, linkTarget: first };
    else if (type === 'file') yield { path: at, type, ...meta, data: Buffer.from(node.getBuffer()) };
    else if (type === 'symlink') yield { path: at, type, ...meta, linkTarget: node.symlink };
    else yield { path: at, type, ...meta, rdev: node.rdev };
  }
}

/** A directory's names, sorted, without `.` and `..`. */
function namesOf(link: MemfsLink): string[] {
  return [...link.children.keys()].filter((n) => n !== '.' && n !== '..').sort();
}
