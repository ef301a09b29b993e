import type { Layer } from '../layer/layer.js';
import type { LayerEntry } from '../layer/entry.js';
import { LayerError } from '../layer/layer-builder.js';
import { OPAQUE_MARKER } from '../layer/oci-names.js';
import { basename, dirname, join, toComponents } from './path.js';

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

/**
 * A directory a layer's entries placed through a symlink pass (or make) on the way: it keeps
 * the metadata of the directory below, as an implicit parent does (made: 0755, root, time 0).
 */
const MERGED_ON_THE_WAY: LayerEntry = Object.freeze({
  type: 'directory', mode: 0o755, uid: 0, gid: 0, mtimeMs: 0, atimeMs: 0, size: 0, rdev: 0,
  xattrs: new Map(), inode: 0, nlink: 2, implicit: true,
});

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
  /**
   * What a layer holds as stacked beyond its own entries by their own paths: its hard links to
   * lower files, the copied-up targets and their directories, and the entries it placed
   * through symlinks of the layers below, by the paths they took (and the directories on the way).
   */
  private readonly linked = new Map<number, Map<string, LayerEntry>>();
  /** A layer's own paths whose entries were placed through a symlink, elsewhere. */
  private readonly movedFrom = new Map<number, Set<string>>();
  private readonly stacked = new Map<number, ReadonlyMap<string, LayerEntry>>();
  /** The next inode for a copy made for hard links to lower files (per layer). */
  private nextLinkedInode = LINKED_INODES;
  /** The symlinks of the layers below that the layer being applied placed entries through. */
  private followed: LowerNode[] = [];

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
   * lower files put into it (the links, the copied-up targets and their directories), entries
   * placed through a symlink of the layers below by the path they took (those come after the
   * layer's own, not in path order). For views that scan layers one by one.
   */
  entriesOf(index: number): ReadonlyMap<string, LayerEntry> {
    const own = this.layers[index]!.entries;
    const extra = this.linked.get(index);
    if (!extra) return own;
    let all = this.stacked.get(index);
    if (!all) {
      const moved = this.movedFrom.get(index);
      const map = new Map(moved ? [...own].filter(([p]) => !moved.has(p)) : own);
      for (const [p, e] of extra) map.set(p, e);
      this.stacked.set(index, (all = map));
    }
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

  private apply(layer: Layer, index: number): void {
    this.nextLinkedInode = LINKED_INODES;
    this.followed = [];
    // Whiteouts and opaque markers act on the tree below (through the symlinks the layer's
    // implicit parents stand on, as its entries do: placeThroughSymlinks).
    for (const p of layer.whiteouts) {
      const via: LowerNode[] = [];
      const dir = this.belowDir(layer, dirname(p), via);
      const child = dir?.children?.get(basename(p));
      if (child) this.refuseRemovingVia(layer, join(dirname(p), `.wh.${basename(p)}`), child, via);
      if (child && p !== '/') {
        dir!.children!.delete(basename(p));
        this.forget(child, child.path);
      }
    }
    for (const d of layer.opaqueDirs) {
      const via: LowerNode[] = [];
      const node = this.belowDir(layer, d, via);
      // Through a symlink to `/`, a marker would hide the whole tree below: umoci empties the
      // rootfs, containerd's overlay applier makes a directory of the symlink instead, and the
      // kernel ignores an opaque layer root. No answer is right: refused.
      if (node === this.root && d !== '/') throw new LayerError(layer.name, join(d, OPAQUE_MARKER), `${d} stands on a symlink of the layers below that leads to /: an opaque marker there would hide the whole tree below`);
      if (node?.children) {
        for (const child of node.children.values()) this.refuseRemovingVia(layer, join(d, OPAQUE_MARKER), child, via);
        for (const child of node.children.values()) this.forget(child, child.path);
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

    // The layer's entries, parents first. `dirs`: where each directory of the layer stands in
    // the tree (a directory placed through a symlink stands elsewhere). An implicit directory
    // on a symlink of the layers below is placed where the symlink leads, after the rest of
    // the layer (the layer's own entries decide first).
    const dirs = new Map<string, LowerNode>();
    const through: Array<[string, LayerEntry]> = [];
    const deferred = new Set<string>();
    for (const [p, entry] of layer.entries) {
      if (p === '/') {
        this.mergeDir(this.root, entry, index);
        dirs.set('/', this.root);
        continue;
      }
      const parentPath = dirname(p);
      if (deferred.has(parentPath)) {
        through.push([p, entry]);
        if (entry.type === 'directory') deferred.add(p);
        continue;
      }
      // A name under a non-directory of the same layer: the layer cannot be extracted that
      // way either (the parent is a file), so the entry is unreachable.
      const parent = dirs.get(parentPath);
      if (!parent) continue;
      if (entry.implicit && parent.children!.get(basename(p))?.entry.type === 'symlink') {
        through.push([p, entry]);
        deferred.add(p);
        continue;
      }
      this.place(p, entry, parent, index, dirs);
    }
    if (through.length > 0) this.placeThroughSymlinks(layer, index, through, dirs);

    // The other hard links to lower files come last, as if the tar listed them after everything else.
    const late = after.size > 0 ? this.resolveLowerLinks(layer, index, after) : undefined;
    if (early || late) {
      const extra = this.extraOf(index);
      if (early) this.placeLowerLinks(layer, index, early, extra, true, dirs);
      if (late) this.placeLowerLinks(layer, index, late, extra, false, dirs);
    }
  }

  /** Places entry `p` of layer `index` in `parent` (a directory of the layer): merged with a directory there, or replacing what is there. */
  private place(p: string, entry: LayerEntry, parent: LowerNode, index: number, dirs: Map<string, LowerNode>): LowerNode {
    const name = basename(p);
    const path = join(parent.path, name);
    const existing = parent.children!.get(name);
    if (entry.type === 'directory' && existing?.children) {
      this.mergeDir(existing, entry, index);
      dirs.set(p, existing);
      return existing;
    }
    if (existing) this.forget(existing, path);
    const node: LowerNode = entry.type === 'directory'
      ? { path, entry, layer: index, children: new Map(), dirLayers: [index], top: entry }
      : { path, entry, layer: index };
    parent.children!.set(name, node);
    this.byPath.set(path, node);
    if (node.children) dirs.set(p, node);
    return node;
  }

  /**
   * Places the entries of a layer's implicit directories that stand on symlinks of the layers
   * below (`lib/new` over `lib -> usr/lib`): where the symlink leads, inside the root (an
   * absolute target starts at `/`, `..` stops there), as umoci (securejoin), GNU tar
   * extracting onto the tree and containerd's applier on a mount of it (fs.RootPath) place
   * them; directories the target names that do not exist are made, as those tools make them.
   * The directories on the way become the layer's (the kernel copies them up). Refused: a
   * symlink that leads to a non-directory or loops, and an entry that would land on an object
   * the layer also lists under another name (the result would depend on the order of the
   * entries).
   */
  private placeThroughSymlinks(layer: Layer, index: number, entries: Array<[string, LayerEntry]>, dirs: Map<string, LowerNode>): void {
    const claimed = new Map<string, string>(); // a path placed here -> the layer's name for it
    const made: LowerNode[] = [];
    const moved = new Map<string, LayerEntry>();
    for (const [p, entry] of entries) {
      const parent = dirs.get(dirname(p));
      if (!parent) continue; // under a non-directory of the layer, as above
      const existing = parent.children!.get(basename(p));
      let node: LowerNode;
      if (entry.implicit && existing?.entry.type === 'symlink' && existing.layer !== index) {
        node = this.followToDir(layer, index, p, existing, parent, made);
        this.claim(layer, index, p, entry, node, claimed);
        if (node.dirLayers!.at(-1) !== index) this.mergeDir(node, entry, index);
        dirs.set(p, node);
      } else {
        if (existing) this.claim(layer, index, p, entry, existing, claimed);
        if (existing && !(entry.type === 'directory' && existing.children)) this.refuseReplacingFollowed(layer, p, existing);
        node = this.place(p, entry, parent, index, dirs);
        claimed.set(node.path, p);
      }
      moved.set(node.path, node.children ? node.top! : node.entry);
      // The directories on the way are the layer's now: the kernel copies them up to write there.
      for (let d = this.byPath.get(dirname(node.path)); d && d.dirLayers!.at(-1) !== index; d = d === this.root ? undefined : this.byPath.get(dirname(d.path))) {
        this.mergeDir(d, MERGED_ON_THE_WAY, index);
        moved.set(d.path, d.top!);
      }
    }
    // Directories made on the way hold only this layer's entries: their own link count.
    for (const d of made) {
      let subdirs = 0;
      for (const c of d.children!.values()) if (c.children) subdirs++;
      d.entry = d.top = Object.freeze({ ...d.entry, nlink: 2 + subdirs });
      moved.set(d.path, d.entry);
    }
    const extra = this.extraOf(index);
    for (const [path, entry] of moved) extra.set(path, entry);
    const from = this.movedFrom.get(index) ?? new Set<string>();
    for (const [p] of entries) from.add(p);
    this.movedFrom.set(index, from);
  }

  /**
   * Refuses replacing a symlink the layer's entries were placed through (one leading to its own
   * parent), or a directory holding one: an applier resolving each entry anew would place the
   * next ones elsewhere, so the result would depend on the order of the entries.
   */
  private refuseReplacingFollowed(layer: Layer, p: string, existing: LowerNode): void {
    const replaced = this.followed.find((f) => f === existing || f.path.startsWith(`${existing.path}/`));
    if (replaced) throw new LayerError(layer.name, p, `replaces ${replaced === existing ? '' : 'the directory of '}${replaced.path}, a symlink of the layers below that the layer's entries are placed through: the result would depend on the order of the entries`);
  }

  /** Refuses placing layer entry `p` on `node` when the layer already put something there under another name (unless two directories, one implicit, merge). */
  private claim(layer: Layer, index: number, p: string, entry: LayerEntry, node: LowerNode, claimed: Map<string, string>): void {
    const mine = node.children ? node.dirLayers!.at(-1) === index : node.layer === index;
    if (!mine) return;
    const other = claimed.get(node.path) ?? node.path;
    if (other === p) return;
    const theirs = node.children ? node.top! : node.entry;
    if (entry.type === 'directory' && theirs.type === 'directory' && (entry.implicit || theirs.implicit)) return;
    throw new LayerError(layer.name, p, `placed through a symlink of the layers below at ${node.path}, which the layer also lists as ${other}: the result would depend on the order of the entries`);
  }

  /**
   * The directory a symlink of the layers below leads to, for layer entry `p` standing on it:
   * the target resolved inside the root, missing directories made (as implicit directories of
   * the layer). A LayerError when it leads to a non-directory or loops.
   */
  private followToDir(layer: Layer, index: number, p: string, symlink: LowerNode, from: LowerNode, made: LowerNode[]): LowerNode {
    this.followed.push(symlink);
    const link = symlink.entry.linkTarget!;
    let todo = toComponents(link);
    let at = link.startsWith('/') ? this.root : from;
    for (let hops = 1; todo.length > 0;) {
      const c = todo.shift()!;
      if (c === '..') {
        at = this.byPath.get(dirname(at.path)) ?? this.root;
        continue;
      }
      let child = at.children!.get(c);
      if (!child) {
        const path = join(at.path, c);
        const entry: LayerEntry = Object.freeze({ ...MERGED_ON_THE_WAY, inode: this.nextLinkedInode++ });
        child = { path, entry, layer: index, children: new Map(), dirLayers: [index], top: entry };
        at.children!.set(c, child);
        this.byPath.set(path, child);
        made.push(child);
      } else if (child.entry.type === 'symlink') {
        if (++hops > MAX_SYMLINKS) throw new LayerError(layer.name, p, `its parent ${symlink.path}, a symlink of the layers below, loops (more than ${MAX_SYMLINKS} symlinks)`);
        this.followed.push(child);
        const next = child.entry.linkTarget!;
        if (next.startsWith('/')) at = this.root;
        todo = [...toComponents(next), ...todo];
        continue;
      } else if (!child.children) {
        throw new LayerError(layer.name, p, `its parent ${symlink.path} is a symlink (to ${link}) of the layers below, and ${child.path} on its way is not a directory`);
      }
      at = child;
    }
    return at;
  }

  /**
   * The directory of the tree below that layer directory `dir` stands for when the layer's
   * whiteouts and opaque markers apply: its implicit directories follow symlinks below (as
   * its entries do), an explicit one replaces a non-directory below (nothing there to act on).
   */
  private belowDir(layer: Layer, dir: string, via: LowerNode[] = []): LowerNode | undefined {
    let at = this.root;
    let path = '/';
    for (const c of toComponents(dir)) {
      path = join(path, c);
      let child = at.children?.get(c);
      if (child?.entry.type === 'symlink' && layer.entries.get(path)?.implicit === true) child = this.lookupDir(child, at, via);
      if (!child?.children) return undefined;
      at = child;
    }
    return at;
  }

  /** The existing directory a symlink in directory `from` leads to (inside the root), or undefined. */
  private lookupDir(symlink: LowerNode, from: LowerNode, via: LowerNode[]): LowerNode | undefined {
    let link = symlink;
    let dir = from;
    for (let hops = 0; hops < MAX_SYMLINKS; hops++) {
      via.push(link);
      const target = link.entry.linkTarget!;
      const node = this.lookup(target.startsWith('/') ? target : join(dir.path, target));
      if (node?.entry.type !== 'symlink') return node?.children ? node : undefined;
      link = node;
      dir = this.byPath.get(dirname(node.path)) ?? this.root;
    }
    return undefined;
  }

  /**
   * Refuses a whiteout or opaque marker that removes `removed` when that is (or holds) a symlink
   * its own directory was reached through (`a -> /` and `a/.wh.a`): an applier that resolves the
   * marker's path removes the symlink, and what the layer's implicit `a` then is would depend on
   * the order of its entries.
   */
  private refuseRemovingVia(layer: Layer, marker: string, removed: LowerNode, via: readonly LowerNode[]): void {
    const link = via.find((s) => s === removed || s.path.startsWith(`${removed.path}/`));
    if (link) throw new LayerError(layer.name, marker, `removes ${link === removed ? '' : `${removed.path}, which holds `}${link.path}, a symlink of the layers below that the marker's own directory stands on`);
  }

  private extraOf(index: number): Map<string, LayerEntry> {
    let extra = this.linked.get(index);
    if (!extra) this.linked.set(index, (extra = new Map()));
    return extra;
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
  private placeLowerLinks(layer: Layer, index: number, groups: Map<LowerNode, string[]>, extra: Map<string, LayerEntry>, replaced: boolean, dirs: Map<string, LowerNode>): void {
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
        // The target by its path in the tree; a link's name in a directory of the layer (where
        // that directory stands). A name under a non-directory of the layer: unreachable, as
        // for entries.
        const parent = p === target.path ? this.byPath.get(dirname(p)) : dirs.get(dirname(p));
        if (!parent?.children || parent.dirLayers?.at(-1) !== index) continue;
        const path = join(parent.path, basename(p));
        const existing = parent.children.get(basename(p));
        if (existing && p !== target.path) this.refuseReplacingFollowed(layer, p, existing);
        if (existing) this.forget(existing, path);
        const node: LowerNode = { path, entry, layer: index, source };
        parent.children.set(basename(p), node);
        this.byPath.set(path, node);
        extra.set(path, entry);
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
    if (node.dirLayers!.at(-1) === index) {
      // Already the layer's (an entry placed through a symlink merged it first): its own entry for it decides.
      if (entry.implicit) return;
      node.top = entry;
      node.entry = entry;
      node.layer = index;
      return;
    }
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

