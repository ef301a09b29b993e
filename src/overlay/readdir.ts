import { fail } from './errno.js';
import type { Obj } from './resolve.js';
import type { OverlayState } from './overlay-state.js';
import { bytesOf } from '../util/names.js';

/**
 * A merged directory's names, as the kernel's fs/overlayfs/readdir.c: the union of the upper
 * directory and the lower ones beneath it, less what the upper whites out
 * (ovl_dir_read_merged), and the emptiness check of rmdir and rename (ovl_check_empty_dir).
 */

/** The merged listing, sorted: the union of the layers, whiteouts and markers never shown. */
export function listDir(s: OverlayState, dir: Obj): string[] {
  if (!dir.isDir) fail('ENOTDIR');
  const names = new Set<string>();
  if (dir.upper) for (const n of s.upper.names(dir.upper)) names.add(n);
  if (dir.lower?.children) {
    for (const n of dir.lower.children.keys()) {
      if (!names.has(n) && !(dir.upper && s.upper.hasWhiteout(dir.upper, n))) names.add(n);
    }
  }
  return sortByBytes([...names]);
}

/** Whether a directory shows any name, stopping at the first (rmdir and rename ask only this). */
export function isEmptyDir(s: OverlayState, dir: Obj): boolean {
  if (dir.upper) for (const _ of s.upper.names(dir.upper)) return false;
  if (dir.lower?.children) {
    // Any upper name has already answered; a lower name shows unless the upper whites it out.
    for (const n of dir.lower.children.keys()) if (!(dir.upper && s.upper.hasWhiteout(dir.upper, n))) return false;
  }
  return true;
}

/**
 * Names in the order of their bytes, as Node lists a directory (libuv's scandir sorts with
 * strcmp): the same as JavaScript's order unless a name has characters past U+D7FF.
 */
function sortByBytes(names: string[]): string[] {
  names.sort();
  if (!names.some((n) => /[\ud800-\uffff]/.test(n))) return names;
  return names.map((n) => [n, bytesOf(n)] as const).sort((a, b) => Buffer.compare(a[1], b[1])).map(([n]) => n);
}
