import type { ContentRef, EntrySpec, EntryType, LayerEntry } from './entry.js';
import { defaultMode } from './entry.js';
import { OPAQUE_MARKER, whitedOutName } from './oci-names.js';
import { basename, depth, dirname, join, normalize } from '../overlay/path.js';

/** A layer's definition is wrong (a hard link to nothing, a name that cannot exist...). */
export class LayerError extends Error {
  constructor(readonly layer: string, readonly entry: string, reason: string) {
    super(`layer ${layer}: ${entry}: ${reason}`);
    this.name = 'LayerError';
  }
}

export interface BuiltLayer {
  entries: Map<string, LayerEntry>;
  whiteouts: Set<string>;
  opaqueDirs: Set<string>;
  content: Map<number, Buffer | ContentRef>;
}

interface PendingEntry {
  spec: EntrySpec;
  /** For hard links: the path of the entry whose inode this name shares. */
  linkTo?: string;
}

/** Shared by every entry without extended attributes (entries are read-only). */
const NO_XATTRS: ReadonlyMap<string, Buffer> = new Map();

const IMPLICIT_DIR: EntrySpec = { type: 'directory', mode: 0o755, uid: 0, gid: 0, mtimeMs: 0 };

/**
 * Collects a layer's entries in any order (tar layers list them in any order, layer.md) and
 * produces the immutable index: OCI whiteout names turned into whiteouts and opaque markers,
 * implicit parents added, hard links resolved to shared inodes, link counts computed.
 */
export class LayerBuilder {
  private readonly pending = new Map<string, PendingEntry>();
  private readonly whiteouts = new Set<string>();
  private readonly opaqueDirs = new Set<string>();

  constructor(readonly layerName: string) {}

  /** Adds an entry; a `.wh.` name is read as a whiteout or opaque marker. A later add of the same path wins. */
  add(path: string, spec: EntrySpec): this {
    const p = normalize(path);
    const name = basename(p);
    if (name === OPAQUE_MARKER) {
      this.opaqueDirs.add(dirname(p));
      return this;
    }
    const hidden = whitedOutName(name);
    if (hidden !== undefined) {
      if (hidden === '' || hidden === '.' || hidden === '..') throw new LayerError(this.layerName, path, 'whiteout of an invalid name');
      this.whiteouts.add(join(dirname(p), hidden));
      return this;
    }
    this.pending.set(p, { spec });
    return this;
  }

  /** Adds `path` as another name of the file at `target` (tar typeflag 1, same layer). */
  addHardLink(path: string, target: string): this {
    const p = normalize(path);
    if (whitedOutName(basename(p)) !== undefined || basename(p) === OPAQUE_MARKER)
      throw new LayerError(this.layerName, path, 'a hard link cannot be a whiteout');
    this.pending.set(p, { spec: { type: 'file' }, linkTo: normalize(target) });
    return this;
  }

