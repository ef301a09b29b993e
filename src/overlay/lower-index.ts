// Over 300 lines: the merged tree of the lower layers is one structure, built layer by layer
// (whiteouts, opaque directories, hard links across layers) and read by the engine (lookup,
// readdir, content, copy-up's one copy); its node map stays private to this file.
import { kMaxLength } from 'node:buffer';
import type { Layer } from '../layer/layer.js';
import type { LayerEntry } from '../layer/entry.js';
import { LayerContentError } from '../layer/content-error.js';
import { LayerError } from '../layer/layer-builder.js';
import { basename, dirname, join, toComponents } from '../util/path.js';
import type { OwnedContent } from './upper.js';

/**
 * One object of the merged lower stack: what the kernel's lookup finds for a path when
 * there is no upper layer.
 */
export interface LowerNode {
  /** Its path in the lower stack (a redirected upper directory points here). */
  path: string;
  /** The visible entry; for a directory, the topmost layer's explicit directory entry. */
  entry: LayerEntry;
  /** Index (0 = bottom) of the layer `entry` comes from. */
  layer: number;
  /**
   * For a directory: the topmost layer's own entry for it, which holds the real link count
   * of a directory only that layer provides (its metadata may come from below, see `entry`).
   */
  top?: LayerEntry;
  /** Children by name, for directories. */
  children?: Map<string, LowerNode>;
  /** Lower layers that hold this directory (merged), bottom to top, from the last opaque/replacement on. */
  dirLayers?: number[];
  /**
   * For a name that a hard link of layer `layer` gives to a file of a layer below (and for
   * that file's copied-up name): where content and link target are read from. `entry` is then
   * the copy's own: the lower file's metadata, an inode of layer `layer`, its link count.
   */
  source?: { layer: number; entry: LayerEntry };
}

/** Copies made for hard links to lower files get inode numbers from here: above any a layer gives its entries. */
const LINKED_INODES = 2 ** 31;
/** Symlinks followed while resolving a hard link's target, as the kernel's path walk allows (ELOOP after 40). */
const MAX_SYMLINKS = 40;

const NO_LINKS: ReadonlyMap<string, string> = new Map();

const ROOT_ENTRY: LayerEntry = Object.freeze({
  type: 'directory', mode: 0o755, uid: 0, gid: 0, mtimeMs: 0, atimeMs: 0, size: 0, rdev: 0,
  xattrs: new Map(), inode: 0, nlink: 2, implicit: true,
});

/**
 * The read-only lower stack merged once, when the overlay is made, so that a lookup costs a
 * hash probe per path component whatever the depth of the stack.
 *
 * Built by applying the layers bottom-up as changesets (layer.md "Applying changesets"):
 * whiteouts and opaque markers of a layer act on what is below it, then the layer's own
 * entries are placed. This gives the same result as the kernel's top-down lookup
 * (overlayfs.rst "Directories", "whiteouts and opaque directories"): the topmost layer that
 * has a name decides; a non-directory hides everything below; directories merge until an
 * opaque one.
 */
export class LowerIndex {
  readonly root: LowerNode;
  private readonly byPath = new Map<string, LowerNode>();

  readonly layers: Layer[] = [];
  /** What hard links to lower files added to a layer as stacked: the links, the copied-up targets and their directories. */
  private readonly linked = new Map<number, Map<string, LayerEntry>>();
  private readonly stacked = new Map<number, ReadonlyMap<string, LayerEntry>>();
  /** The next inode for a copy made for hard links to lower files (per layer). */
  private nextLinkedInode = LINKED_INODES;

  constructor(layers: readonly Layer[]) {
    this.root = { path: '/', entry: ROOT_ENTRY, layer: -1, children: new Map(), dirLayers: [], top: ROOT_ENTRY };
    this.byPath.set('/', this.root);
    for (const layer of layers) this.add(layer);
  }

  /** Places one more layer on top (tools that walk an image layer by layer reuse one index). */
  add(layer: Layer): void {
    this.layers.push(layer);
    this.apply(layer, this.layers.length - 1);
  }

  get(path: string): LowerNode | undefined {
    return this.byPath.get(path);
  }

  /**
   * Layer `index`'s entries as it stands in this stack: its own, plus what its hard links to
   * lower files put into it (the links, the copied-up targets and their directories; those
   * come after the layer's own, not in path order). For views that scan layers one by one.
   */
  entriesOf(index: number): ReadonlyMap<string, LayerEntry> {
    const own = this.layers[index]!.entries;
    const extra = this.linked.get(index);
    if (!extra) return own;
    let all = this.stacked.get(index);
    if (!all) this.stacked.set(index, (all = new Map([...own, ...extra])));
    return all;
  }

  /**
   * Where a lower file's bytes are: the layer that holds them and its entry there (a name a
   * hard link to a lower file put into a layer reads its target's).
   */
  contentOf(node: LowerNode): { layer: Layer; entry: LayerEntry } {
    const from = node.source ?? node;
    return { layer: this.layers[from.layer]!, entry: from.entry };
  }

