import { fstatSync, mkdirSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DirHandle } from '../host/dir-handle.js';
import { ReplacedError } from '../host/dir-errors.js';
import { fsyncFd } from '../host/fd-io.js';
import { PendingFile } from '../host/publish.js';
import { linkRefused, SaveImageError, systemError } from './save-image-error.js';

// The directories of an image layout saveImage writes (layout-writer.ts): the target and
// blobs/<alg> opened by descriptor, never through a link, made with an owner check, refused
// when another user may write them; every lookup's failure typed and named; and how a file is
// put into one (placeFile).

/**
 * The target directory, never a symlink, whatever the path ends in: its parent (the caller's
 * path, made with its own parents if missing) is opened, and the target inside it without
 * following (DirHandle.openParent), or made there by DirHandle.makeDir.
 */
export function openTarget(target: string): DirHandle {
  const path = resolve(target);
  let at: { parent: DirHandle; name: string };
  try {
    at = DirHandle.openParent(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw systemError(e, dirname(path), 'opening the directory that holds the target');
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      at = DirHandle.openParent(path);
    } catch (e2) {
      throw systemError(e2, dirname(path), 'making the directories that hold the target');
    }
  }
  try {
    return childDir(at.parent, at.name, 'target');
  } finally {
    at.parent.close();
  }
}

/** A directory of the layout (or the target itself): opened without following a link there, or made. */
export function childDir(parent: DirHandle, name: string, kind: 'target' | 'layout' = 'layout'): DirHandle {
  const label = parent.labelOf(name);
  const st = lstatIn(parent, name);
  try {
    if (!st) return parent.makeDir(name, 0o755);
  } catch (e) {
    if (e instanceof ReplacedError) throw new SaveImageError('ERR_TARGET_CHANGED', label, 'replaced by another process right after it was made', { cause: e });
    throw systemError(e, label, 'making the directory');
  }
  if (st.isSymbolicLink()) throw linkRefused(label, 'directory');
  if (!st.isDirectory()) throw new SaveImageError(kind === 'target' ? 'ENOTDIR' : 'ERR_NOT_A_LAYOUT', label, 'not a directory');
  let dir: DirHandle;
  try {
    dir = parent.openDir(name);
  } catch (e) {
    // Replaced since the lstat: a symlink now is refused as one.
    if (lstatIn(parent, name)?.isSymbolicLink()) throw linkRefused(label, 'directory', e);
    throw systemError(e, label, 'opening the directory');
  }
  if (kind === 'layout') {
    try {
      refuseShared(dir);
    } catch (e) {
      dir.close();
      throw e;
    }
  }
  return dir;
}

/**
 * An existing `blobs` or `blobs/<alg>` must be owned by this user or root and not writable
 * by group or others (what ssh's StrictModes asks of ~/.ssh): another user who may write it
 * could replace a verified blob after the save, and a reader (skopeo) reuses blobs by name.
 * The top directory may be shared (the issue's case): index.json and oci-layout are checked
 * by inode as they are renamed into place, and no blob lives there. The directories
 * saveImage makes (mode 0755, less the umask) pass.
 */
function refuseShared(dir: DirHandle): void {
  let st: Stats;
  try {
    st = fstatSync(dir.fd);
  } catch (e) {
    throw systemError(e, dir.label, 'looking it up');
  }
  const uid = process.geteuid?.();
  if ((uid !== undefined && st.uid !== uid && st.uid !== 0) || (st.mode & 0o022) !== 0) {
    throw new SaveImageError('ERR_UNSAFE_LAYOUT', dir.label, `owned by uid ${st.uid} with mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}: a directory holding blobs must be owned by this user${uid !== undefined ? ` (uid ${uid})` : ''} or root and not writable by group or others, or another user could replace a blob in it; change it (chown, chmod go-w) or save elsewhere`);
  }
}

/** DirHandle.lstat, its failure (EACCES on a directory that may not be searched) typed and named. */
export function lstatIn(dir: DirHandle, name: string): Stats | undefined {
  try {
    return dir.lstat(name);
  } catch (e) {
    throw systemError(e, dir.labelOf(name), 'looking it up');
  }
}

/** DirHandle.holds, its failure typed and named. */
export function holdsDir(parent: DirHandle, name: string, child: DirHandle): boolean {
  try {
    return parent.holds(name, child);
  } catch (e) {
    throw systemError(e, parent.labelOf(name), 'looking it up');
  }
}

export function listDir(dir: DirHandle): string[] {
  try {
    return dir.names();
  } catch (e) {
    throw systemError(e, dir.label, 'listing the directory');
  }
}

/**
 * Writes a file into `dir` so that its name only ever holds it whole: `fill` writes a new
 * PendingFile (src/host/publish.ts), checks it and returns its name (a blob's is its digest,
 * known once written); it is fsync'd, then published: a blob by linkat(2), replacing what is
 * at the name only if something is (a torn blob, a symlink: rename(2) never follows it), and
 * `oci-layout` and `index.json` always by rename(2), as readers must find them. The name must
 * then hold this inode, or what is there is removed (ERR_TARGET_CHANGED). After a failure the
 * file is gone (unnamed) or its temporary removed (if the directory refuses, a rerun removes it).
 */
export async function placeFile(dir: DirHandle, what: string, how: 'blob' | 'replacing', fill: (fd: number, label: string) => Promise<string>): Promise<string> {
  let pending: PendingFile;
  try {
    pending = PendingFile.create(dir, (temp) => (temp === null ? dir.createUnnamed(0o644) : dir.createFile(temp, 0o644)));
  } catch (e) {
    throw systemError(e, dir.label, `creating a temporary file for ${what}`);
  }
  try {
    const name = await fill(pending.fd, pending.label);
    try {
      await fsyncFd(pending.fd);
    } catch (e) {
      throw systemError(e, pending.label, `writing ${what}`);
    }
    try {
      if (how === 'replacing') pending.publishReplacing(name);
      else pending.publishOrReplace(name);
    } catch (e) {
      if (e instanceof ReplacedError) {
        throw new SaveImageError('ERR_TARGET_CHANGED', dir.labelOf(name), `${what}: its temporary was replaced by another process before it was given its name; what was put there is removed`, { cause: e });
      }
      throw systemError(e, dir.labelOf(name), `putting ${what} in place`);
    }
    return name;
  } finally {
    pending.close();
  }
}

/** removeTemps' failures, typed and named. */
export const leftoverError = (dir: DirHandle) => (e: unknown, name: string) => systemError(e, dir.labelOf(name), 'removing a temporary left by an earlier save');
