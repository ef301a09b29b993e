import type { OverlayEngine } from './engine.js';
import type { Obj } from './resolve.js';
import { entryPath, InodeNames, type TarEntry } from '../tar/changeset.js';
import { preorder } from '../util/preorder.js';

const EMPTY = Buffer.alloc(0);

/**
 * The merged view as flat tar entries (no whiteouts): sorted by name, parents first, modes,
 * owners, times, symlinks, xattrs, and hard links as links, each inode's content written once.
 */
export function* mergedEntries(engine: OverlayEngine, top: Obj, options: { includeSelf: boolean } = { includeSelf: true }): Generator<TarEntry> {
  const names = new InodeNames<unknown>();
  const childrenOf = (dir: Obj) => (dir.isDir ? engine.list(dir).map((name) => engine.child(dir, name)!) : undefined);

  for (const obj of preorder(top, childrenOf)) {
    if (obj === top && !options.includeSelf) continue;
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
      if (type === 'file') yield { path: at, type, ...meta, ...links, data: info.size === 0 ? EMPTY : engine.read(obj) };
      else if (type === 'symlink') yield { path: at, type, ...meta, ...links, linkTarget: engine.readlink(obj) };
      else yield { path: at, type, ...meta, ...links, rdev: info.rdev };
    }
  }
}
