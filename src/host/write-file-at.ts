import { closeSync, fchmodSync, fchownSync, futimesSync, readSync, writeSync } from 'node:fs';
import type { DirHandle } from './dir-handle.js';
import { hostCalls, WRITE_EXACT_MODE, WRITE_KEEP_OPEN, WRITE_OWNER_ONLY } from './native.js';

/** What writeFileAt gives the file it creates. */
export interface FileToWrite {
  mode: number;
  owner?: { uid: number; gid: number };
  mtimeMs: number;
  data?: Buffer;
  /** The content as `size` bytes at `offset` of the open file `fd` instead of `data`, copied by the kernel. */
  source?: FileSource;
  keepOpen?: boolean;
  ownerOnly?: boolean;
  /**
   * The process's umask, when the caller has read it: a file whose mode it keeps whole, with
   * no owner, set-id bit or xattr to set first, is created with its mode instead of 0600, and
   * no fchmod follows (a system call saved a file). Nothing is written to it that its mode
   * must not allow meanwhile: an unnamed file is seen by no one, and an empty one created at
   * its name is then as it stays but for its times.
   */
  umask?: number;
}

/** A range of an open file (a layer file, a spill file) to copy a new file's content from. */
export interface FileSource {
  fd: number;
  offset: number;
  size: number;
}

/**
 * Creates a new file `name` in `dir`, writes `data` (or copies `source`), sets its `owner`
 * (when given), mode and times, and closes it unless `keepOpen` (then its descriptor is
 * returned). With `ownerOnly` it stops after the owner and returns the descriptor: the
 * caller sets xattrs, then mode and times (finishFile). The name is created with O_EXCL|O_NOFOLLOW: an existing name, a symlink
 * included, is EEXIST; `null` makes an unnamed file (createUnnamed), returned open. One call
 * into the native addon when it is built (src/host/native.ts), else the same steps here. A
 * source that ends before `size` bytes is an error with code ERR_SOURCE_ENDED.
 */
export function writeFileAt(dir: DirHandle, name: string | null, file: FileToWrite): number | undefined {
  const calls = hostCalls();
  const data = file.data !== undefined && file.data.length > 0 ? file.data : null;
  const keepOpen = name === null || file.keepOpen === true;
  const exact = file.umask !== undefined && !file.owner && !file.ownerOnly && (file.mode & ~0o777) === 0 && (file.mode & file.umask) === 0;
  if (calls) {
    const sec = Math.floor(file.mtimeMs / 1000);
    const nsec = Math.min(999_999_999, Math.round((file.mtimeMs - sec * 1000) * 1e6));
    const flags = (keepOpen ? WRITE_KEEP_OPEN : 0) | (file.ownerOnly ? WRITE_OWNER_ONLY : 0) | (exact ? WRITE_EXACT_MODE : 0);
    const at = name === null ? null : dir.component(name);
    const { mode, owner, source } = file;
    const fd = source
      ? calls.copyFileAt(dir.fd, at, mode, owner?.uid ?? 0, owner?.gid ?? 0, owner !== undefined, sec, nsec, source.fd, source.offset, source.size, flags)
      : calls.writeFileAt(dir.fd, at, mode, owner?.uid ?? 0, owner?.gid ?? 0, owner !== undefined, sec, nsec, data, flags);
    return fd >= 0 ? fd : undefined;
  }
  const createMode = exact ? file.mode : 0o600;
  const fd = name === null ? dir.createUnnamed(createMode) : dir.createFile(name, createMode);
  try {
    for (let off = 0; data && off < data.length; ) off += writeSync(fd, data, off, data.length - off);
    if (file.source) copySource(file.source, fd);
    // chown clears the set-id bits (chown(2)): the mode comes after it.
    if (file.owner) fchownSync(fd, file.owner.uid, file.owner.gid);
    if (!file.ownerOnly) finishFile(fd, file, { chmod: !exact });
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  if (keepOpen || file.ownerOnly) return fd;
  closeSync(fd);
  return undefined;
}

/** Sets an open file's mode (unless it was created with it), then its atime and mtime to `mtimeMs`: the last steps of writing it. */
export function finishFile(fd: number, file: { mode: number; mtimeMs: number }, options: { chmod?: boolean } = {}): void {
  if (options.chmod !== false) fchmodSync(fd, file.mode);
  futimesSync(fd, file.mtimeMs / 1000, file.mtimeMs / 1000);
}

/** Copies `source` to `fd` through a buffer (without the addon), as the addon's copyFileAt does in the kernel. */
function copySource(source: FileSource, fd: number): void {
  const buffer = Buffer.allocUnsafe(Math.min(source.size, 1 << 20));
  for (let done = 0; done < source.size; ) {
    const n = readSync(source.fd, buffer, 0, Math.min(buffer.length, source.size - done), source.offset + done);
    if (n === 0) throw Object.assign(new Error('the file copied from ended before the length given'), { code: 'ERR_SOURCE_ENDED' });
    for (let off = 0; off < n; ) off += writeSync(fd, buffer, off, n - off);
    done += n;
  }
}
