import { typeBits, type EntryType, type LayerEntry } from '../layer/entry.js';
import { fail } from './errno.js';
import type { Obj } from './resolve.js';
import type { LowerNode } from './lower-index.js';
import type { MemfsNode } from '../util/memfs-types.js';
import type { OverlayState } from './overlay-state.js';
import { copyUp } from './copy-up.js';

/**
 * An object's attributes, content and extended attributes, and changes to them, as the
 * kernel's fs/overlayfs/inode.c (ovl_getattr, ovl_setattr, ovl_xattr_get): read from the
 * upper copy when there is one, else from the lower layer; changed only after copy-up.
 */

export interface ObjectInfo {
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  rdev: number;
  ino: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
}

export interface AttrChange {
  mode?: number;
  uid?: number;
  gid?: number;
  atimeMs?: number;
  mtimeMs?: number;
}

/** Directories report a fixed size, as on ext4; the kernel passes through the upper filesystem's. */
const DIR_SIZE = 4096;

/** (uid_t)-1 and (gid_t)-1: "not changed" to chown(2). */
const NO_ID = 2 ** 32 - 1;

/** The inode number layerfs gives a lower object: above 2^32, apart from memfs's, unique per (layer, inode). */
function lowerIno(low: LowerNode): number {
  return 2 ** 32 * (low.layer + 2) + low.entry.inode;
}

/**
 * st_ino of an object in the upper layer. On one underlying filesystem (overlayfs.rst "Overlay
 * objects", "Inode properties"), a copied-up object keeps its lower origin's number: always for
 * a directory, for a non-directory only when the lower file had one link, since a lower hard
 * link is broken by copy-up into separate upper files (ovl_getattr, fs/overlayfs/inode.c; no
 * index=on). Anything made in the upper layer has its own number.
 */
function upperIno(s: OverlayState, obj: Obj, node: MemfsNode): number {
  const origin = obj.isDir ? obj.lower : s.copiedFrom.get(node);
  if (origin && (obj.isDir || origin.entry.nlink === 1)) return lowerIno(origin);
  return node.ino;
}

/** stat(2) of an object (ovl_getattr). */
export function infoOf(s: OverlayState, obj: Obj): ObjectInfo {
  if (obj.upper) {
    const node = obj.upper.getNode();
    const type = obj.type;
    const isDir = type === 'directory';
    return {
      type,
      mode: node.mode,
      uid: node.uid,
      gid: node.gid,
      size: isDir ? DIR_SIZE : type === 'symlink' ? Buffer.byteLength(node.symlink) : type === 'file' ? node.getSize() : 0,
      // Merged directories report nlink 1 (ovl_getattr: counting is not worth it, 1 pacifies find).
      nlink: isDir && obj.lower ? 1 : node.nlink,
      rdev: node.rdev,
      ino: upperIno(s, obj, node),
      atimeMs: node.atime.getTime(),
      mtimeMs: node.mtime.getTime(),
      ctimeMs: node.ctime.getTime(),
      birthtimeMs: node.btime.getTime(),
    };
  }
  const low = obj.lower!;
  const e = low.entry;
  const isDir = e.type === 'directory';
  return {
    type: e.type,
    mode: modeOf(e),
    uid: e.uid,
    gid: e.gid,
    size: isDir ? DIR_SIZE : e.size,
    nlink: isDir ? ((low.dirLayers?.length ?? 0) > 1 ? 1 : low.top!.nlink) : e.nlink,
    rdev: e.rdev,
    ino: lowerIno(low),
    atimeMs: e.atimeMs,
    mtimeMs: e.mtimeMs,
    ctimeMs: e.mtimeMs,
    birthtimeMs: e.mtimeMs,
  };
}

/** readlink(2): EINVAL on anything but a symlink. */
export function readlinkOf(obj: Obj): string {
  if (obj.type !== 'symlink') fail('EINVAL');
  return obj.upper ? obj.upper.getNode().symlink : obj.lower!.entry.linkTarget!;
}

/** A file's content; a lower file is read from its layer, never copied up. */
export function contentOf(s: OverlayState, obj: Obj): Buffer {
  if (obj.isDir) fail('EISDIR');
  if (obj.upper) return Buffer.from(obj.upper.getNode().getBuffer());
  return s.lower.read(obj.lower!);
}

export function xattrsOf(s: OverlayState, obj: Obj): ReadonlyMap<string, Buffer> {
  if (obj.upper) return s.upper.xattrs.get(obj.upper.getNode()) ?? new Map();
  return obj.lower!.entry.xattrs;
}

/** setxattr(2)'s flags (include/uapi/linux/xattr.h). */
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;

/**
 * setxattr(2), or removexattr(2) when `value` is null (ovl_xattr_set, fs/overlayfs/xattrs.c):
 * the object is copied up and the attribute set or removed on the upper copy, where the upper
 * filesystem checks the flags (so a refused XATTR_CREATE has copied up); removing a name that a
 * lower-only object lacks is ENODATA before any copy-up. The overlay's own namespace is kept
 * apart: the kernel stores a `trusted.overlay.*` name escaped, as `trusted.overlay.overlay.*`,
 * a form no layer format has, so it is refused (docs/semantics.md, known differences).
 */
export function setXattr(s: OverlayState, obj: Obj, name: string, value: Buffer | null, flags: number): void {
  if (name.startsWith('trusted.overlay.')) fail('ENOTSUP', 'the overlay\'s own xattr namespace');
  if (value === null && !obj.upper && !obj.lower!.entry.xattrs.has(name)) fail('ENODATA');
  const node = copyUp(s, obj).getNode();
  const attrs = new Map(s.upper.xattrs.get(node) ?? []);
  const has = attrs.has(name);
  if (value === null) {
    if (!has) fail('ENODATA');
    attrs.delete(name);
  } else {
    if (flags & XATTR_CREATE && has) fail('EEXIST');
    if (flags & XATTR_REPLACE && !has) fail('ENODATA');
    attrs.set(name, Buffer.from(value));
  }
  s.upper.xattrs.set(node, attrs);
  node.ctime = new Date();
}

/** chmod/chown/utimes (ovl_setattr): a metadata change copies the object up first. */
export function setAttributes(s: OverlayState, obj: Obj, change: AttrChange): void {
  const node = copyUp(s, obj).getNode();
  if (change.mode !== undefined) node.mode = (node.mode & ~0o7777) | (change.mode & 0o7777);
  if (change.uid !== undefined || change.gid !== undefined) {
    // chown(2): -1, which is 4294967295 as a uid_t, leaves the ID as it is.
    if (change.uid !== undefined && change.uid !== -1 && change.uid !== NO_ID) node.uid = change.uid;
    if (change.gid !== undefined && change.gid !== -1 && change.gid !== NO_ID) node.gid = change.gid;
    // chown clears setuid, and setgid when group-executable, on non-directories (chown(2)).
    if (!node.isDirectory()) {
      const clear = 0o4000 | (node.mode & 0o010 ? 0o2000 : 0);
      node.mode &= ~clear;
    }
  }
  if (change.atimeMs !== undefined) node.atime = new Date(change.atimeMs);
  if (change.mtimeMs !== undefined) node.mtime = new Date(change.mtimeMs);
  node.ctime = new Date();
}

function modeOf(e: LayerEntry): number {
  return typeBits(e.type) | e.mode;
}
