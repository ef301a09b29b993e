import type { EntryType } from '../layer/entry.js';
import { isReservedName } from '../oci/oci-names.js';
import type { MemfsNode } from '../util/memfs-types.js';
import { fail } from './errno.js';
import { Obj, type Resolution } from './resolve.js';
import type { OverlayState } from './overlay-state.js';
import { copyUp } from './copy-up.js';
import { isEmptyDir } from './readdir.js';
import type { NodeMeta } from './upper.js';

/**
 * The namespace operations of a merged directory, as the kernel's fs/overlayfs/dir.c: making
 * a name (ovl_create_object), removing one (ovl_do_remove), link (ovl_link) and rename
 * (ovl_rename), with the whiteouts, opaque markers and redirects they leave in the upper
 * layer. The last-name rules of each system call are in syscalls.ts.
 */

/** Creates a new object where `r` found nothing (mkdir, mknod, symlink, open O_CREAT). */
export function createObject(s: OverlayState, r: Resolution, type: EntryType, meta: NodeMeta, extra: { target?: string; rdev?: number } = {}): Obj {
  if (r.obj) fail('EEXIST');
  // filename_create: a missing name with a trailing slash can only be made as a directory.
  if (r.trailingSlash && type !== 'directory') fail('ENOENT');
  const parent = r.parent!;
  checkNewName(r.name);
  const dirLink = copyUp(s, parent);
  const overWhiteout = s.upper.removeWhiteout(dirLink, r.name);
  const link = s.upper.create(dirLink, r.name, type, inheritSetgid(dirLink.getNode(), type, meta), extra);
  const obj = new Obj(parent.childPath(r.name), parent, r.name, link, undefined);
  // A directory made where a whiteout stood must not show the old lower content
  // (overlayfs.rst "whiteouts and opaque directories"). With redirect_dir on, the kernel
  // also marks every directory made in a merged parent (ovl_create_upper: lower offline
  // changes are then not allowed), observed on 6.18.
  if (type === 'directory' && (overWhiteout || (s.redirectDir && parent.lower !== undefined))) markOpaque(s, obj, overWhiteout ? 'whiteout' : 'redirect-dir');
  return obj;
}

/** unlink/rmdir: remove the upper copy, then whiteout the name if a lower layer still has it. */
export function removeObject(s: OverlayState, obj: Obj): void {
  const parent = obj.parent;
  if (!parent) fail('EBUSY');
  if (obj.isDir && !isEmptyDir(s, obj)) fail('ENOTEMPTY');
  const lowerPositive = obj.lowerPositive;
  const dirLink = copyUp(s, parent);
  if (obj.upper) s.upper.remove(dirLink, obj.name);
  if (lowerPositive) {
    s.upper.addWhiteout(dirLink, obj.name);
    s.emit({ type: 'whiteout', path: obj.path });
  }
}

/** link(2): the source is copied up first, then linked in the upper layer. */
export function linkObject(s: OverlayState, source: Obj, r: Resolution): void {
  if (r.obj) fail('EEXIST');
  // filename_create: a missing name with a trailing slash asks for a directory.
  if (r.trailingSlash) fail('ENOENT');
  if (source.isDir) fail('EPERM');
  checkNewName(r.name);
  const existing = copyUp(s, source);
  const dirLink = copyUp(s, r.parent!);
  s.upper.removeWhiteout(dirLink, r.name);
  s.upper.attach(dirLink, r.name, existing);
}

/**
 * rename(2) with overlayfs's rules (overlayfs.rst "Renaming directories"): a directory that
 * has lower content cannot move without redirect_dir (EXDEV, so mv copies); with it, the
 * moved directory records where its lower content is. A lower name left behind gets a
 * whiteout.
 */