  /** A lower file's whole content, from the layer that holds it. */
  read(node: LowerNode): Buffer {
    const { layer, entry } = this.contentOf(node);
    return layer.read(entry);
  }

  /**
   * A lower file's whole content in a new Buffer with up to `room` bytes more past it, read
   * by position from the layer that holds it (Layer.readAt): the bytes are copied once,
   * whether the layer holds them in memory or reads them from its file.
   */
  copyOf(node: LowerNode, room: number): OwnedContent {
    const { layer, entry } = this.contentOf(node);
    const size = entry.size;
    if (size > kMaxLength) throw new LayerError(layer.name, node.path, `a file of ${size} bytes is larger than a Buffer can hold`);
    const buf = Buffer.allocUnsafe(Math.min(size + room, kMaxLength));
    // At least one read, also of an empty file: a closed layer fails it (ERR_LAYER_CLOSED).
    let n = 0;
    let got: number;
    do {
      got = layer.readAt(entry, buf, n, size - n, n);
      n += got;
    } while (n < size && got !== 0);
    // A layer whose content ends before the size its entry says would copy up a shorter file:
    // a failed read (EIO through ov.fs), as ContentFile's reads of a file that ended early.
    if (n !== size) throw new LayerContentError(layer.name, node.path, 'ERR_LAYER_IO', `its content ended after ${n} of the ${size} bytes its entry says`);
    return { buf, size };
  }

  private apply(layer: Layer, index: number): void {
    this.nextLinkedInode = LINKED_INODES;
    for (const p of layer.whiteouts) this.remove(p);
    for (const d of layer.opaqueDirs) {
      const node = this.byPath.get(d);
      if (node?.children) {
        for (const [name, child] of node.children) this.forget(child, join(d, name));
        node.children.clear();
        node.dirLayers = [];
      }
    }
    // A hard link to a name the layer lists itself was listed before that entry (LayerBuilder
    // `ordered`): it names the file below, found before the layer's entries are placed.
    const links = layer.lowerLinks ?? NO_LINKS;
    const before = new Map<string, string>();
    const after = new Map<string, string>();
    for (const [name, target] of links) (layer.entries.get(target)?.implicit === false ? before : after).set(name, target);
    const early = before.size > 0 ? this.resolveLowerLinks(layer, index, before) : undefined;
    for (const [p, entry] of layer.entries) {
      if (p === '/') {
        this.mergeDir(this.root, entry, index);
        continue;
      }
      const parent = this.byPath.get(dirname(p));
      // A name under a non-directory of the same layer: the layer cannot be extracted that
      // way either (the parent is a file), so the entry is unreachable.
      if (!parent?.children || parent.dirLayers?.at(-1) !== index) continue;
      const name = basename(p);
      const existing = parent.children.get(name);
      if (entry.type === 'directory' && existing?.children) {
        this.mergeDir(existing, entry, index);
        continue;
      }
      if (existing) this.forget(existing, p);
      const node: LowerNode = entry.type === 'directory'
        ? { path: p, entry, layer: index, children: new Map(), dirLayers: [index], top: entry }
        : { path: p, entry, layer: index };
      parent.children.set(name, node);
      this.byPath.set(p, node);
    }
    // The other hard links to lower files come last, as if the tar listed them after everything else.
    const late = after.size > 0 ? this.resolveLowerLinks(layer, index, after) : undefined;
    if (early || late) {
      const extra = new Map<string, LayerEntry>();
      this.linked.set(index, extra);
      if (early) this.placeLowerLinks(index, early, extra, true);
      if (late) this.placeLowerLinks(index, late, extra, false);
    }
  }

  /**
   * The targets of some of a layer's hard links to files below it (`which`), grouped by
   * target: the target's directories resolved through symlinks (inside the root), its last
   * name not (link(2) does not follow it), as an applier resolves a link's target. Links the
   * tar lists after the rest of the layer are resolved once it is in place; links to a name
   * the layer lists after them, before (apply). The target must be a file of a layer below
   * that this layer leaves in place. Refused, because the result would depend on the order of
   * entries the layer does not keep: a target that is the layer's own entry by another path,
   * a target path through a symlink the layer adds or replaces (umoci follows the symlink the
   * tree has when the link is extracted), a link named like another link's target, a link
   * named for a directory that holds a target (the applier removes what is at the name
   * first).
   */
  private resolveLowerLinks(layer: Layer, index: number, which: ReadonlyMap<string, string>): Map<LowerNode, string[]> {
    const groups = new Map<LowerNode, string[]>();
    const links = layer.lowerLinks!;
    for (const [name, target] of which) {
      let through: LowerNode | undefined;
      const node = this.lookup(target, (symlink) => {
        if (symlink.layer === index || layer.entries.get(symlink.path)?.implicit === false) through ??= symlink;
      });
      if (through) throw new LayerError(layer.name, name, `hard link to ${target}, whose path goes through ${through.path}, a symlink this layer also lists: the result would depend on the order of the entries`);
      if (!node || node === this.root) throw new LayerError(layer.name, name, `hard link to missing entry ${target} (neither in this layer nor in the layers below it)`);
      if (node.children) throw new LayerError(layer.name, name, `hard link to directory ${target}`);
      if (node.layer === index) throw new LayerError(layer.name, name, `hard link to ${target}, which is this layer's own entry ${node.path}: the result would depend on the order of the entries`);
      if (links.has(node.path)) throw new LayerError(layer.name, name, `hard link to ${node.path}, which the layer also names as a link: the result would depend on the order of the entries`);
      for (let d = dirname(node.path); d !== '/'; d = dirname(d)) {
        if (links.has(d)) throw new LayerError(layer.name, d, `hard link named for a directory that holds its layer's link target ${node.path}`);
      }
      const names = groups.get(node);
      if (names) names.push(name);
      else groups.set(node, [name]);
    }
    return groups;
  }

