import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { MountError } from './mount-error.js';
import { isMountpoint } from './mount-table.js';
import { clearNosuid, pinParent } from './suid-remount.js';

/**
 * The FUSE binding, behind this one module so that it can be replaced: `@cocalc/fuse-native`
 * (an optional dependency), the maintained fork of mafintosh's `fuse-native`. Why this one:
 * it builds from source against Debian's `libfuse-dev` (libfuse 2.9, linked from the system
 * rather than a bundled `libfuse.so` as `fuse-native` 2.2.6 loads through fuse-shared-library),
 * it is kept (2.4.x, 2024-2026) while fuse-native has had no release since 2020, and its API
 * is the same. Both are libfuse 2's high-level, path-based API, which is what sets the limits
 * docs/mount.md lists: no rename flags (the kernel answers EINVAL itself, fuse_rename2), times
 * to the millisecond, 32-bit inode numbers, no caller credentials; and one bug of both: utimens
 * gets the atime where the mtime belongs (sagemathinc/fuse-native#3, open), so fuse-ops.ts
 * refuses it. Replacing the binding (libfuse 3's low-level API) lifts all of these.
 *
 * Everything else in src/mount/ sees only the types below: the operations table, with paths
 * in and a negative errno (or a value) out through a callback, and `mountFuse`.
 */

/** What getattr and readdir return for one object (the binding's getStatArray reads these). */
export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  dev: number;
  nlink: number;
  ino: number;
  rdev: number;
  blksize: number;
  blocks: number;
  /** Milliseconds since 1970 (the binding's resolution). */
  atime: number;
  mtime: number;
  ctime: number;
}

export interface FuseStatfs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

/** 0 for success, else a negative errno (the binding's convention). */
type Done = (err: number) => void;

/** The operations, as the binding calls them (its index.d.ts, corrected where it is wrong). */
export interface FuseOps {
  getattr(path: string, cb: (err: number, st?: FuseStat) => void): void;
  fgetattr(path: string, fd: number, cb: (err: number, st?: FuseStat) => void): void;
  access(path: string, mode: number, cb: Done): void;
  readdir(path: string, cb: (err: number, names?: string[], stats?: FuseStat[]) => void): void;
  readlink(path: string, cb: (err: number, target?: string) => void): void;
  statfs(path: string, cb: (err: number, st?: FuseStatfs) => void): void;
  open(path: string, flags: number, cb: (err: number, fd?: number) => void): void;
  create(path: string, mode: number, cb: (err: number, fd?: number) => void): void;
  read(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytes: number) => void): void;
  write(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytes: number) => void): void;
  release(path: string, fd: number, cb: Done): void;
  flush(path: string, fd: number, cb: Done): void;
  fsync(path: string, datasync: boolean, fd: number, cb: Done): void;
  fsyncdir(path: string, datasync: boolean, fd: number, cb: Done): void;
  truncate(path: string, size: number, cb: Done): void;
  ftruncate(path: string, fd: number, size: number, cb: Done): void;
  /** Milliseconds; the binding passes the atime twice (sagemathinc/fuse-native#3), so the second is not the mtime. */
  utimens(path: string, atime: number, atimeAgain: number, cb: Done): void;
  chmod(path: string, mode: number, cb: Done): void;
  chown(path: string, uid: number, gid: number, cb: Done): void;
  mknod(path: string, mode: number, rdev: number, cb: Done): void;
  mkdir(path: string, mode: number, cb: Done): void;
  unlink(path: string, cb: Done): void;
  rmdir(path: string, cb: Done): void;
  rename(from: string, to: string, cb: Done): void;
  link(existing: string, path: string, cb: Done): void;
  symlink(target: string, path: string, cb: Done): void;
  /** The callback takes the value's length, or a negative errno; the value is copied into `into`. */
  getxattr(path: string, name: string, position: number, cb: (err: number, value?: Buffer) => void): void;
  listxattr(path: string, cb: (err: number, names?: string[]) => void): void;
  setxattr(path: string, name: string, value: Buffer, position: number, flags: number, cb: Done): void;
  removexattr(path: string, name: string, cb: Done): void;
}

export interface FuseMountOptions {
  /** Mount read-only (MS_RDONLY): the kernel refuses every write with EROFS before asking. */
  readOnly: boolean;
  /** libfuse's generic mount flags to pass on (`dev`, `suid`, `noexec`, ...: mount(8)'s, as mount.fuse3 hands them over). */
  mountFlags?: readonly string[];
}

/** A live mount: `unmount` asks the kernel to detach it and stops the binding's loop. */
export interface FuseSession {
  readonly mountpoint: string;
  unmount(): Promise<void>;
}

interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
}
type StaticUnmount = (mnt: string, cb: (err: Error | null) => void) => void;
type FuseClass = new (mnt: string, ops: Partial<FuseOps>, opts: Record<string, unknown>) => FuseInstance;

let loaded: FuseClass | undefined;

/** The binding's own handlers of getxattr and listxattr: `signal(result, buffer)` answers libfuse. */
interface XattrHandlers {
  ops: Partial<FuseOps>;
  _op_getxattr(signal: (res: number, b: ArrayBufferLike) => void, path: string, name: string, into: Buffer, position: number): void;
  _op_listxattr(signal: (res: number, b: ArrayBufferLike) => void, path: string, into: Buffer): void;
}

const ERANGE = -34;
const ENODATA = -61;

