import { constants } from 'node:fs';
import type { Layer } from '../layer/layer.js';
import type { LayerEntry } from '../layer/entry.js';
import type { MemfsNode } from '../util/memfs-types.js';
import { fail } from './errno.js';
import type { OverlayEngine, ObjectInfo } from './engine.js';
import type { Obj } from './resolve.js';
import type { NodeMeta } from './upper.js';

const { O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_NOFOLLOW, O_DIRECTORY, O_RDONLY, O_WRONLY } = constants;

/** O_TMPFILE, which fs.constants lacks: __O_TMPFILE | O_DIRECTORY (include/uapi/asm-generic/fcntl.h). */
const O_TMPFILE = 0o20000000 | O_DIRECTORY;

/** The largest file layerfs holds: content lives in memory, in one Buffer. */
const MAX_FILE_SIZE = 2 ** 32;

/**
 * An open file description (the kernel's struct file): what open(2) made, with its flags and
 * position. One opened for reading on a lower file reads that layer's content until the file
 * is copied up (by a write through another descriptor, or an attribute change through this
 * one), then the upper copy, wherever it has been renamed or unlinked since: overlayfs stacks
 * file operations and ovl_real_fdget_meta reopens the real file when the overlay inode was
 * copied up after the open (overlayfs.rst "Non-standard behavior" lists only MAP_SHARED
 * mappings as still seeing the lower file). The fs facade numbers these (its descriptors).
 */
export interface OpenFile {
  path: string;
  flags: number;
  position: number;
  /** The upper inode, for files opened for writing or living in the upper layer. */
  node?: MemfsNode;
  /**
   * The lower file, for read-only descriptors of lower files: read by position from its
   * layer (Layer.readAt), never loaded whole. `copy` is its upper copy once it has one
   * (followCopyUp).
   */
  lower?: { layer: Layer; entry: LayerEntry; copy: () => MemfsNode | undefined };
  /** How to stat it (fstat). */
  info: () => ObjectInfo;
  isDirectory: boolean;
  /** The object opened, for the calls on a descriptor that change its attributes (fchmod, fchown, futimes). */
  obj?: Obj;
  /** Tells the overlay's watchers the data changed (IN_MODIFY, fs-notify.ts). */
  modified?: () => void;
  /** close(2): what the description held is let go (a read-only one of a lower file: a removed copy of it, copy-up.ts). */
  release?: () => void;
}

/** The metadata of an object open(2) creates with permission bits `mode`: the caller's owner, its umask applied. */
export type NewObjectMeta = (mode: number) => NodeMeta;

export function readable(f: OpenFile): boolean {
  return (f.flags & 3) !== O_WRONLY;
}

export function writable(f: OpenFile): boolean {
  return (f.flags & 3) !== O_RDONLY;
}

/**
 * open(2) on the overlay (do_filp_open, open_last_lookups, do_open): an open file
 * description, or an errno. Opening for write copies a lower file up even if nothing is
 * written (overlayfs.rst "Non-directories").
 */
export function openFile(engine: OverlayEngine, p: string, f: number, mode: number, newMeta: NewObjectMeta): OpenFile {
  if ((f & O_TMPFILE) === O_TMPFILE) {
    // An unnamed file in a directory (open(2) O_TMPFILE): the path must be a directory.
    if (!engine.lookup(p, true).isDir) fail('ENOTDIR');
    fail('ENOTSUP', 'layerfs does not emulate O_TMPFILE');
  }
  // open_last_lookups: O_CREAT with a trailing slash (or a last name of . or ..) is EISDIR once the parent is found.
  if (f & O_CREAT) {
    const r = engine.resolveEntry(p);
    if (r.lastDot || r.trailingSlash) fail('EISDIR');
  }
  const excl = (f & O_CREAT) !== 0 && (f & O_EXCL) !== 0;
  const r = engine.resolve(p, !excl && !(f & O_NOFOLLOW));
  let obj = r.obj;
  const wantsWrite = (f & 3) !== O_RDONLY || (f & O_TRUNC) !== 0;
  if (obj) {
    if (excl) fail('EEXIST');
    if (obj.type === 'symlink') fail('ELOOP');
    if (f & O_DIRECTORY && !obj.isDir) fail('ENOTDIR');
    if (obj.isDir) {
      if (wantsWrite) fail('EISDIR');
      const dir = obj;
      const info = (): ObjectInfo => {
        engine.upperCopyOf(dir);
        return engine.info(dir);
      };
      return { path: p, flags: f, position: 0, isDirectory: true, obj: dir, info };
    }
    assertRegular(obj);
  } else {
    if (!(f & O_CREAT)) fail('ENOENT');
    obj = engine.create(r, 'file', newMeta(mode & 0o7777));
  }
  const target = obj;
  const info = (): ObjectInfo => {
    followCopyUp(file);
    return engine.info(target);
  };
  const file: OpenFile = { path: p, flags: f, position: 0, isDirectory: false, obj: target, info };
  if (wantsWrite || obj.upper) {
    const node = engine.writableNode(obj);
    const created = !r.obj;
    if (f & O_TRUNC && node.getSize() > 0) node.truncate(0);
    else if (f & O_TRUNC) node.mtime = new Date();
    file.node = node;
    file.modified = () => {
      if (engine.watchers.watching) engine.watchers.notice({ kind: 'modify', path: target.currentPath(), isDir: false });
    };
    // handle_truncate: O_TRUNC of a file that existed is a truncate (IN_MODIFY); a file this open made is not truncated.
    if (f & O_TRUNC && !created) file.modified();
  } else {
    // Read by position when asked (Layer.readAt): opening reads nothing.
    const low = obj.lower!;
    file.lower = { ...engine.lower.contentOf(low), copy: () => engine.upperCopyOf(target)?.getNode() };
    engine.lowerReader(low, 1);
    file.release = () => engine.lowerReader(low, -1);
  }
  return file;
}

