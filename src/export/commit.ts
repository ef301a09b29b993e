import { typeFromMode } from '../layer/entry.js';
import { OPAQUE_MARKER } from '../layer/oci-names.js';
import type { OverlayEngine } from '../overlay/engine.js';
import type { MemfsLink, MemfsNode } from '../overlay/memfs-types.js';
import { mergedEntries } from './export-tar.js';
import { marker } from './layer-entries.js';
import type { TarEntry } from './tar-writer.js';

const rel = (path: string) => path.slice(1);

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
  const firstPathOfNode = new Map<MemfsNode, string>();
  const up = engine.upper;

  const root = up.root.getNode();
  yield { path: './', type: 'directory', mode: root.mode & 0o7777, uid: root.uid, gid: root.gid, mtimeMs: root.mtime.getTime(), xattrs: up.xattrs.get(root) };
  // Depth-first with an explicit stack (no recursion: an upper layer may nest arbitrarily deep).
  const open: Array<{ link: MemfsLink; path: string; names: string[]; next: number }> = [];
  const enter = (link: MemfsLink, path: string) => {
    const names = [...link.children.keys()].filter((n) => n !== '.' && n !== '..').sort();
    // Markers (the opaque marker and whiteouts) before the other entries of the directory.
    const markers = names.filter((n) => n.startsWith('.wh.'));
    open.push({ link, path, names: names.filter((n) => !n.startsWith('.wh.')), next: 0 });
    return markers.map((m) => marker(rel(path === '/' ? `/${m}` : `${path}/${m}`)));
  };
  yield* enter(up.root, '/');
  while (open.length > 0) {
    const frame = open[open.length - 1]!;
    if (frame.next === frame.names.length) {
      open.pop();
      continue;
    }
    const name = frame.names[frame.next++]!;
    const child = frame.link.children.get(name)!;
    const childPath = frame.path === '/' ? `/${name}` : `${frame.path}/${name}`;
    const node = child.getNode();
    const type = typeFromMode(node.mode) ?? 'file';
    const meta = { mode: node.mode & 0o7777, uid: node.uid, gid: node.gid, mtimeMs: node.mtime.getTime(), xattrs: up.xattrs.get(node) };
    if (type === 'directory') {
      yield { path: `${rel(childPath)}/`, type, ...meta };
      if (up.redirects.has(node)) {
        yield marker(rel(`${childPath}/${OPAQUE_MARKER}`));
        yield* mergedEntries(engine, engine.lookup(childPath, false), { includeSelf: false });
      } else {
        yield* enter(child, childPath);
      }
      continue;
    }
    const first = firstPathOfNode.get(node);
    if (first !== undefined) {
      yield { path: rel(childPath), type: 'hardlink', ...meta, linkTarget: rel(first) };
      continue;
    }
    firstPathOfNode.set(node, childPath);
    if (type === 'file') yield { path: rel(childPath), type, ...meta, data: Buffer.from(node.getBuffer()) };
    else if (type === 'symlink') yield { path: rel(childPath), type, ...meta, linkTarget: node.symlink };
    else yield { path: rel(childPath), type, ...meta, rdev: node.rdev };
  }
}
