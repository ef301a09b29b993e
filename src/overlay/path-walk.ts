import { fail } from './errno.js';
import type { Obj, Resolution } from './resolve.js';
import type { OverlayState } from './overlay-state.js';
import { childOf, rootOf } from './lookup.js';
import { readlinkOf } from './inode.js';
import { componentsReversed } from '../util/path.js';
import { byteLength } from '../util/names.js';

/** Linux's limit on symlinks followed in one path walk (path_resolution(7)). */
const MAX_SYMLINK_HOPS = 40;
/** NAME_MAX on Linux filesystems, in bytes. */
const NAME_MAX = 255;
/** PATH_MAX: a path argument takes at most 4096 bytes with its final NUL (getname, linux/limits.h). */
export const PATH_MAX = 4096;

/**
 * The walk of a path through the merged view, as the VFS does it (fs/namei.c,
 * link_path_walk), one ovl_lookup per name (lookup.ts). It keeps where its last walk stood,
 * so one PathWalk belongs to one overlay.
 */
export class PathWalk {
  /**
   * `cwd`: the working directory relative paths start from, as the kernel's walk starts at
   * the process's (path_resolution(7), "Step 1"): an absolute path, looked up (symlinks
   * followed) when a relative path is walked; `/` by default.
   */
  constructor(private readonly s: OverlayState, private readonly cwd = '/') {}

  /**
   * Walks a path as path_resolution(7) does: symlinks in the middle are always followed,
   * the last one only when `follow`; `..` is applied after symlinks; a trailing slash demands
   * a directory.
   */
  resolve(path: string, follow: boolean): Resolution {
    return this.walk(path, follow, true);
  }

  /**
   * The lookup of calls that create or remove a name (unlink, rmdir, mkdir, rename, link and
   * symlink's new name): the last component is never followed, even with a trailing slash,
   * and the slash is reported for the call to judge (do_unlinkat, filename_create,
   * do_renameat2 each treat it their own way).
   */
  resolveEntry(path: string): Resolution {
    const r = this.walk(path, false, false);
    r.trailingSlash = path.length > 1 && path.endsWith('/');
    return r;
  }

  /**
   * The lookup of `name` in `dir` as the last step of a walk of `path` (resolveEntry of a
   * path whose parent is `dir`): for a caller that already holds the parent, so that a chain
   * of calls (mkdir -p) does not walk the same parents again.
   */
  entryIn(dir: Obj, name: string, path: string): Resolution {
    if (!dir.isDir) fail('ENOTDIR');
    if (name.length > NAME_MAX / 4 && byteLength(name) > NAME_MAX) fail('ENAMETOOLONG');
    const obj = childOf(this.s, dir, name);
    return { parent: dir, name, obj, path, resolved: dir.childPath(name), trailingSlash: false };
  }

  /**
   * The object at a place in the merged tree, walked name by name: no symlink followed, no
   * PATH_MAX. For code that names objects by where they are (commit, export), never for a
   * path a caller gave (that is `resolve`, a system call's walk).
   */
  objectAt(path: string): Obj | undefined {
    let obj: Obj | undefined = rootOf(this.s);
    for (const name of componentsReversed(path).reverse()) {
      if (!obj?.isDir) return undefined;
      obj = childOf(this.s, obj, name);
    }
    return obj;
  }

  /** The object at a path, or ENOENT. */
  lookup(path: string, follow: boolean): Obj {
    const r = this.resolve(path, follow);
    if (!r.obj) fail('ENOENT');
    return r.obj;
  }

