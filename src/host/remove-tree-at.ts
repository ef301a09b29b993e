import { rmdirSync, type Stats } from 'node:fs';
import type { DirHandle } from './dir-handle.js';

/**
 * Removes `name` in `dir` and, if it is a directory, everything under it, by descriptor: each
 * directory is opened without following a symlink, its names read once, emptied, closed and
 * removed. Iterative, so depth is bounded by open descriptors, not the stack. Nothing on
 * another mount is removed or gone into (DirHandle.sameMount, as rm --one-file-system).
 */
export function removeTreeAt(dir: DirHandle, name: string): void {
  const st = dir.lstat(name);
  if (!st) return;
  if (!st.isDirectory()) {
    dir.sameMount(name, { st });
    return dir.unlink(name);
  }
  // Without root, a directory of this user's that is not rwx for its owner (000, 0555) is
  // made 0700 to be listed and emptied, as rm -rf cannot.
  const asRoot = process.geteuid?.() === 0;
  const enter = (parent: DirHandle, n: string, entry: Stats) => {
    const child = parent.enterDir(n, { makePrivate: !asRoot && (entry.mode & 0o700) !== 0o700 });
    try {
      return { parent, name: n, dir: child, left: child.names() };
    } catch (e) {
      child.close();
      throw e;
    }
  };
  const stack = [enter(dir, name, st)];
  try {
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const n = top.left.pop();
      if (n === undefined) {
        stack.pop();
        top.dir.close();
        rmdirSync(top.parent.at(top.name));
        continue;
      }
      const entry = top.dir.lstat(n);
      if (entry?.isDirectory()) {
        stack.push(enter(top.dir, n, entry));
      } else if (entry) {
        top.dir.sameMount(n, { st: entry });
        top.dir.unlink(n);
      }
    }
  } finally {
    for (const s of stack) s.dir.close();
  }
}
