import { randomBytes } from 'node:crypto';
import type { DirHandle } from '../host/dir-handle.js';
import { closeFd, fsyncFd, fstatFd } from '../host/fd-io.js';
import { listDir, lstatIn } from './layout-dirs.js';
import { SaveImageError, systemError } from './save-image-error.js';

/** Names saveImage writes before renaming them into place; a rerun removes leftovers. */
export const TEMP_PREFIX = '.layerfs-tmp-';

/**
 * Writes a file into `dir` so that its name only ever holds it whole. `fill` writes it to a new
 * temporary (DirHandle.createFile: O_CREAT|O_EXCL|O_NOFOLLOW, so an existing name or a symlink
 * is never opened), checks it, and returns the name it is to have (a blob's is its digest,
 * known once written); the temporary is then fsync'd and renamed into place, rename(2)
 * replacing whatever is at the name without following it. rename(2) goes by name: in a
 * directory others may write, the temporary could have been replaced before it, so the name
 * must then hold the inode written here; if it does not, it holds bytes nobody verified and
 * is removed, and the save stops (ERR_TARGET_CHANGED). After any failure the temporary is
 * removed (if the directory refuses, a rerun removes it).
 */
export async function placeFile(dir: DirHandle, what: string, fill: (fd: number, tempLabel: string) => Promise<string>): Promise<string> {
  const { name: temp, fd } = createTemp(dir, what);
  const tempLabel = dir.labelOf(temp);
  let open = true;
  try {
    const name = await fill(fd, tempLabel);
    let written: { dev: number; ino: number };
    try {
      await fsyncFd(fd);
      written = await fstatFd(fd);
      open = false;
      await closeFd(fd);
    } catch (e) {
      throw systemError(e, tempLabel, `writing ${what}`);
    }
    try {
      dir.rename(temp, dir, name);
    } catch (e) {
      throw systemError(e, dir.labelOf(name), `renaming ${what} into place`);
    }
    const now = lstatIn(dir, name);
    if (!now || now.dev !== written.dev || now.ino !== written.ino) {
      if (now && !now.isDirectory()) {
        try {
          dir.unlink(name);
        } catch {
          // Gone already, or the directory refuses: the error below says what happened.
        }
      }
      throw new SaveImageError('ERR_TARGET_CHANGED', dir.labelOf(name), `${what}: its temporary was replaced by another process before it was renamed into place; what was renamed there is removed`);
    }
    return name;
  } catch (e) {
    if (open) await closeFd(fd).catch(() => {});
    try {
      dir.unlink(temp);
    } catch {
      // Renamed already, or the directory refuses.
    }
    throw e;
  }
}

function createTemp(dir: DirHandle, what: string): { name: string; fd: number } {
  for (let attempt = 0; ; attempt++) {
    const name = `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
    try {
      return { name, fd: dir.createFile(name, 0o644) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 8) continue;
      throw systemError(e, dir.labelOf(name), `creating a temporary file for ${what}`);
    }
  }
}

/** Removes the temporaries an earlier save left in `dir`. */
export function removeTemps(dir: DirHandle): void {
  for (const name of listDir(dir)) if (name.startsWith(TEMP_PREFIX)) removeTemp(dir, name);
}

/** Removes a leftover temporary (unlink(2) removes a symlink itself, never its target). */
export function removeTemp(dir: DirHandle, name: string): void {
  const st = lstatIn(dir, name);
  if (!st || st.isDirectory()) return;
  try {
    dir.unlink(name);
  } catch (e) {
    throw systemError(e, dir.labelOf(name), 'removing a temporary left by an earlier save');
  }
}
