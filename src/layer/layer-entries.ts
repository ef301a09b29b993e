import type { LayerEntry } from './entry.js';
import type { Layer } from './layer.js';
import { entryPath, InodeNames, opaqueMarker, whiteout, type TarEntry } from '../tar/changeset.js';

/**
 * A read-only layer as OCI tar entries (layer.md): its opaque markers and whiteouts first, then
 * its entries parents first, hard links as links, its hard links to lower files where an
 * extractor gives them the file below; implicit parents are left out, as umoci leaves out
 * unchanged parents.
 */
export function* layerEntries(layer: Layer): Generator<TarEntry> {
  for (const d of [...layer.opaqueDirs].sort()) yield opaqueMarker(d);
  for (const w of [...layer.whiteouts].sort()) yield whiteout(w);
  // Hard links to files of the layers below (layer.ts lowerLinks). One to a name the layer
  // lists itself names the file below, which the entry then replaces (LayerBuilder `ordered`):
  // it goes just before that entry, after the directories of the layer on its own path (an
  // extractor would otherwise make it through what is below, a symlink or a file there). The
  // others go after the layer's entries, where every directory of the layer is made.
  const early = new Map<string, string[]>();
  const late: string[] = [];
  for (const [name, target] of layer.lowerLinks ?? []) {
    const listed = layer.entries.get(target);
    if (listed !== undefined && !listed.implicit) {
      const names = early.get(target);
      if (names) names.push(name);
      else early.set(target, [name]);
    } else late.push(name);
  }
  const lowerLink = (name: string): TarEntry => ({ path: entryPath(name), type: 'hardlink', mode: 0, uid: 0, gid: 0, mtimeMs: 0, linkTarget: entryPath(layer.lowerLinks!.get(name)!) });
  const madeEarly = new Set<string>();
  const directory = (p: string, e: LayerEntry): TarEntry => ({ path: entryPath(p, true), type: 'directory', mode: e.mode, uid: e.uid, gid: e.gid, mtimeMs: e.mtimeMs, xattrs: e.xattrs });
  /** The layer's listed directories on `name`'s path not written yet, parents first. */
  function* parentsOf(name: string): Generator<TarEntry> {
    const up: string[] = [];
    for (let d = name.slice(0, name.lastIndexOf('/')) || '/'; !madeEarly.has(d); d = d.slice(0, d.lastIndexOf('/')) || '/') {
      up.push(d);
      if (d === '/') break;
    }
    for (const d of up.reverse()) {
      madeEarly.add(d);
      const e = layer.entries.get(d);
      if (e?.type === 'directory' && !e.implicit) {
        yield* linksBefore(d);
        yield directory(d, e);
      }
    }
  }
  /** The links to lower files that must come before the layer's entry at `p` (once). */
  function* linksBefore(p: string): Generator<TarEntry> {
    const names = early.get(p);
    if (!names) return;
    early.delete(p);
    for (const name of names) {
      yield* parentsOf(name);
      yield lowerLink(name);
    }
  }
  const inodes = new InodeNames<number>();
  for (const [p, e] of layer.entries) {
    if (e.implicit) continue;
    yield* linksBefore(p);
    if (e.type === 'directory') {
      if (!madeEarly.has(p)) yield directory(p, e);
      madeEarly.add(p);
      continue;
    }
    const meta = { mode: e.mode, uid: e.uid, gid: e.gid, mtimeMs: e.mtimeMs, xattrs: e.xattrs };
    const at = entryPath(p);
    const first = inodes.linkTarget(e.inode, p);
    if (first !== undefined) yield { path: at, type: 'hardlink', ...meta, linkTarget: first };
    else if (e.type === 'file') yield { path: at, type: 'file', ...meta, data: layer.read(e) };
    else if (e.type === 'symlink') yield { path: at, type: 'symlink', ...meta, linkTarget: e.linkTarget! };
    else yield { path: at, type: e.type, ...meta, rdev: e.rdev };
  }
  for (const name of late) yield lowerLink(name);
}
