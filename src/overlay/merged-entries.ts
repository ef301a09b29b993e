import type { OverlayEngine } from './engine.js';
import type { Obj } from './resolve.js';
import { entryPath, InodeNames, type ContentReader, type TarEntry } from '../tar/changeset.js';
import { preorder } from '../util/preorder.js';

const EMPTY = Buffer.alloc(0);

export interface MergedEntriesOptions {
  /** Whether `top` itself is an entry (default true). */
  includeSelf?: boolean;
  /**
   * A lower file's content as a reader of its layer (TarEntry.content), read when written,
   * instead of a Buffer read whole now (the tar writer streams it; layers never change).
   */
  lowerByPosition?: boolean;
}

/**
 * The merged view as flat tar entries (no whiteouts): sorted by name, parents first, modes,
 * owners, times, symlinks, xattrs, and hard links as links, each inode's content written once.
 */
export function* mergedEntries(engine: OverlayEngine, top: Obj, options: MergedEntriesOptions = {}): Generator<TarEntry> {
  const { includeSelf = true, lowerByPosition = false } = options;
  const names = new InodeNames<unknown>();
  const childrenOf = (dir: Obj) => (dir.isDir ? engine.list(dir).map((name) => engine.child(dir, name)!) : undefined);

  for (const obj of preorder(top, childrenOf)) {
    if (obj === top && !includeSelf) continue;
    const info = engine.info(obj);
    const meta = { mode: info.mode & 0o7777, uid: info.uid, gid: info.gid, mtimeMs: info.mtimeMs, xattrs: engine.xattrs(obj) };
    const type = obj.type;
    if (type === 'directory') {
      yield { path: entryPath(obj.path, true), type, ...meta };
      continue;
    }
    // One inode, one content: an upper node, or a lower layer's inode (names of a lower hard
    // link that are still lower objects).
    const identity = obj.upper ? obj.upper.getNode() : `${obj.lower!.layer}:${obj.lower!.entry.inode}`;
    const at = entryPath(obj.path);
    const first = info.nlink > 1 ? names.linkTarget(identity, obj.path) : undefined;
    if (first !== undefined) yield { path: at, type: 'hardlink', ...meta, linkTarget: first };
    else {
      const links = info.nlink > 1 ? { nlink: info.nlink } : {};
      // An empty file has nothing to read: a tar layer's read opens the blob for each file.
      if (type === 'file' && info.size > 0 && lowerByPosition && !obj.upper) yield { path: at, type, ...meta, ...links, content: lowerContent(engine, obj) };
      else if (type === 'file') yield { path: at, type, ...meta, ...links, data: info.size === 0 ? EMPTY : engine.read(obj) };
      else if (type === 'symlink') yield { path: at, type, ...meta, ...links, linkTarget: engine.readlink(obj) };
      else yield { path: at, type, ...meta, ...links, rdev: info.rdev };
    }
  }
}

/** A lower file's content, read by position from the layer that holds it. */
function lowerContent(engine: OverlayEngine, obj: Obj): ContentReader {
  const { layer, entry } = engine.lower.contentOf(obj.lower!);
  return {
    size: entry.size,
    readAt: (buffer, offset, length, position) => layer.readAt(entry, buffer, offset, length, position),
    source: layer.contentSource ? () => layer.contentSource!(entry) : undefined,
  };
}
