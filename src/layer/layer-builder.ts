// Over 300 lines: one class whose add, link and build steps share the pending entries; its
// index pass (build) reads every rule the adds recorded.
import type { ContentRef, EntrySpec, LayerEntry } from './entry.js';
import { LayerError } from './layer-error.js';
import { makeEntry } from './make-entry.js';
import { isAufsMeta, OPAQUE_MARKER, WHITEOUT_PREFIX, whitedOutName } from '../oci/oci-names.js';
import { basename, depth, dirname, join, normalize } from '../util/path.js';

export { LayerError };

export interface BuiltLayer {
  entries: Map<string, LayerEntry>;
  whiteouts: Set<string>;
  opaqueDirs: Set<string>;
  content: Map<number, Buffer | ContentRef>;
  /** Hard links to files of the layers below: name -> target path (see Layer.lowerLinks). */
  lowerLinks: Map<string, string>;
}

interface PendingEntry {
  spec: EntrySpec;
  /** When it was added: a hard link of an ordered builder names only entries added before it. */
  order: number;
  /** For hard links: the path of the entry whose inode this name shares. */
  linkTo?: string;
  /** Set by build(): the inode given to this entry (hard links look up their target's). */
  inode?: number;
}

const IMPLICIT_DIR: EntrySpec = { type: 'directory', mode: 0o755, uid: 0, gid: 0, mtimeMs: 0 };

export interface LayerBuilderOptions {
  /**
   * Entries are added in the order of an archive (a tar layer): a hard link names what is at
   * its target when it is extracted, so a target the layer lists only after the link is the
   * file of the layers below (which the layer's own entry then replaces), as GNU tar and umoci
   * extract it. Without it (layers built from JSON or a Volume), a link may name an entry of
   * the layer added before or after it.
   */
  ordered?: boolean;
  /**
   * A `.wh.` name is an ordinary entry, as in a directory in the kernel's format (overlayfs.rst,
   * "whiteouts and opaque directories": 0/0 character devices, `addWhiteout`; an xattr, `addOpaque`).
   */
  literalNames?: boolean;
}

/**
 * Collects a layer's entries (for a tar layer, in archive order: `ordered`) and produces the
 * immutable index: OCI whiteout names turned into whiteouts and opaque markers, implicit
 * parents added, hard links resolved to shared inodes, link counts computed.
 */
export class LayerBuilder {
  private readonly pending = new Map<string, PendingEntry>();
  private added = 0;
  private readonly whiteouts = new Set<string>();
  private readonly opaqueDirs = new Set<string>();
  /** Files under AUFS metadata (`.wh..wh.plnk/...`): not entries, only hard-link targets. */
  private readonly aufsFiles = new Map<string, PendingEntry[]>();
  /**
   * (ordered) What a later add of the same path replaced, oldest first: not entries, only the
   * targets of the hard links added in between (see `supersede`).
   */
  private readonly replaced = new Map<string, PendingEntry[]>();

  constructor(readonly layerName: string, private readonly options: LayerBuilderOptions = {}) {}

  /**
   * Adds an entry; a `.wh.` name is read as a whiteout or opaque marker whatever its type (as
   * containerd's and umoci's appliers read it: layer.md gives whiteouts no type). A later add
   * of the same path wins. See `reservedPlace` for AUFS metadata and names inside a whiteout.
   */
  add(path: string, spec: EntrySpec): this {
    const p = normalize(path);
    // AUFS metadata, opaque markers and whiteouts all have a component starting `.wh.`: the
    // common name has none and skips their checks.
    if (this.options.literalNames !== true && p.includes('/.wh.') && this.addReserved(p, path, spec)) return this;
    // The root is a directory in every layer: a file, link or device there would replace it
    // (umoci refuses such an entry as malicious; GNU tar fails to extract it).
    if (p === '/' && spec.type !== 'directory') throw new LayerError(this.layerName, path, `the layer root can only be a directory, not a ${spec.type}`);
    this.supersede(p);
    this.pending.set(p, { spec, order: ++this.added });
    return this;
  }

  /** Takes in AUFS metadata, an opaque marker or a whiteout (see add): true when `p` is one, and so no entry. */
  private addReserved(p: string, path: string, spec: EntrySpec): boolean {
    if (this.reservedPlace(p, path) === 'aufs') {
      // Kept out of the layer; its files can still be the target of a hard link (AUFS pseudo-links).
      if (spec.type === 'file') {
        // Each version kept: an ordered layer's links name the one listed before them.
        const versions = this.aufsFiles.get(p);
        const version = { spec, order: ++this.added };
        if (versions && this.options.ordered === true) versions.push(version);
        else this.aufsFiles.set(p, [version]);
      }
      return true;
    }
    const name = basename(p);
    if (name === OPAQUE_MARKER) {
      this.opaqueDirs.add(dirname(p));
      return true;
    }
    const hidden = whitedOutName(name);
    if (hidden === undefined) return false;
    if (hidden === '' || hidden === '.' || hidden === '..') throw new LayerError(this.layerName, path, 'whiteout of an invalid name');
    this.whiteouts.add(join(dirname(p), hidden));
    return true;
  }

