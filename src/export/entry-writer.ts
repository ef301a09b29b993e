import { chmodSync, chownSync, closeSync, fchmodSync, fchownSync, fstatSync, futimesSync, utimesSync } from 'node:fs';
import type { DirHandle, NodeRef } from '../host/dir-handle.js';
import { ReplacedError } from '../host/dir-errors.js';
import { finishFile, writeFileAt } from '../host/write-file-at.js';
import { PendingFile } from '../host/publish.js';
import { hostCalls, hostCallsMissing } from '../host/native.js';
import { major, minor } from '../util/device.js';
import type { TarEntry } from '../tar/changeset.js';
import type { FileRange } from '../layer/layer.js';

/** What writing entries needs to know about the process, and where refusals are reported. */
export interface EntryContext {
  /** Whether owners can be set (the process is root). */
  root: boolean;
  /** The process's effective user and group (read once: each is a system call). */
  uid: number;
  gid: number;
  /** The process's umask (read once; undefined where /proc does not say): files whose mode it keeps whole are created with it (write-file-at.ts). */
  umask: number | undefined;
  /**
   * The target itself: another user may own it (and so change its set-group-ID bit) while the
   * export runs, so what is created in it is always given its owner (see writeFileEntry).
   */
  target: DirHandle;
  /** Records what could not be reproduced here, and why. */
  skip(path: string, reason: string): void;
}

const EMPTY = Buffer.alloc(0);
const NODE_TYPE = { char: 0o020000, block: 0o060000, fifo: 0o010000 } as const;
const S_ISGID = 0o2000;

/**
 * errnos with which a filesystem refuses one extended attribute (an unsupported namespace, a
 * user.* attribute on a symlink or device, no privilege for trusted.* or security.*, a value
 * too large for it, no room left for this inode's attributes: ext4 keeps them all in the
 * inode and one block, and says ENOSPC, setxattr(2)): the attribute goes to `skipped`. Any
 * other error stops the export, as does ENOSPC from writing data.
 */
const XATTR_REFUSED = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EPERM', 'EACCES', 'E2BIG', 'ERANGE', 'EINVAL', 'ENOSPC']);

/**
 * Sets `e`'s extended attributes with `set`, after the owner (chown(2) clears
 * security.capability) and content, and before the mode (setting a user.* attribute needs
 * write permission on the inode, which a mode such as 0444 or 0555 takes from its owner when
 * not root: xattr(7)). Without the native addon every attribute is skipped.
 */
function writeXattrs(e: TarEntry, ctx: EntryContext, set: (name: string, value: Buffer) => void): void {
  if (!e.xattrs || e.xattrs.size === 0) return;
  const calls = hostCalls();
  for (const [name, value] of e.xattrs) {
    if (!calls) {
      ctx.skip(e.path, `xattr ${name}: ${hostCallsMissing()}`);
      continue;
    }
    try {
      set(name, value);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (!XATTR_REFUSED.has(code)) throw err;
      ctx.skip(e.path, `xattr ${name}: refused by the filesystem (${code})`);
    }
  }
}

/**
 * The owner to give a new file in `dir`, or undefined when there is none to give: without
 * root (ownerOf), or as root when the file already has it. A file is created owned by the
 * process's user, and by its group unless the directory is set-group-ID (open(2)); in a
 * directory this export made or kept (mode 0700, its own: nobody else can set the bit), that
 * is known without asking, and an fchown per file (a fifth of the system calls of a tree of
 * empty files) is saved. In the target itself the owner is always set.
 */
function fileOwner(dir: DirHandle, e: TarEntry, ctx: EntryContext): { uid: number; gid: number } | undefined {
  if (ctx.root && dir !== ctx.target && (dir.mode & S_ISGID) === 0 && e.uid === ctx.uid && e.gid === ctx.gid) return undefined;
  return ownerOf(e, ctx);
}

/** The owner to set, or undefined when not root (then a differing owner is reported). */
function ownerOf(e: TarEntry, ctx: EntryContext): { uid: number; gid: number } | undefined {
  if (ctx.root) return { uid: e.uid, gid: e.gid };
  if (e.uid !== ctx.uid || e.gid !== ctx.gid) ctx.skip(e.path, `owner ${e.uid}:${e.gid} needs root`);
  return undefined;
}

/**
 * Writes a regular file at `name` in `dir`. A file with content is written unnamed (or under a
 * random temporary name where the filesystem cannot) with its metadata and given its name only
 * once complete (src/host/publish.ts): an interrupted export never leaves a short file under
 * its final name. An empty file is created at its name directly (it cannot be torn). Content
 * a layer keeps in a file (a plain layer's blob, a spill file) is copied by the kernel from
 * there (contentOf), and the layer file is checked after the copy as after a read: a file
 * changed meanwhile is never named.
 * Returns the inode written when the entry has more names (hard links to follow), else 0.
 */
