import type { Layer } from '../layer/layer.js';
import type { TarEntry } from './tar-writer.js';

/**
 * A read-only layer as OCI tar entries (layer.md): its opaque markers and whiteouts first, its
 * hard links to lower files, then its entries parents first, hard links as links; implicit
 * parents are left out, as umoci leaves out unchanged parents.
 */
/** An OCI whiteout or opaque marker entry: an empty file, mode 0, at `path` (relative). */
export function marker(path: string): TarEntry {
  return { path, type: 'file', mode: 0, uid: 0, gid: 0, mtimeMs: 0, data: Buffer.alloc(0) };
}

export function* layerEntries(layer: Layer): Generator<TarEntry> {
  const rel = (p: string) => (p === '/' ? '.' : p.slice(1));
  for (const d of [...layer.opaqueDirs].sort()) yield marker(`${rel(d)}/.wh..wh..opq`);
  for (const w of [...layer.whiteouts].sort()) {
    const i = w.lastIndexOf('/');
    yield marker(`${i === 0 ? '' : `${w.slice(1, i)}/`}.wh.${w.slice(i + 1)}`);
  }
  // Hard links to files of the layers below, as the layer's tar had them (layer.ts lowerLinks),
  // before the entries: a link to a name the layer lists itself names the file below, which
  // the entry then replaces (LayerBuilder `ordered`); the others resolve the same anywhere.
  for (const [name, target] of layer.lowerLinks ?? []) yield { path: rel(name), type: 'hardlink', mode: 0, uid: 0, gid: 0, mtimeMs: 0, linkTarget: rel(target) };
  const firstOfInode = new Map<number, string>();
  for (const [p, e] of layer.entries) {
    if (e.implicit) continue;
    const meta = { mode: e.mode, uid: e.uid, gid: e.gid, mtimeMs: e.mtimeMs, xattrs: e.xattrs };
    if (e.type === 'directory') {
      yield { path: p === '/' ? './' : `${rel(p)}/`, type: 'directory', ...meta };
      continue;
    }
    const first = firstOfInode.get(e.inode);
    if (first !== undefined) {
      yield { path: rel(p), type: 'hardlink', ...meta, linkTarget: rel(first) };
      continue;
    }
    firstOfInode.set(e.inode, p);
    if (e.type === 'file') yield { path: rel(p), type: 'file', ...meta, data: layer.read(e) };
    else if (e.type === 'symlink') yield { path: rel(p), type: 'symlink', ...meta, linkTarget: e.linkTarget! };
    else yield { path: rel(p), type: e.type, ...meta, rdev: e.rdev };
  }
}
