import { fail } from './errno.js';
import { PATH_MAX, type OverlayEngine } from './engine.js';
import { byteLength } from '../util/names.js';
import type { EntryType } from '../layer/entry.js';
import type { Obj, Resolution } from './resolve.js';
import type { NodeMeta } from './upper.js';

/**
 * The system calls that remove and make names, path in, errno out, with the kernel's rules
 * for the last name (fs/namei.c): used by the fs facade and by the compound operations built
 * on them (rm -r, mkdir -p).
 */

/** lstat(2)/stat(2): the object a path names (a trailing slash follows and asks for a directory). */
export function objectAt(engine: OverlayEngine, path: string, follow: boolean): Obj {
  return engine.lookup(path, follow);
}

/** unlink(2), do_unlinkat: `.`/`..` is EISDIR; a trailing slash on a non-directory is ENOTDIR (not followed). */
export function unlinkAt(engine: OverlayEngine, path: string): void {
  const r = engine.resolveEntry(path);
  if (r.lastDot) fail('EISDIR');
  const obj = r.obj;
  if (!obj) fail('ENOENT');
  if (obj.isDir) fail('EISDIR');
  if (r.trailingSlash) fail('ENOTDIR');
  engine.remove(obj);
}

/** rmdir(2), do_rmdir: a last name of `..` is ENOTEMPTY, of `.` EINVAL, the root EBUSY. */
export function rmdirAt(engine: OverlayEngine, path: string): void {
  const r = engine.resolveEntry(path);
  if (r.lastDot === '..') fail('ENOTEMPTY');
  if (r.lastDot === '.') fail('EINVAL');
  const obj = r.obj;
  if (!obj) fail('ENOENT');
  if (!obj.isDir) fail('ENOTDIR');
  engine.remove(obj);
}

/**
 * mkdir(2), filename_create: `.`/`..` or an existing name is EEXIST; the mode keeps the
 * permission and sticky bits only (vfs_mkdir: S_IRWXUGO|S_ISVTX), the caller applies the umask.
 */
export function mkdirAt(engine: OverlayEngine, path: string, meta: NodeMeta, r: Resolution = engine.resolveEntry(path)): Obj {
  if (r.lastDot) fail('EEXIST');
  return engine.create(r, 'directory', { ...meta, mode: meta.mode & 0o1777 });
}

/** mknod(2) of the types a layer can hold (devices need the caller to be root, as here); the caller applies the umask. */
export function mknodAt(engine: OverlayEngine, path: string, type: Extract<EntryType, 'char' | 'block' | 'fifo'>, meta: NodeMeta, rdev: number): void {
  engine.create(engine.resolveEntry(path), type, meta, { rdev });
}

/** X_OK of access(2) (unistd.h). */
const X_OK = 1;

/**
 * access(2), as root (generic_permission with CAP_DAC_OVERRIDE): every object is readable
 * and writable; X_OK needs an execute bit on anything but a directory.
 */
export function accessAt(engine: OverlayEngine, path: string, mode: number): void {
  const obj = engine.lookup(path, true);
  const info = engine.info(obj);
  if (mode & X_OK && obj.type !== 'directory' && !(info.mode & 0o111)) fail('EACCES');
}

/** getdents: the names of a directory (a symlink to one is followed). */
export function namesAt(engine: OverlayEngine, path: string): string[] {
  return engine.list(engine.lookup(path, true));
}

/**
 * symlink(2): the target is a pathname to getname, so an empty one is ENOENT and one of
 * PATH_MAX bytes or more ENAMETOOLONG, before the new name is looked up; `.`/`..` as the new
 * name is EEXIST.
 */
export function symlinkAt(engine: OverlayEngine, target: string, path: string, meta: NodeMeta): void {
  if (target === '') fail('ENOENT');
  if (target.length >= PATH_MAX / 3 && byteLength(target) >= PATH_MAX) fail('ENAMETOOLONG', 'a symlink target takes at most 4095 bytes');
  const r = engine.resolveEntry(path);
  if (r.lastDot) fail('EEXIST');
  engine.create(r, 'symlink', meta, { target });
}

/** link(2): the old name is not followed; `.`/`..` as the new name is EEXIST (filename_create). */
export function linkAt(engine: OverlayEngine, from: string, to: string): void {
  const src = engine.lookup(from, false);
  const r = engine.resolveEntry(to);
  if (r.lastDot) fail('EEXIST');
  engine.link(src, r);
}

/**
 * rename(2), do_renameat2: both paths are walked first (an error in the new path's parents
 * wins over a missing source), then a last name of `.` or `..` on either side is EBUSY.
 */
export function renameAt(engine: OverlayEngine, from: string, to: string): void {
  const src = engine.resolveEntry(from);
  const dst = engine.resolveEntry(to);
  if (src.lastDot || dst.lastDot) fail('EBUSY');
  engine.rename(src, dst);
}