export function renameObject(s: OverlayState, from: Resolution, to: Resolution): void {
  const src = from.obj;
  if (!src) fail('ENOENT');
  if (!src.isDir && (from.trailingSlash || to.trailingSlash)) fail('ENOTDIR');
  if (!src.parent || (to.obj && !to.obj.parent)) fail('EBUSY');
  if (isWithin(to.resolved, src.path)) fail('EINVAL');
  const dst = to.obj;
  if (dst && isWithin(src.path, dst.path)) fail('ENOTEMPTY');
  if (dst && sameInode(src, dst)) return;
  if (dst) {
    if (src.isDir && !dst.isDir) fail('ENOTDIR');
    if (!src.isDir && dst.isDir) fail('EISDIR');
  }
  checkNewName(to.name);
  const srcIsDir = src.isDir;
  const srcMerged = srcIsDir && src.lower !== undefined;
  if (srcMerged && !s.redirectDir) fail('EXDEV', 'the directory has lower content; redirect_dir is off');
  // A target with lower content is checked for emptiness here; a pure upper target only
  // when the upper filesystem renames, after the steps below have taken effect (observed:
  // a failed rename still leaves the source copied up and marked).
  const targetNotEmpty = dst?.isDir === true && !isEmptyDir(s, dst);
  if (targetNotEmpty && dst!.lower !== undefined) fail('ENOTEMPTY');

  const oldLowerPositive = src.lowerPositive;
  const srcLink = copyUp(s, src);
  const oldDir = copyUp(s, src.parent);
  const newDir = copyUp(s, to.parent!);
  let markedOpaque = false;
  let renamedBefore = false;
  if (srcIsDir) {
    if (srcMerged) {
      // The redirect names the lower directory this one merges with (trusted.overlay.redirect).
      renamedBefore = s.upper.redirects.has(srcLink.getNode());
      s.upper.redirects.set(srcLink.getNode(), src.lower!.path);
    } else if (!s.upper.isOpaque(srcLink) && to.parent!.lower !== undefined) {
      // A pure upper directory moved into a merged parent is marked opaque, so lower
      // content under the new name cannot show through (ovl_rename).
      s.upper.setOpaque(srcLink);
      markedOpaque = true;
    }
  }
  if (targetNotEmpty) {
    if (markedOpaque) s.emit({ type: 'opaque', path: src.path, reason: 'moved' });
    // Observed on 6.18 with redirect_dir=on: a redirected directory that fails to move to
    // another directory leaves its old parent's mtime at the time of the attempt.
    if (srcMerged && oldDir !== newDir) oldDir.getNode().mtime = new Date();
    fail('ENOTEMPTY');
  }
  s.upper.removeWhiteout(newDir, to.name);
  s.upper.move(oldDir, src.name, newDir, to.name);
  const newPath = to.parent!.childPath(to.name);
  if (markedOpaque) s.emit({ type: 'opaque', path: newPath, reason: 'moved' });
  if (srcMerged) s.emit({ type: 'redirect', path: newPath, from: src.path, lowerPath: src.lower!.path, sameDir: oldDir === newDir, renamedBefore });
  if (oldLowerPositive) {
    s.upper.addWhiteout(oldDir, src.name);
    s.emit({ type: 'whiteout', path: src.path });
  }
}

/**
 * rename(2) between two names of one inode does nothing. Two names of a lower hard link
 * are NOT one overlay inode without index=on: the kernel renames, copying up (observed).
 */
export function sameInode(a: Obj, b: Obj): boolean {
  if (a.upper && b.upper) return a.upper.getNode() === b.upper.getNode();
  return !a.upper && !b.upper && a.lower === b.lower;
}

function checkNewName(name: string): void {
  // The OCI encoding cannot tell such a name from a whiteout: a commit would silently turn
  // it into a deletion, so it is refused (a documented difference from the kernel).
  if (isReservedName(name)) fail('EINVAL', `names starting with ".wh." are reserved for OCI whiteouts`);
}

function markOpaque(s: OverlayState, obj: Obj, reason: 'whiteout' | 'redirect-dir'): void {
  s.upper.setOpaque(obj.upper!);
  obj.lower = undefined;
  s.emit({ type: 'opaque', path: obj.path, reason });
}

/**
 * In a set-group-ID directory new objects take the directory's group, and new directories
 * keep the bit (inode_init_owner; mkdir(2), "BSD group semantics").
 */
function inheritSetgid(dir: MemfsNode, type: EntryType, meta: NodeMeta): NodeMeta {
  if (!(dir.mode & 0o2000)) return meta;
  return { ...meta, gid: dir.gid, mode: type === 'directory' ? meta.mode | 0o2000 : meta.mode };
}

function isWithin(path: string, dir: string): boolean {
  return path !== dir && (dir === '/' || path.startsWith(dir + '/'));
}
