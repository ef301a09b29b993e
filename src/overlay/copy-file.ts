import { constants } from 'node:fs';
import { fail } from './errno.js';
import type { OverlayEngine } from './engine.js';
import { openFile, readRest, type NewObjectMeta, type OpenFile } from './open-file.js';
import { sameInode } from './dir-ops.js';
import { unlinkAt } from './syscalls.js';

const { O_CREAT, O_EXCL, O_RDONLY, O_WRONLY, COPYFILE_EXCL, COPYFILE_FICLONE_FORCE } = constants;

/**
 * copyFile as libuv's uv_fs_copyfile does it, on the overlay's system calls: open the
 * source, create or open the destination for writing with the source's mode (through a
 * dangling symlink, at its target; with a trailing slash, EISDIR), stop if both are one file,
 * truncate (not with COPYFILE_EXCL), chmod to the source's mode, copy; on a failure after the destination was opened,
 * unlink it. FICLONE_FORCE fails: there is no reflink here (ENOTSUP, as on ext4).
 */
export function copyFile(engine: OverlayEngine, from: string, to: string, mode: number, newMeta: NewObjectMeta): void {
  const src = openFile(engine, from, O_RDONLY, 0, newMeta);
  try {
    // Compared before the open copies the destination up: the kernel keeps a copied-up
    // file's inode number (its lower one), so one file under two names is still one.
    const same = !(mode & COPYFILE_EXCL) && sameObject(engine, from, to);
    copyOpened(engine, src, to, mode, newMeta, same);
  } finally {
    // As a close of the source descriptor (a read-only one of a lower file counts, copy-up.ts).
    src.release?.();
  }
}

/** copyFile from the opened source; `same` when the destination is the source. */
function copyOpened(engine: OverlayEngine, src: OpenFile, to: string, mode: number, newMeta: NewObjectMeta, same: boolean): void {
  const srcMode = src.info().mode;
  const dst = openFile(engine, to, O_WRONLY | O_CREAT | (mode & COPYFILE_EXCL ? O_EXCL : 0), srcMode & 0o7777, newMeta);
  try {
    if (same) return;
    // Each step tells the watchers what its system call raises: ftruncate IN_MODIFY, fchmod
    // IN_ATTRIB, the copy IN_MODIFY. libuv truncates only without COPYFILE_EXCL (the file
    // it made with O_EXCL is new and empty).
    if (!(mode & COPYFILE_EXCL)) {
      dst.node!.truncate(0);
      dst.modified?.();
    }
    dst.node!.mode = (dst.node!.mode & ~0o7777) | (srcMode & 0o7777);
    if (engine.watchers.watching) engine.watchers.notice({ kind: 'attrib', path: dst.obj!.currentPath(), isDir: false });
    if (mode & COPYFILE_FICLONE_FORCE) fail('ENOTSUP', 'no reflinks in memory');
    const data = readRest(src);
    dst.node!.write(data, 0, undefined, 0);
    if (data.length > 0) dst.modified?.();
  } catch (e) {
    try { unlinkAt(engine, to); } catch { /* as libuv: the unlink is best effort */ }
    throw e;
  }
}

/** Whether two paths name one object now (both followed); false if either is missing. */
function sameObject(engine: OverlayEngine, a: string, b: string): boolean {
  try {
    const x = engine.resolve(a, true).obj;
    const y = engine.resolve(b, true).obj;
    return x !== undefined && y !== undefined && sameInode(x, y);
  } catch {
    return false;
  }
}
