import { Volume } from 'memfs';
import type { Layer } from '../layer/layer.js';
import type { EntryType } from '../layer/entry.js';
import type { MemfsLink, MemfsNode } from '../util/memfs-types.js';
import { LowerIndex, type LowerNode } from './lower-index.js';
import type { Obj, Resolution } from './resolve.js';
import { Upper, setTimes, type NodeMeta } from './upper.js';
import type { OverlayEvent, OverlayState } from './overlay-state.js';
import { childOf, rootOf } from './lookup.js';
import { PathWalk } from './path-walk.js';
import { contentOf, infoOf, readlinkOf, setAttributes, setXattr, xattrsOf, type AttrChange, type ObjectInfo } from './inode.js';
import { isEmptyDir, listDir } from './readdir.js';
import { copyUp, lowerReader, releaseCopy, upperCopyOf } from './copy-up.js';
import { createObject, linkObject, removeObject, renameObject, sameInode } from './dir-ops.js';
import { NO_WATCHERS, type Watchers } from './fs-notify.js';

export { PATH_MAX } from './path-walk.js';
export type { OverlayEvent } from './overlay-state.js';
export type { AttrChange, ObjectInfo } from './inode.js';

export interface EngineOptions {
  lower: readonly Layer[];
  upper?: Volume;
  redirectDir?: boolean;
  emit?: (event: OverlayEvent) => void;
  /** Where relative paths start (PathWalk); an absolute path, `/` by default. */
  cwd?: string;
  /** Told of each change of the merged view, after it is made, while they watch (fs-notify.ts; the facade's inotify). */
  watchers?: Watchers;
}

/**
 * The overlay's semantics, path in, errno out: lookup across the upper layer and the merged
 * lower index, copy-up, whiteouts and opaque directories, rename and link as
 * Documentation/filesystems/overlayfs.rst describes and the kernel does. The fs-shaped
 * facade (src/fs) turns calls into these operations and errnos into Node-style errors.
 *
 * This class only ties the overlay's state to the modules that hold the rules, split as the
 * kernel's fs/overlayfs is: lookup.ts (namei.c), path-walk.ts (the VFS walk, fs/namei.c),
 * inode.ts, readdir.ts, copy-up.ts (copy_up.c) and dir-ops.ts (dir.c).
 */
export class OverlayEngine {
  readonly lower: LowerIndex;
  readonly upper: Upper;
  readonly redirectDir: boolean;
  private readonly state: OverlayState;
  private readonly walk: PathWalk;
  /** fs-notify.ts: each change below, after it is made, while `watching`. */
  readonly watchers: Watchers;

  constructor(options: EngineOptions) {
    this.lower = new LowerIndex(options.lower);
    this.redirectDir = options.redirectDir ?? false;
    const fresh = !options.upper;
    this.upper = new Upper(options.upper ?? new Volume());
    this.state = { lower: this.lower, upper: this.upper, redirectDir: this.redirectDir, emit: options.emit ?? (() => {}), copies: new WeakMap(), copiedFrom: new WeakMap(), lowerReaders: new Map(), removedCopies: new Set() };
    const state = this.state;
    this.upper.onRelease = (node) => releaseCopy(state, node);
    this.walk = new PathWalk(this.state, options.cwd);
    this.watchers = options.watchers ?? NO_WATCHERS;
    if (fresh) this.initRoot();
  }

  /**
   * A fresh upper root stands for a runtime's freshly made upperdir; the merged root takes
   * the upper root's attributes (it is the upper directory), so give it the image's root
   * metadata, as container runtimes create it.
   */
  private initRoot(): void {
    const node = this.upper.root.getNode();
    const e = this.lower.root.entry;
    node.mode = (node.mode & ~0o7777) | e.mode;
    node.uid = e.uid;
    node.gid = e.gid;
    setTimes(node, e.atimeMs, e.mtimeMs);
  }

  get root(): Obj {
    return rootOf(this.state);
  }

  // ---- lookup (lookup.ts, path-walk.ts) -----------------------------------------------

  child(dir: Obj, name: string): Obj | undefined {
    return childOf(this.state, dir, name);
  }

  resolve(path: string, follow: boolean): Resolution {
    return this.walk.resolve(path, follow);
  }

  resolveEntry(path: string): Resolution {
    return this.walk.resolveEntry(path);
  }

  entryIn(dir: Obj, name: string, path: string): Resolution {
    return this.walk.entryIn(dir, name, path);
  }

