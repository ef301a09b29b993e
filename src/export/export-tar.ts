import type { OverlayEngine } from '../overlay/engine.js';
import type { Obj } from '../overlay/resolve.js';
import type { TarEntry } from './tar-writer.js';

/**
 * The merged view as flat tar entries (no whiteouts): sorted by name, parents first, modes,
 * owners, times, symlinks, xattrs, and hard links as links, each inode's content written once.
 */
export function* mergedEntries(engine: OverlayEngine, top: Obj, options: { includeSelf: boolean } = { includeSelf: true }): Generator<TarEntry> {
  const firstPathOf = new Map<unknown, string>();
  const rel = (path: string) => (path === '/' ? './' : path.slice(1));
  // Depth-first with an explicit stack of directories being listed: a layer may nest deeper
  // than the call stack allows (hostile images do), and nested generators cost O(depth) per entry.
  const open: Array<{ dir: Obj; names: string[]; next: number }> = [];

  const entryOf = (obj: Obj, self: boolean): TarEntry | undefined => {
    const info = engine.info(obj);
    const meta = { mode: info.mode & 0o7777, uid: info.uid, gid: info.gid, mtimeMs: info.mtimeMs, xattrs: engine.xattrs(obj) };
    const type = obj.type;
    if (type === 'directory') {
      open.push({ dir: obj, names: engine.list(obj), next: 0 });
      return self ? { path: obj.path === '/' ? './' : `${rel(obj.path)}/`, type, ...meta } : undefined;
    }
    // One inode, one content: an upper node, or a lower layer's inode (names of a lower hard
    // link that are still lower objects).
    const identity = obj.upper ? obj.upper.getNode() : `${obj.lower!.layer}:${obj.lower!.entry.inode}`;
    const first = info.nlink > 1 ? firstPathOf.get(identity) : undefined;
    if (first !== undefined) return { path: rel(obj.path), type: 'hardlink', ...meta, linkTarget: rel(first) };
    if (info.nlink > 1) firstPathOf.set(identity, obj.path);
    if (type === 'file') return { path: rel(obj.path), type, ...meta, data: engine.read(obj) };
    if (type === 'symlink') return { path: rel(obj.path), type, ...meta, linkTarget: engine.readlink(obj) };
    return { path: rel(obj.path), type, ...meta, rdev: info.rdev };
  };

  const first = entryOf(top, options.includeSelf);
  if (first) yield first;
  while (open.length > 0) {
    const frame = open[open.length - 1]!;
    if (frame.next === frame.names.length) {
      open.pop();
      continue;
    }
    const entry = entryOf(engine.child(frame.dir, frame.names[frame.next++]!)!, true);
    if (entry) yield entry;
  }
}