  /** This layer removes `path` from the layers below (a whiteout given as such, not by a `.wh.` name). */
  addWhiteout(path: string): this {
    if (normalize(path) === '/') throw new LayerError(this.layerName, path, 'whiteout of the root');
    this.whiteouts.add(normalize(path));
    return this;
  }

  /** Directory `dir` of this layer hides the content of the directories below it. */
  addOpaque(dir: string): this {
    this.opaqueDirs.add(normalize(dir));
    return this;
  }

  /** Adds `path` as another name of the file at `target` (tar typeflag 1, same layer). */
  addHardLink(path: string, target: string): this {
    const p = normalize(path);
    if (this.options.literalNames !== true) {
      if (this.reservedPlace(p, path) === 'aufs') return this;
      const name = basename(p);
      // A whiteout or opaque marker, whatever its type (see add).
      if (name === OPAQUE_MARKER || whitedOutName(name) !== undefined) return this.add(path, { type: 'file' });
    }
    if (p === '/') throw new LayerError(this.layerName, path, 'the layer root can only be a directory, not a hard link');
    this.supersede(p);
    this.pending.set(p, { spec: { type: 'file' }, linkTo: normalize(target), order: ++this.added });
    return this;
  }

  /**
   * A later add of a path is later in the archive order, and replaces the entry there. In an
   * archive (ordered), a hard link added in between still names the replaced one: GNU tar and
   * umoci link to the file the name had when the link is extracted, and the later entry is
   * then a new file (unlink, create), so the link keeps the earlier content.
   */
  private supersede(p: string): void {
    const old = this.pending.get(p);
    if (old === undefined) return;
    this.pending.delete(p);
    if (this.options.ordered !== true) return;
    const list = this.replaced.get(p);
    if (list) list.push(old);
    else this.replaced.set(p, [old]);
  }

