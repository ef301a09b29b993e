import { fchmodSync, lstatSync } from 'node:fs';
import { DirHandle, TEMP_NAME } from '../host/dir-handle.js';
import { ExportError, toExportError } from './export-error.js';
import type { TarEntry } from './tar-writer.js';

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
  if (!DirHandle.supported()) throw new ExportError(target, 'exportDir writes through /proc/self/fd, which is not there (Linux with /proc mounted is needed)');
  let root: DirHandle;
  try {
    root = DirHandle.open(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ExportError(target, 'the target directory does not exist', { cause: err });
    if (code === 'ELOOP' || code === 'ENOTDIR') throw new ExportError(target, 'the target is not a directory (a symlink is not followed)', { cause: err });
    throw toExportError(target, err);
  }
  try {
    const names = root.names();
    if (options.overwrite) {
      for (const n of names) if (TEMP_NAME.test(n)) root.removeTree(n);
    } else if (!options.allowNonEmpty && names.length > 0) {
      throw new ExportError(target, 'the target is not empty (pass allowNonEmpty to write beside what is there, overwrite to replace it)');
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
 * descriptor, except a non-directory where `e` is a file with content, which the rename of
 * the new content replaces in one step.
 */
export function clearName(dir: DirHandle, name: string, e: TarEntry, root: boolean): DirHandle | undefined {
  const st = dir.lstat(name);
  if (!st) return undefined;
  if (e.type === 'directory' && st.isDirectory()) {
    const kept = dir.openDir(name);
    try {
      for (const n of kept.names()) if (TEMP_NAME.test(n)) kept.removeTree(n);
      // Without root, a directory left read-only cannot be filled; its mode is set again when complete.
      if (!root) fchmodSync(kept.fd, 0o700);
    } catch (err) {
      kept.close();
      throw err;
    }
    return kept;
  }
  if (!st.isDirectory() && e.type === 'file' && (e.data?.length ?? 0) > 0) return undefined;
  dir.removeTree(name);
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
    throw new ExportError(target, 'the target was moved or replaced while exporting');
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
        throw new ExportError(parent.labelOf(d.name), 'the directory was moved or replaced while exporting (no longer a directory at its name)', { cause: err });
      }
      stack.push(now);
      if (now.dev !== d.dev || now.ino !== d.ino) throw new ExportError(now.label, 'the directory was moved or replaced while exporting');
    }
  } finally {
    for (const h of stack.slice(1)) h.close();
  }
}