  build(): BuiltLayer {
    const specs = new Map<string, EntrySpec>();
    const linkOf = new Map<string, string>();
    for (const [p, pe] of this.pending) {
      if (pe.linkTo !== undefined) linkOf.set(p, pe.linkTo);
      else specs.set(p, pe.spec);
    }
    // Every name a layer mentions lives in a directory of that layer.
    const implicit = new Set<string>();
    // A directory's ancestors are walked once: every later path under it stops there.
    const walked = new Set<string>();
    const needParent = (p: string): void => {
      for (let d = dirname(p); !walked.has(d); d = dirname(d)) {
        walked.add(d);
        if (!specs.has(d) && !linkOf.has(d)) implicit.add(d);
        if (d === '/') break;
      }
    };
    for (const p of [...specs.keys(), ...linkOf.keys(), ...this.whiteouts]) if (p !== '/') needParent(p);
    for (const d of this.opaqueDirs) {
      if (!specs.has(d)) implicit.add(d);
      if (d !== '/') needParent(d);
    }
    if (!specs.has('/')) implicit.add('/');

    // Resolve hard links (to earlier or later entries, possibly through other links).
    const inodeOfPath = new Map<string, number>();
    const content = new Map<number, Buffer | ContentRef>();
    let nextInode = 1;
    const ordered = sortParentsFirst([...new Set([...specs.keys(), ...implicit, ...linkOf.keys()])]);
    for (const p of ordered) if (specs.has(p) || implicit.has(p)) inodeOfPath.set(p, nextInode++);
    for (const p of linkOf.keys()) {
      let target = linkOf.get(p)!;
      const seen = new Set([p]);
      while (linkOf.has(target)) {
        if (seen.has(target)) throw new LayerError(this.layerName, p, 'hard link cycle');
        seen.add(target);
        target = linkOf.get(target)!;
      }
      const spec = specs.get(target);
      if (!spec) throw new LayerError(this.layerName, p, `hard link to missing entry ${target}`);
      if (spec.type === 'directory') throw new LayerError(this.layerName, p, `hard link to directory ${target}`);
      inodeOfPath.set(p, inodeOfPath.get(target)!);
    }

    const linksOfInode = new Map<number, number>();
    for (const ino of inodeOfPath.values()) linksOfInode.set(ino, (linksOfInode.get(ino) ?? 0) + 1);
    const subdirs = new Map<string, number>();
    for (const p of ordered) {
      if (p === '/') continue;
      const type = this.typeAt(p, specs, implicit, linkOf);
      if (type === 'directory') subdirs.set(dirname(p), (subdirs.get(dirname(p)) ?? 0) + 1);
    }

    const entries = new Map<string, LayerEntry>();
    for (const p of ordered) {
      const isImplicit = implicit.has(p) && !specs.has(p);
      const target = linkOf.has(p) ? resolveLink(p, linkOf) : p;
      const spec = isImplicit ? IMPLICIT_DIR : specs.get(target)!;
      const inode = inodeOfPath.get(p)!;
      entries.set(p, this.makeEntry(p, spec, inode, isImplicit, spec.type === 'directory' ? 2 + (subdirs.get(p) ?? 0) : linksOfInode.get(inode)!, content));
    }
    return { entries, whiteouts: new Set(this.whiteouts), opaqueDirs: new Set(this.opaqueDirs), content };
  }

  private typeAt(p: string, specs: Map<string, EntrySpec>, implicit: Set<string>, linkOf: Map<string, string>): EntryType {
    if (specs.has(p)) return specs.get(p)!.type;
    if (linkOf.has(p)) return 'file';
    return implicit.has(p) ? 'directory' : 'file';
  }

  private makeEntry(path: string, spec: EntrySpec, inode: number, implicit: boolean, nlink: number, content: Map<number, Buffer | ContentRef>): LayerEntry {
    const type = spec.type;
    let size = 0;
    if (type === 'file') {
      let data = content.get(inode);
      if (!data) {
        data = typeof spec.content === 'string' ? Buffer.from(spec.content) : spec.content ?? Buffer.alloc(0);
        content.set(inode, data);
      }
      size = Buffer.isBuffer(data) ? data.length : data.size;
    } else if (type === 'symlink') {
      if (!spec.linkTarget) throw new LayerError(this.layerName, path, 'symlink without a target');
      size = Buffer.byteLength(spec.linkTarget);
    } else if (spec.content !== undefined && (Buffer.isBuffer(spec.content) || typeof spec.content === 'string' ? spec.content.length : spec.content.size) > 0) {
      throw new LayerError(this.layerName, path, `a ${type} cannot have content`);
    }
    let xattrs: ReadonlyMap<string, Buffer> = NO_XATTRS;
    if (spec.xattrs) {
      const own = new Map<string, Buffer>();
      for (const [k, v] of Object.entries(spec.xattrs)) own.set(k, typeof v === 'string' ? Buffer.from(v) : v);
      if (own.size > 0) xattrs = own;
    }
    const mtimeMs = spec.mtimeMs ?? 0;
    const entry: LayerEntry = {
      type,
      mode: (spec.mode ?? defaultMode(type)) & 0o7777,
      uid: spec.uid ?? 0,
      gid: spec.gid ?? 0,
      mtimeMs,
      atimeMs: spec.atimeMs ?? mtimeMs,
      size,
      rdev: spec.rdev ?? 0,
      xattrs,
      inode,
      nlink,
      implicit,
      ...(type === 'symlink' ? { linkTarget: spec.linkTarget! } : {}),
    };
    return Object.freeze(entry);
  }
}

function resolveLink(p: string, linkOf: Map<string, string>): string {
  let t = linkOf.get(p)!;
  while (linkOf.has(t)) t = linkOf.get(t)!;
  return t;
}

/**
 * Parents before children, then by name, so indexes and tars come out in one stable order
 * (each path's depth computed once, not on every comparison).
 */
function sortParentsFirst(paths: string[]): string[] {
  return paths
    .map((p) => ({ p, d: depth(p) }))
    .sort((a, b) => a.d - b.d || (a.p < b.p ? -1 : a.p > b.p ? 1 : 0))
    .map((x) => x.p);
}