  /**
   * Places a layer's hard links to lower files as the kernel's link() on an overlay of the
   * layers below leaves them (overlayfs.rst "Non-directories": the target is copied up first):
   * the target's name and its directories are now in this layer too, and the copy and the
   * link's names are one inode of this layer, with the lower file's metadata and content.
   * Other names of the lower file keep the lower inode (no index=on). `replaced`: the layer's
   * own entry took the target's name after the links were made (it is listed after them), so
   * only the links' names share the copy.
   */
  private placeLowerLinks(index: number, groups: Map<LowerNode, string[]>, extra: Map<string, LayerEntry>, replaced: boolean): void {
    for (const [target, names] of groups) {
      const entry: LayerEntry = Object.freeze({ ...target.entry, inode: this.nextLinkedInode++, nlink: names.length + (replaced ? 0 : 1), implicit: false });
      const source = target.source ?? { layer: target.layer, entry: target.entry };
      if (!replaced) {
        for (let d = dirname(target.path); ; d = dirname(d)) {
          const dir = this.byPath.get(d)!;
          if (dir.dirLayers!.at(-1) !== index) {
            dir.dirLayers!.push(index);
            extra.set(d, dir.entry);
          }
          if (d === '/') break;
        }
      }
      for (const p of replaced ? names : [target.path, ...names]) {
        const parent = this.byPath.get(dirname(p));
        // A name under a non-directory of the layer: unreachable, as for entries.
        if (!parent?.children || parent.dirLayers?.at(-1) !== index) continue;
        const existing = parent.children.get(basename(p));
        if (existing) this.forget(existing, p);
        const node: LowerNode = { path: p, entry, layer: index, source };
        parent.children.set(basename(p), node);
        this.byPath.set(p, node);
        extra.set(p, entry);
      }
    }
  }

  /**
   * The object at `path` in the tree as it stands, its directories' symlinks followed (inside
   * the root), its last name not; `onSymlink` sees each symlink followed.
   */
  private lookup(path: string, onSymlink?: (symlink: LowerNode) => void): LowerNode | undefined {
    let todo = toComponents(path);
    let at = this.root;
    for (let hops = 0; todo.length > 0;) {
      const c = todo.shift()!;
      if (c === '..') {
        at = this.byPath.get(dirname(at.path)) ?? this.root;
        continue;
      }
      const child = at.children?.get(c);
      if (!child) return undefined;
      if (todo.length === 0) return child;
      if (child.entry.type === 'symlink') {
        if (++hops > MAX_SYMLINKS) return undefined;
        onSymlink?.(child);
        const link = child.entry.linkTarget!;
        if (link.startsWith('/')) at = this.root;
        todo = [...toComponents(link), ...todo];
        continue;
      }
      if (!child.children) return undefined;
      at = child;
    }
    return at;
  }

  private mergeDir(node: LowerNode, entry: LayerEntry, index: number): void {
    node.dirLayers!.push(index);
    node.top = entry;
    // An implicit directory keeps the metadata of the directory below (umoci omits unchanged parents).
    if (!entry.implicit || node.layer < 0) {
      node.entry = entry;
      node.layer = index;
    }
  }

  private remove(path: string): void {
    const node = this.byPath.get(path);
    if (!node || path === '/') return;
    this.byPath.get(dirname(path))?.children?.delete(basename(path));
    this.forget(node, path);
  }

  /** Drops a node and its subtree from the path table (iteratively: layers can nest deep). */
  private forget(node: LowerNode, path: string): void {
    const todo: Array<[LowerNode, string]> = [[node, path]];
    for (let item = todo.pop(); item; item = todo.pop()) {
      const [n, p] = item;
      this.byPath.delete(p);
      if (n.children) for (const [name, child] of n.children) todo.push([child, join(p, name)]);
    }
  }
}