/**
 * The binding answers getxattr and listxattr into a buffer too small for the value with the
 * value's length and the bytes cut, which libfuse then sends beyond its buffer ("fuse: writing
 * device: Invalid argument", EIO to the caller: Python's os.getxattr, which tries 128 bytes
 * first, failed on any longer value). These handlers answer as getxattr(2) says: a 0-byte
 * buffer asks the size, a smaller one than the value is ERANGE. They replace the binding's
 * two methods of the same name; if a version of the binding has none, it is refused.
 */
function answerXattrSizes(proto: XattrHandlers): void {
  if (typeof proto._op_getxattr !== 'function' || typeof proto._op_listxattr !== 'function') {
    throw new Error('this version of @cocalc/fuse-native has no _op_getxattr/_op_listxattr to correct');
  }
  proto._op_getxattr = function (signal, path, name, into, position) {
    this.ops.getxattr!(path, name, position, (err, value) => {
      if (err) return signal(err, into.buffer);
      if (!value) return signal(ENODATA, into.buffer);
      if (into.length > 0 && value.length > into.length) return signal(ERANGE, into.buffer);
      value.copy(into);
      signal(value.length, into.buffer);
    });
  };
  proto._op_listxattr = function (signal, path, into) {
    this.ops.listxattr!(path, (err, names) => {
      if (err) return signal(err, into.buffer);
      const list = Buffer.concat((names ?? []).map((n) => Buffer.from(`${n}\0`)));
      if (into.length > 0 && list.length > into.length) return signal(ERANGE, into.buffer);
      if (into.length > 0) list.copy(into);
      signal(list.length, into.buffer);
    });
  };
}

function binding(): FuseClass {
  if (loaded) return loaded;
  try {
    const Fuse = createRequire(import.meta.url)('@cocalc/fuse-native') as FuseClass & { unmount: StaticUnmount };
    // The binding's close runs `fusermount -uz` and, only if that succeeds, lets go of its loop;
    // a mount already detached from outside is not an error, or the process could never end.
    // Its own unmount runs that command through a shell with the path in double quotes
    // (JSON.stringify), where `$(...)` and backquotes in a directory's name are run: the path
    // goes to fusermount as one argument here, no shell.
    Fuse.unmount = (mnt, cb) => void execFile('fusermount', ['-uz', mnt], (err) => cb(err && isMountpoint(mnt) ? err : null));
    answerXattrSizes(Fuse.prototype as unknown as XattrHandlers);
    loaded = Fuse;
  } catch (e) {
    throw new MountError('ERR_FUSE_UNAVAILABLE', `the FUSE binding @cocalc/fuse-native is not installed or not built (it builds at npm install against Debian's libfuse-dev; fuse3 gives fusermount): ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  return loaded;
}

/** Whether the binding loads here (the tests ask, and say loudly when it does not). */
export function fuseAvailable(): { ok: boolean; why: string } {
  try {
    binding();
    return { ok: true, why: '' };
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
}

/**
 * The libfuse options, and why each (fuse(8), libfuse 2.9's fuse.c): `use_ino`, st_ino from
 * getattr (the binding has no flag for it, and joins its options with commas, so it rides in
 * `fsname`); `hard_remove`, an unlink of an open file is an unlink, not libfuse's rename to
 * `.fuse_hiddenN`, which would put that name in the upper layer; `default_permissions`, the
 * kernel checks each caller's access against the modes (the engine runs every call as its
 * one uid); `attr_timeout=0`, `entry_timeout=0`, no cached attributes, since libfuse gives
 * each name of a hard-linked inode its own node and a cached size of one name would go stale
 * when the other is written; `auto_unmount`, fusermount's watcher detaches the mount when the
 * daemon dies, so a killed daemon leaves no dead mount behind (docs/mount.md).
 */
const LIBFUSE_OPTIONS = ['use_ino', 'hard_remove', 'default_permissions', 'auto_unmount'];

/** Mounts `ops` at `mountpoint` (an existing directory); resolves once the kernel has the mount. */
export async function mountFuse(mountpoint: string, ops: Partial<FuseOps>, options: FuseMountOptions): Promise<FuseSession> {
  const Fuse = binding();
  const extra = [...LIBFUSE_OPTIONS, ...(options.readOnly ? ['ro'] : []), ...(options.mountFlags ?? [])];
  const fuse = new Fuse(mountpoint, ops, {
    fsname: ['layerfs', ...extra].join(','),
    subtype: 'layerfs',
    attrTimeout: '0',
    entryTimeout: '0',
    // The binding answers an operation that takes longer than this with EIO; the engine is
    // synchronous, so a slow call is a large read or copy-up, never a hang: no timeout.
    timeout: false,
  });
  // As root, the mount's nosuid,nodev is cleared after it is made (suid-remount.ts); the
  // parent is held from before, so that the remount reaches this mount and no other.
  const parent = process.getuid?.() === 0 ? pinParent(mountpoint) : undefined;
  try {
    await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(new MountError('ERR_MOUNT_FAILED', `${mountpoint}: cannot mount: ${err.message}`, { cause: err })) : resolve())));
    const session = {
      mountpoint,
      unmount: () => new Promise<void>((resolve, reject) => fuse.unmount((err) => (err ? reject(new MountError('ERR_UNMOUNT_FAILED', `${mountpoint}: cannot unmount: ${err.message}`, { cause: err })) : resolve()))),
    };
    const failed = parent === undefined ? undefined : await clearNosuid(parent, mountpoint).catch((e: Error) => e.message);
    if (failed !== undefined) {
      await session.unmount().catch(() => {});
      throw new MountError('ERR_MOUNT_FAILED', `${mountpoint}: mounted nosuid,nodev and cannot clear them (mount -o remount,bind,suid,dev): ${failed}`);
    }
    return session;
  } finally {
    if (parent !== undefined) fs.closeSync(parent);
  }
}