/**
 * A read-only descriptor of a lower file reads the upper copy from the first call after the
 * file was copied up (ovl_real_fdget_meta; see OpenFile). One WeakMap probe a call.
 */
export function followCopyUp(f: OpenFile): void {
  const node = f.lower?.copy();
  if (node) {
    f.node = node;
    f.lower = undefined;
  }
}

/** Only regular files hold data here; device nodes and FIFOs are not emulated. */
function assertRegular(obj: Obj): void {
  const t = obj.type;
  if (t === 'directory') fail('EISDIR');
  if (t !== 'file') fail('ENOTSUP', `layerfs does not emulate I/O on ${t} nodes`);
}

/**
 * read(2)/pread(2): at most `length` bytes into `target` at `offset`, from `position`, or
 * from the description's position (moving it) when `position` is negative. The count is
 * what was copied: never more than the file has past the position.
 */
export function readFrom(f: OpenFile, target: Buffer, offset: number, length: number, position: number): number {
  if (f.isDirectory) fail('EISDIR');
  if (!readable(f)) fail('EBADF');
  followCopyUp(f);
  const pos = position < 0 ? f.position : position;
  let count: number;
  if (f.node) count = f.node.read(target, offset, Math.max(0, Math.min(length, f.node.getSize() - pos)), pos);
  else count = f.lower!.layer.readAt(f.lower!.entry, target, offset, length, pos);
  if (position < 0) f.position += count;
  return count;
}

/** Everything from the description's position to the end, moving the position. */
export function readRest(f: OpenFile): Buffer {
  if (f.isDirectory) fail('EISDIR');
  if (!readable(f)) fail('EBADF');
  followCopyUp(f);
  let rest: Buffer;
  if (f.node) {
    const all = f.node.getBuffer();
    rest = Buffer.from(all.subarray(Math.min(f.position, all.length)));
  } else {
    const { layer, entry } = f.lower!;
    const size = Math.max(0, entry.size - f.position);
    const out = Buffer.allocUnsafe(size);
    const n = layer.readAt(entry, out, 0, size, f.position);
    rest = n === size ? out : out.subarray(0, n);
  }
  f.position += rest.length;
  return rest;
}

/**
 * write(2)/pwrite(2): `data` at `position`, or at the description's position (moving it)
 * when `position` is negative (libuv's uv__fs_write writes with write(2) for any offset < 0);
 * with O_APPEND always at the end, whatever the position (open(2)).
 */
export function writeTo(f: OpenFile, data: Buffer, position: number): number {
  if (!writable(f) || !f.node) fail('EBADF');
  const at = f.flags & O_APPEND ? f.node.getSize() : position < 0 ? f.position : position;
  if (at + data.length > MAX_FILE_SIZE) fail('EFBIG', 'layerfs holds file content in memory, at most 4 GiB a file');
  const written = f.node.write(data, 0, data.length, at);
  if (position < 0 || f.flags & O_APPEND) f.position = at + written;
  if (written > 0) f.modified?.();
  return written;
}

/** ftruncate(2): EINVAL on a description not open for writing. */
export function truncateTo(f: OpenFile, size: number): void {
  if (!writable(f) || !f.node) fail('EINVAL');
  if (size > MAX_FILE_SIZE) fail('EFBIG', 'layerfs holds file content in memory, at most 4 GiB a file');
  f.node.truncate(size);
  f.modified?.();
}