  /**
   * Where a name sits among reserved names. `'aufs'`: at or under AUFS metadata, which never
   * becomes an entry. A name inside a whiteout or an opaque marker (`.wh.x/y`: the whiteout
   * used as a directory) is refused: no tool agrees on it (containerd and umoci create the
   * parent `.wh.x` to hold `y`, which would show a whiteout name), and it cannot be meant.
   */
  private reservedPlace(p: string, asGiven: string): 'aufs' | undefined {
    if (!p.includes('/.wh.')) return undefined;
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const part = parts[i]!;
      if (!part.startsWith(WHITEOUT_PREFIX)) continue;
      if (isAufsMeta(part)) return 'aufs';
      if (i < parts.length - 1) throw new LayerError(this.layerName, asGiven, `inside ${part}, which is a whiteout or opaque marker, not a directory`);
    }
    return undefined;
  }

  build(): BuiltLayer {
    const pending = this.pending;
    for (const list of this.aufsFiles.values()) for (const a of list) a.inode = undefined;
    for (const list of this.replaced.values()) for (const r of list) r.inode = undefined;
    const isSpec = (p: string): boolean => {
      const pe = pending.get(p);
      return pe !== undefined && pe.linkTo === undefined;
    };
    // Every name a layer mentions lives in a directory of that layer: the ones it does not
    // list are implicit. A directory's ancestors are walked once: later paths stop there.
    const implicit = new Set<string>();
    const walked = new Set<string>();
    const needParent = (p: string): void => {
      for (let d = dirname(p); !walked.has(d); d = dirname(d)) {
        walked.add(d);
        if (!pending.has(d)) implicit.add(d);
        if (d === '/') break;
      }
    };
    for (const p of pending.keys()) if (p !== '/') needParent(p);
    for (const p of this.whiteouts) if (p !== '/') needParent(p);
    for (const d of this.opaqueDirs) {
      if (!isSpec(d)) implicit.add(d);
      if (d !== '/') needParent(d);
    }
    if (!isSpec('/')) implicit.add('/');

    // Links are followed in the order they were added, so that of two broken links the one
    // named is the one a tar lists first. A link whose target (after links of this layer) is
    // not in this layer, or (ordered) is listed only after the link, links to a file of the
    // layers below: it is kept by name, resolved when the layer is stacked (lower-index.ts),
    // as an applier links onto the tree below.
    const targetOf = new Map<string, PendingEntry>();
    const lowerLinks = new Map<string, string>();
    const inOrder = this.options.ordered === true;
    for (const [p, pe] of pending) {
      if (pe.linkTo === undefined) continue;
      let target = pe.linkTo;
      let at = pe.order;
      /** The layer's entry at `path` when the link being followed is extracted. */
      const there = (path: string): PendingEntry | undefined => {
        const e = pending.get(path);
        if (e !== undefined && (!inOrder || e.order < at)) return e;
        return inOrder ? latestBefore(this.replaced.get(path), at) : undefined;
      };
      const aufsThere = (path: string): PendingEntry | undefined => {
        const versions = this.aufsFiles.get(path);
        return inOrder ? latestBefore(versions, at) : versions?.[versions.length - 1];
      };
      // Ordered, each step of a chain goes to an entry added earlier: there is no cycle to find.
      const seen = new Set([p]);
      for (let next = there(target); next?.linkTo !== undefined; next = there(target)) {
        if (!inOrder && seen.has(target)) throw new LayerError(this.layerName, p, 'hard link cycle');
        seen.add(target);
        at = next.order;
        target = next.linkTo;
      }
      const found = there(target) ?? aufsThere(target);
      if (!found) {
        if (target === '/') throw new LayerError(this.layerName, p, 'hard link to directory /');
        lowerLinks.set(p, target);
        continue;
      }
      if (found.spec.type === 'directory') throw new LayerError(this.layerName, p, `hard link to directory ${target}`);
      targetOf.set(p, found);
    }

    const paths: string[] = [];
    for (const p of pending.keys()) if (!lowerLinks.has(p)) paths.push(p);
    for (const d of implicit) if (!pending.has(d)) paths.push(d);
    const ordered = sortParentsFirst(paths);

    // Inodes in path order; a hard link (to an earlier or later entry, possibly through other
    // links) then takes its target's. One record per path: each map is read once per path.
    // `own`: the path has an entry of its own (listed, and not a hard link).
    const nodes = ordered.map((p) => {
      const pe = pending.get(p);
      return { p, pe, own: pe !== undefined && pe.linkTo === undefined, implicit: implicit.has(p), inode: 0 };
    });
    let nextInode = 1;
    // An entry's inode is kept on it only for the links to it: a layer without any (most, and
    // every layer of many small files) does not grow 200,000 records by a property.
    const linked = targetOf.size > 0;
    for (const n of nodes) {
      if (n.implicit || n.own) n.inode = nextInode++;
      if (linked && n.pe !== undefined) n.pe.inode = n.inode;
    }
    if (linked) {
      // A file kept under AUFS metadata gets an inode only when a link names it.
      for (const [p, found] of targetOf) pending.get(p)!.inode = found.inode ??= nextInode++;
      for (const n of nodes) if (n.pe?.linkTo !== undefined) n.inode = n.pe.inode!;
    }

    const linksOfInode: number[] = new Array<number>(nextInode).fill(0);
    const subdirs = new Map<string, number>();
    for (const n of nodes) {
      linksOfInode[n.inode]!++;
      const isDir = n.own ? n.pe!.spec.type === 'directory' : n.pe === undefined && n.implicit;
      if (isDir && n.p !== '/') {
        const parent = dirname(n.p);
        subdirs.set(parent, (subdirs.get(parent) ?? 0) + 1);
      }
    }

    const entries = new Map<string, LayerEntry>();
    const content = new Map<number, Buffer | ContentRef>();
    for (const n of nodes) {
      const isImplicit = n.implicit && !n.own;
      const spec = isImplicit ? IMPLICIT_DIR : n.pe!.linkTo !== undefined ? targetOf.get(n.p)!.spec : n.pe!.spec;
      const nlink = spec.type === 'directory' ? 2 + (subdirs.get(n.p) ?? 0) : linksOfInode[n.inode]!;
      entries.set(n.p, makeEntry(this.layerName, n.p, spec, n.inode, isImplicit, nlink, content));
    }
    return { entries, whiteouts: new Set(this.whiteouts), opaqueDirs: new Set(this.opaqueDirs), content, lowerLinks };
  }
}

/** The last of `versions` (oldest first) added before `at`. */
function latestBefore(versions: readonly PendingEntry[] | undefined, at: number): PendingEntry | undefined {
  if (versions) for (let i = versions.length - 1; i >= 0; i--) if (versions[i]!.order < at) return versions[i];
  return undefined;
}

/**
 * Parents before children, then by name (UTF-16 code unit order), so indexes and tars come
 * out in one stable order. Paths are bucketed by depth and each bucket sorted with the
 * built-in string order: no comparator call per comparison.
 */
function sortParentsFirst(paths: string[]): string[] {
  const byDepth: string[][] = [];
  for (const p of paths) (byDepth[depth(p)] ??= []).push(p);
  const out: string[] = [];
  for (const bucket of byDepth) if (bucket) for (const p of bucket.sort()) out.push(p);
  return out;
}
