import type { OverlayEngine } from './engine.js';
import type { Obj } from './resolve.js';
import type { TarEntry } from '../tar/changeset.js';
import { preorder } from '../util/preorder.js';

const EMPTY = Buffer.alloc(0);

/**
 * The merged view as flat tar entries (no whiteouts): sorted by name, parents first, modes,
 * owners, times, symlinks, xattrs, and hard links as links, each inode's content written once.
 */
export function* mergedEntries(engine: OverlayEngine, top: Obj, options: { includeSelf: boolean } = { includeSelf: true }): Generator<TarEntry> {
  const firstPathOf = new Map<unknown, string>();
  const rel = (path: string) => (path === '/' ? './' : path.slice(1));
  const childrenOf = (dir: Obj) => (dir.isDir ? engine.list(dir).map((name) => engine.child(dir, name)!) : undefined);

  for (const obj of preorder(top, childrenOf)) {
    if (obj === top && !options.includeSelf) continue;
    const info = engine.info(obj);
    const meta = { mode: info.mode & 0o7777, uid: info.uid, gid: info.gid, mtimeMs: info.mtimeMs, xattrs: engine.xattrs(obj) };
    const type = obj.type;
    if (type === 'directory') {
      yield { path: obj.path === '/' ? './' : `${rel(obj.path)}/`, type, ...meta };
      continue;
    }
    // One inode, one content: an upper node, or a lower layer's inode (names of a lower hard
    // link that are still lower objects).
    const identity = obj.upper ? obj.upper.getNode() : `${obj.lower!.layer}:${obj.lower!.entry.inode}`;
    const first = info.nlink > 1 ? firstPathOf.get(identity) : undefined;
    if (first !== undefined) yield { path: rel(obj.path), type: 'hardlink', ...meta, linkTarget: rel(first) };
    else {
      const links = info.nlink > 1 ? { nlink: info.nlink } : {};
      if (info.nlink > 1) firstPathOf.set(identity, obj.path);
      // An empty file has nothing to read: a tar layer's read opens the blob for each file.
      if (type === 'file') yield { path: rel(obj.path), type, ...meta, ...links, data: info.size === 0 ? EMPTY : engine.read(obj) };
      else if (type === 'symlink') yield { path: rel(obj.path), type, ...meta, ...links, linkTarget: engine.readlink(obj) };
      else yield { path: rel(obj.path), type, ...meta, ...links, rdev: info.rdev };
    }
  }
}