  objectAt(path: string): Obj | undefined {
    return this.walk.objectAt(path);
  }

  lookup(path: string, follow: boolean): Obj {
    return this.walk.lookup(path, follow);
  }

  /** The working directory's resolved path (getcwd); ENOENT when it is gone. */
  cwdPath(): string {
    return this.walk.cwdPath();
  }

  // ---- reading (inode.ts, readdir.ts) -------------------------------------------------

  info(obj: Obj): ObjectInfo {
    return infoOf(this.state, obj);
  }

  readlink(obj: Obj): string {
    return readlinkOf(obj);
  }

  read(obj: Obj): Buffer {
    return contentOf(this.state, obj);
  }

  list(dir: Obj): string[] {
    return listDir(this.state, dir);
  }

  isEmpty(dir: Obj): boolean {
    return isEmptyDir(this.state, dir);
  }

  xattrs(obj: Obj): ReadonlyMap<string, Buffer> {
    return xattrsOf(this.state, obj);
  }

  // ---- changes (copy-up.ts, dir-ops.ts, inode.ts) -------------------------------------

  copyUp(obj: Obj): MemfsLink {
    return copyUp(this.state, obj);
  }

  /** A read-only descriptor of lower object `low` opened (1) or closed (-1): while one is open, a removed copy of it is kept (copy-up.ts). */
  lowerReader(low: LowerNode, delta: 1 | -1): void {
    lowerReader(this.state, low, delta);
  }

  /** The upper link of an object looked up before it, or its lower object, was copied up, if it was (an open file's). */
  upperCopyOf(obj: Obj): MemfsLink | undefined {
    return upperCopyOf(this.state, obj);
  }
  /** The upper inode of a non-directory, after copy-up, for writing. */
  writableNode(obj: Obj): MemfsNode {
    return copyUp(this.state, obj, true).getNode();
  }

  create(r: Resolution, type: EntryType, meta: NodeMeta, extra: { target?: string; rdev?: number } = {}): Obj {
    const obj = createObject(this.state, r, type, meta, extra);
    if (this.watchers.watching) this.watchers.notice({ kind: 'create', path: obj.path, isDir: type === 'directory' });
    return obj;
  }

  remove(obj: Obj): void {
    const isDir = obj.isDir;
    removeObject(this.state, obj);
    if (this.watchers.watching) this.watchers.notice({ kind: 'delete', path: obj.path, isDir });
  }

  link(source: Obj, r: Resolution): void {
    linkObject(this.state, source, r);
    if (!this.watchers.watching) return;
    // fsnotify_link: the inode's link count first, then the new name.
    this.watchers.notice({ kind: 'link_count', path: source.path, isDir: false });
    this.watchers.notice({ kind: 'create', path: r.parent!.childPath(r.name), isDir: false });
  }

  rename(from: Resolution, to: Resolution): void {
    if (!this.watchers.watching) return renameObject(this.state, from, to);
    const moved = from.obj;
    const target = to.obj && moved && !sameInode(moved, to.obj) ? to.obj : undefined;
    // A directory's last name is its only one; a file's link count is read before it drops.
    const replaced = target && { isDir: target.isDir, lastLink: target.isDir || this.info(target).nlink <= 1 };
    renameObject(this.state, from, to);
    // fsnotify_move: IN_MOVED_FROM, then IN_MOVED_TO, with the replaced target's own events (fs-notify.ts).
    if (moved && !(to.obj && sameInode(moved, to.obj))) {
      const isDir = moved.isDir;
      this.watchers.notice({ kind: 'moved_from', path: moved.path, isDir });
      this.watchers.notice({ kind: 'moved_to', path: to.parent!.childPath(to.name), isDir, from: moved.path, ...(replaced ? { replaced } : {}) });
    }
  }

  /** setxattr(2), or removexattr(2) when `value` is null (inode.ts). */
  setXattr(obj: Obj, name: string, value: Buffer | null, flags: number): void {
    setXattr(this.state, obj, name, value, flags);
    if (this.watchers.watching) this.watchers.notice({ kind: 'attrib', path: obj.currentPath(), isDir: obj.isDir });
  }

  /** chmod, chown, utimes, by path or through a descriptor (whose file may have moved since: Obj.currentPath). */
  setAttributes(obj: Obj, change: AttrChange): void {
    setAttributes(this.state, obj, change);
    if (this.watchers.watching) this.watchers.notice({ kind: 'attrib', path: obj.currentPath(), isDir: obj.isDir });
  }
}