export function writeFileEntry(dir: DirHandle, name: string, e: TarEntry, ctx: EntryContext): number {
  const linked = (e.nlink ?? 1) > 1;
  const content = contentOf(e);
  const bytes = Buffer.isBuffer(content) ? content : undefined;
  const source = Buffer.isBuffer(content) ? undefined : content;
  const empty = (bytes?.length ?? source!.size) === 0;
  // xattrs go between the owner and the mode (writeXattrs): the write stops after the owner.
  const ownerOnly = e.xattrs !== undefined && e.xattrs.size > 0;
  const file = { mode: e.mode, owner: fileOwner(dir, e, ctx), mtimeMs: e.mtimeMs, data: bytes, source, ownerOnly, keepOpen: linked || !empty, umask: ctx.umask };
  const finish = (fd: number) => {
    if (!ownerOnly) return;
    writeXattrs(e, ctx, (k, v) => hostCalls()!.setxattr(fd, k, v));
    finishFile(fd, e);
  };
  if (empty) {
    const fd = writeFileAt(dir, name, file);
    if (fd === undefined) return 0;
    try {
      finish(fd);
      return linked ? fstatSync(fd).ino : 0;
    } finally {
      closeSync(fd);
    }
  }
  for (let attempt = 0; ; attempt++) {
    let pending: PendingFile;
    try {
      pending = PendingFile.create(dir, (at) => writeFileAt(dir, at, file)!);
    } catch (err) {
      // The layer file ended before the entry's size: the layer says why (changed), or again.
      if (!source || (err as NodeJS.ErrnoException).code !== 'ERR_SOURCE_ENDED' || source.confirm(attempt, false)) throw err;
      continue;
    }
    try {
      // Copied from a layer file that changed and was verified again: copied again.
      if (source && !source.confirm(attempt, true)) continue;
      finish(pending.fd);
      pending.publish(name);
      return linked ? pending.stat.ino : 0;
    } finally {
      pending.close();
    }
  }
}

/**
 * A file entry's content: its bytes, or where its layer keeps them (a range of a file the
 * layer holds, TarEntry.content's source), copied from there without passing through memory.
 * A layer that says neither is read whole.
 */
function contentOf(e: TarEntry): Buffer | FileRange {
  if (!e.content) return e.data ?? EMPTY;
  const source = e.content.source?.();
  if (source) return source;
  const out = Buffer.allocUnsafe(e.content.size);
  for (let n = 0; n < out.length; ) {
    const got = e.content.readAt(out, n, out.length - n, n);
    if (got === 0) throw new Error(`${e.path}: its layer gave ${n} of its ${out.length} bytes`);
    n += got;
  }
  return out;
}

/** Sets owner, mode, xattrs and times on an inode held by an O_PATH descriptor. */
function setNodeMetadata(node: NodeRef, e: TarEntry, ctx: EntryContext): void {
  const owner = ownerOf(e, ctx);
  if (owner) chownSync(node.path, owner.uid, owner.gid);
  writeXattrs(e, ctx, (k, v) => hostCalls()!.setxattr(node.path, k, v));
  // A symlink's mode is always 0777 on Linux (symlink(7)); chmod would reach its target.
  if (e.type !== 'symlink') chmodSync(node.path, e.mode);
  utimesSync(node.path, e.mtimeMs / 1000, e.mtimeMs / 1000);
}

/**
 * Opens the entry just made at `name` O_PATH, checks it is what was made (type, owned by this
 * process, for a device its number: a name replaced in between is not given metadata), sets
 * its metadata and returns its inode.
 */
function withMade(dir: DirHandle, name: string, isRightType: (node: NodeRef) => boolean, e: TarEntry, ctx: EntryContext): number {
  const node = dir.openNode(name);
  try {
    if (!isRightType(node) || node.stat.uid !== ctx.uid) throw new ReplacedError(dir.labelOf(name));
    setNodeMetadata(node, e, ctx);
    return node.stat.ino;
  } finally {
    closeSync(node.fd);
  }
}

/** Writes a symlink (never followed) with its owner, xattrs and times; returns its inode. */
export function writeSymlinkEntry(dir: DirHandle, name: string, e: TarEntry, ctx: EntryContext): number {
  dir.symlink(name, e.linkTarget!);
  return withMade(dir, name, (n) => n.stat.isSymbolicLink(), e, ctx);
}

/**
 * Makes a device node or fifo with mknodat(2) (the native addon); without the addon, or where
 * the system refuses (EPERM: a device node needs CAP_MKNOD), it is skipped with the reason.
 * Returns its inode, or undefined when skipped.
 */
export function writeNodeEntry(dir: DirHandle, name: string, e: TarEntry & { type: 'char' | 'block' | 'fifo' }, ctx: EntryContext): number | undefined {
  if (!hostCalls()) {
    ctx.skip(e.path, `a ${e.type} node: ${hostCallsMissing()}`);
    return undefined;
  }
  const rdev = e.type === 'fifo' ? 0 : e.rdev ?? 0;
  try {
    dir.mknod(name, NODE_TYPE[e.type] | (e.mode & 0o777), major(rdev), minor(rdev));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    ctx.skip(e.path, `a ${e.type} node needs root (EPERM)`);
    return undefined;
  }
  return withMade(dir, name, (n) => (n.stat.mode & 0o170000) === NODE_TYPE[e.type] && n.stat.rdev === rdev, e, ctx);
}

/**
 * A directory's own metadata, through its descriptor, once everything in it is written
 * (writing into it changes its mtime, and a read-only mode would stop the writes).
 */
export function setDirMetadata(dir: DirHandle, e: TarEntry, ctx: EntryContext): void {
  const owner = ownerOf(e, ctx);
  if (owner) fchownSync(dir.fd, owner.uid, owner.gid);
  writeXattrs(e, ctx, (k, v) => hostCalls()!.setxattr(dir.fd, k, v));
  fchmodSync(dir.fd, e.mode);
  futimesSync(dir.fd, e.mtimeMs / 1000, e.mtimeMs / 1000);
}