  /**
   * link_path_walk: `.` keeps the directory (which must be one), `..` goes up (never above
   * the root), a symlink before the last name is followed, each name at most NAME_MAX bytes,
   * the whole path less than PATH_MAX bytes and not empty (getname: the string given, so a
   * relative path does not count the working directory's). A relative path starts at the
   * working directory (cwdStack).
   */
  private walk(path: string, follow: boolean, slashFollows: boolean, pathMax = true): Resolution {
    if (path === '') fail('ENOENT');
    if (pathMax && path.length >= PATH_MAX / 3 && byteLength(path) >= PATH_MAX) fail('ENAMETOOLONG');
    const trailingSlash = slashFollows && path.length > 1 && path.endsWith('/');
    let start = this.walkStart(path);
    // Names still to walk, the next one last (a symlink's target is pushed on top of them).
    let pending = componentsReversed(start ? path.slice(start.prefix.length) : path);
    if (start && pending.length === 0) {
      start = undefined;
      pending = componentsReversed(path);
    }
    if (pending.length === 0) return { parent: undefined, name: '', obj: rootOf(this.s), path, resolved: '/' };
    let stack: Obj[] = start ? [...start.stack] : path.charCodeAt(0) === 47 ? [rootOf(this.s)] : this.cwdStack();
    let hops = start?.hops ?? 0;
    // The path's own names not walked yet; the state before its last one is kept (walkStart).
    let own = pending.length;
    for (;;) {
      if (pending.length === own && --own === 0) this.keepWalk(path, stack, hops);
      const name = pending.pop()!;
      const isLast = pending.length === 0;
      const dir = stack[stack.length - 1]!;
      if (!dir.isDir) fail('ENOTDIR');
      if (name === '.' || name === '..') {
        if (name === '..' && stack.length > 1) stack.pop();
        if (isLast) {
          const obj = stack[stack.length - 1]!;
          return { parent: obj.parent, name: obj.name, obj, path, resolved: obj.path, lastDot: name };
        }
        continue;
      }
      if (name.length > NAME_MAX / 4 && byteLength(name) > NAME_MAX) fail('ENAMETOOLONG');
      const obj = childOf(this.s, dir, name);
      if (!obj) {
        if (!isLast) fail('ENOENT');
        return { parent: dir, name, obj: undefined, path, resolved: dir.childPath(name) };
      }
      if (obj.type === 'symlink' && (!isLast || follow || trailingSlash)) {
        if (++hops > MAX_SYMLINK_HOPS) fail('ELOOP');
        const target = readlinkOf(obj);
        if (target === '') fail('ENOENT'); // an empty target names nothing (path_resolution(7))
        if (target.startsWith('/')) stack = [rootOf(this.s)];
        pending.push(...componentsReversed(target));
        if (pending.length === 0) {
          const top = stack[stack.length - 1]!;
          return { parent: top.parent, name: top.name, obj: top, path, resolved: top.path };
        }
        continue;
      }
      if (isLast) {
        if (trailingSlash && !obj.isDir) fail('ENOTDIR');
        return { parent: dir, name, obj, path, resolved: obj.path };
      }
      stack.push(obj);
    }
  }

  /** The working directory and the directories above it, root first, as a walk's stack holds them. */
  private cwdStack(): Obj[] {
    if (this.cwd === '/') return [rootOf(this.s)];
    const generation = this.s.upper.generation;
    if (this.cwdWalk?.generation === generation) return [...this.cwdWalk.stack];
    // The walk of the cwd is not the caller's: the caller's walk keeps its place (keepWalk).
    const kept = this.lastWalk;
    let dir: Obj | undefined;
    try {
      // Not a call's argument: a process reaches its cwd by chdirs, so getname's PATH_MAX
      // does not limit it (a relative path from a deeper directory works).
      dir = this.walk(this.cwd, true, true, false).obj;
    } finally {
      this.lastWalk = kept;
    }
    if (!dir) fail('ENOENT');
    if (!dir.isDir) fail('ENOTDIR');
    const stack: Obj[] = [];
    for (let o: Obj | undefined = dir; o; o = o.parent) stack.push(o);
    stack.reverse();
    this.cwdWalk = { stack, generation };
    return [...stack];
  }

  private cwdWalk: { stack: Obj[]; generation: number } | undefined;

  /**
   * The working directory's path with its symlinks resolved (what getcwd(3) and Node's
   * process.cwd() give), for the calls that make a relative path absolute as text (Node's
   * realpath does path.resolve first). ENOENT when it is not there.
   */
  cwdPath(): string {
    const stack = this.cwdStack();
    return stack[stack.length - 1]!.path;
  }

  /**
   * Where the last walk stood before the last name of its path: the directories above (each
   * followed through its symlinks), and the hops spent. A walk of a path that starts with the
   * same names (`dir/a` after `dir/b`, `dir/a/x` after `dir/a`, as rm -r and readdir -r make
   * them, a level deeper each time) starts there instead of at the root: the same state the
   * walk would reach, so the same outcome, without walking the parents again, which made
   * those quadratic in depth. Kept until the namespace changes (Upper.generation).
   */
  private lastWalk: { prefix: string; stack: Obj[]; hops: number; generation: number } | undefined;

  private keepWalk(path: string, stack: Obj[], hops: number): void {
    let end = path.length;
    while (end > 1 && path.charCodeAt(end - 1) === 47) end--;
    const prefix = path.slice(0, path.lastIndexOf('/', end - 1) + 1);
    // Nothing gained for a name in the root (or in the starting directory).
    if (prefix === '' || prefix === '/') return;
    this.lastWalk = { prefix, stack: [...stack], hops, generation: this.s.upper.generation };
  }

  private walkStart(path: string): { prefix: string; stack: Obj[]; hops: number } | undefined {
    const last = this.lastWalk;
    if (!last || last.generation !== this.s.upper.generation || path.length <= last.prefix.length || !path.startsWith(last.prefix)) return undefined;
    return last;
  }
}
