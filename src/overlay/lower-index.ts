import type { Layer } from '../layer/layer.js';
import type { LayerEntry } from '../layer/entry.js';
import { basename, dirname, join } from './path.js';

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
}

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

  private apply(layer: Layer, index: number): void {
    for (const p of layer.whiteouts) this.remove(p);
    for (const d of layer.opaqueDirs) {
      const node = this.byPath.get(d);
      if (node?.children) {
        for (const [name, child] of node.children) this.forget(child, join(d, name));
        node.children.clear();
        node.dirLayers = [];
      }
    }
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
