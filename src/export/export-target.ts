import { fchmodSync, lstatSync } from 'node:fs';
import { DirHandle } from '../host/dir-handle.js';
import { removeTreeAt } from '../host/remove-tree-at.js';
import { removeTemps } from '../host/publish.js';
import { ExportError, toExportError } from './export-error.js';
import type { TarEntry } from '../tar/changeset.js';

// The target of exportDir (export-dir.ts): opening it, making room in it for overwrite, and
// the final check that what was made is still in place.

/** A directory this export made or filled, for the final check that it is still at its name. */
export interface MadeDir {
  depth: number;
  name: string;
  dev: number;
  ino: number;
}

/** Opens the target (never through a final symlink) and checks it may be written. */
export function openTarget(target: string, options: { allowNonEmpty?: boolean; overwrite?: boolean }): DirHandle {
  if (!DirHandle.supported()) throw new ExportError(target, 'exportDir writes through /proc/self/fd, which is not there (Linux with /proc mounted is needed)', { code: 'ERR_NEEDS_PROC' });
  let root: DirHandle;
  const asRoot = process.geteuid?.() === 0;
  try {
    try {
      root = DirHandle.open(target);
    } catch (err) {
      // overwrite without root: a target of this user's left mode 000 by an export (its mode
      // is the image root's) is made 0700 to be redone; its mode is set again when complete.
      if (!options.overwrite || asRoot || (err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
      root = DirHandle.openPrivate(target);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ExportError(target, 'the target directory does not exist', { cause: err });
    if (code === 'ELOOP' || code === 'ENOTDIR') throw new ExportError(target, 'the target is not a directory (a symlink is not followed)', { cause: err });
    throw toExportError(target, err);
  }
  try {
    const names = root.names();
    if (options.overwrite) {
      // Likewise a target left without owner write (0555): it could not be refilled.
      if (!asRoot && (root.mode & 0o700) !== 0o700) fchmodSync(root.fd, 0o700);
      removeTemps(root, names);
    } else if (!options.allowNonEmpty && names.length > 0) {
      throw new ExportError(target, 'the target is not empty (pass allowNonEmpty to write beside what is there, overwrite to replace it)', { code: 'ERR_NOT_EMPTY' });
    }
  } catch (err) {
    root.close();
    throw toExportError(target, err);
  }
  return root;
}

/**
 * overwrite: makes room for entry `e` at `name`. An existing directory where `e` is one is
 * kept (returned open, its leftover temporaries removed); anything else there is removed by
 * descriptor, so the entry is then made at a free name (a name another process puts back in
 * between is EEXIST, never written through).
 */
export function clearName(dir: DirHandle, name: string, e: TarEntry): DirHandle | undefined {
  const st = dir.lstat(name);
  if (!st) return undefined;
  if (e.type === 'directory' && st.isDirectory()) {
    // Not a directory mounted there (enterDir checks the mount). Mode 0700 while it is filled,
    // as a directory this export makes has (as root too: no other user may write in it
    // meanwhile), and without root so that one left 000 or read-only can be filled; its mode
    // is set again when complete.
    const kept = dir.enterDir(name, { makePrivate: true });
    try {
      removeTemps(kept, kept.names());
    } catch (err) {
      kept.close();
      throw err;
    }
    return kept;
  }
  removeTreeAt(dir, name);
  return undefined;
}

/**
 * The last check: each directory made is still at its name (the same inode, reached without
 * following a symlink), and so is the target. A racing process that moved one aside or put
 * a symlink in its place could not redirect a write (they went through descriptors), but the
 * tree at the target's path is then not the export: an ExportError says so.
 */
export function checkStillInPlace(target: string, root: DirHandle, made: MadeDir[]): void {
  const st = lstatSync(target, { throwIfNoEntry: false });
  if (!st || !st.isDirectory() || st.dev !== root.dev || st.ino !== root.ino) {
    throw new ExportError(target, 'the target was moved or replaced while exporting', { code: 'ERR_TARGET_CHANGED' });
  }
  const stack: DirHandle[] = [root];
  try {
    for (const d of made) {
      while (stack.length > d.depth) stack.pop()!.close();
      const parent = stack[stack.length - 1]!;
      let now: DirHandle;
      try {
        now = parent.openDir(d.name, { pathOnly: true });
      } catch (err) {
        throw new ExportError(parent.labelOf(d.name), 'the directory was moved or replaced while exporting (no longer a directory at its name)', { code: 'ERR_TARGET_CHANGED', cause: err });
      }
      stack.push(now);
      if (now.dev !== d.dev || now.ino !== d.ino) throw new ExportError(now.label, 'the directory was moved or replaced while exporting', { code: 'ERR_TARGET_CHANGED' });
    }
  } finally {
    for (const h of stack.slice(1)) h.close();
  }
}
