import { constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';
import { posix } from 'node:path';
import type { Overlay } from '../export/overlay.js';
import { engineOf } from '../fs/overlay-fs.js';
import type { Stats } from '../fs/stats.js';
import type { FuseOps, FuseStat, FuseStatfs } from './fuse-binding.js';

/**
 * The FUSE operations over an Overlay: each one call of the fs facade (or, for xattrs, of the
 * engine), its answer or its errno passed back as is. No rule is decided here: the kernel's
 * VFS has already walked the path (FUSE hands over the object's own path, symlinks resolved),
 * checked permissions (default_permissions) and applied the umask; the engine answers the rest.
 */

const errnos = constants.errno as Record<string, number>;
const { O_CREAT, O_RDONLY, O_RDWR, S_IFMT, S_IFCHR, S_IFBLK, S_IFIFO, S_IFREG } = fsConstants;
/** open(2)'s access mode bits (fcntl.h; Node's constants do not have it). */
const O_ACCMODE = 3;
const EIO = -errnos.EIO!;
const ENOTSUP = -errnos.EOPNOTSUPP!;
const ENODATA = -errnos.ENODATA!;

/**
 * The xattr namespace the kernel's overlay keeps for itself: not listed, and reading one gives
 * ENODATA on the mount (fs/overlayfs/xattrs.c, ovl_is_private_xattr and ovl_listxattr; a
 * lower layer's own `trusted.overlay.opaque` is the layer's format, not the file's data).
 */
const PRIVATE_XATTR = 'trusted.overlay.';

/** What keeps an upper directory on disk in step (upper-dir-mirror.ts), told of each write and change. */
export interface UpperDirHooks {
  opened(fuseFd: number, path: string): void;
  wrote(fuseFd: number, path: string, buf: Buffer, length: number, position: number): void;
  truncated(fuseFd: number | undefined, path: string, size: number): void;
  released(fuseFd: number): void;
  /** fsync/fdatasync/fsyncdir of `path` (by `fuseFd` when the kernel gave one): the disk object synced; throws its error. */
  synced(fuseFd: number | undefined, path: string, datasync: boolean): void;
  /** After a changing operation, its paths; throws when the directory could not follow (then EIO). */
  settle(paths: readonly string[]): void;
}

export interface FuseOpsOptions {
  /** An upper directory on disk that every change is written to as well (upperdir=). */
  upperDir?: UpperDirHooks;
  /** Told of an error the engine did not answer with an errno (a bug, or a layer's content failing its check): EIO goes to the caller. */
  onInternalError: (op: string, path: string, error: unknown) => void;
  /** Told of a call refused because the binding cannot carry it exactly (EOPNOTSUPP goes to the caller). */
  onUnsupported: (op: string, path: string, why: string) => void;
}

/** The errno of a failed call: the engine's own, or EIO for anything that is not one (reported). */
function errnoOf(e: unknown, op: string, path: string, opts: FuseOpsOptions): number {
  const code = (e as { code?: unknown } | null)?.code;
  // OverlayFsError (the facade) and Errno (the engine, for xattrs) both carry the errno's name.
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code) && errnos[code] !== undefined) return -errnos[code]!;
  opts.onInternalError(op, path, e);
  return EIO;
}

/**
 * The engine's inode numbers made the binding's: it carries st_ino in 32 bits, and a lower
 * object's number is 2^32·(layer+2) + its inode in the layer (docs/semantics.md), so cut to 32
 * bits two files of two layers would share one, and tar, cp -a and du would take them for hard
 * links. Each engine inode gets the next number the first time it is seen, for the mount's life.
 */
class InodeNumbers {
  private readonly numbers = new Map<number, number>();

  of(engineIno: number): number {
    let n = this.numbers.get(engineIno);
    if (n === undefined) this.numbers.set(engineIno, (n = this.numbers.size + 1));
    return n;
  }
}

function fuseStat(s: Stats, inodes: InodeNumbers): FuseStat {
  return {
    mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, dev: s.dev, nlink: s.nlink, ino: inodes.of(s.ino), rdev: s.rdev,
    blksize: s.blksize, blocks: s.blocks, atime: s.atimeMs, mtime: s.mtimeMs, ctime: s.ctimeMs,
  };
}

/** The operations table of `ov`. A read-only mount needs no write operation: the kernel refuses those with EROFS first. */
export function fuseOps(ov: Overlay, opts: FuseOpsOptions): Partial<FuseOps> {
  const engine = engineOf(ov);
  const inodes = new InodeNumbers();
  const stat = (s: Stats) => fuseStat(s, inodes);
  const disk = opts.upperDir;
  /**
   * Runs `fn`; its value goes to `ok`, a thrown error to `cb` as a negative errno. With
   * `changes`, the paths a changing call touched, the upper directory on disk is settled
   * after it, whether it succeeded or not (a failed rename may have copied up first).
   */
  const call = <T>(op: string, path: string, cb: (err: number) => void, fn: () => T, ok: (v: T) => void = () => cb(0), changes?: readonly string[]) => {
    let v: T;
    let failed: number | undefined;
    try {
      v = fn();
    } catch (e) {
      failed = errnoOf(e, op, path, opts);
    }
    if (disk && changes) {
      try {
        disk.settle(changes);
      } catch (e) {
        return cb(errnoOf(e, op, path, opts));
      }
    }
    if (failed !== undefined) return cb(failed);
    ok(v!);
  };
  /** A changing call: `paths` settled in the upper directory after it. */
  const change = (op: string, paths: readonly string[], cb: (err: number) => void, fn: () => void) => call(op, paths[0]!, cb, fn, () => cb(0), paths);
  const bytes = (op: string, path: string, cb: (n: number) => void, fn: () => number) => call(op, path, cb, fn, (n) => cb(n));

  return {
    getattr: (path, cb) => call('getattr', path, cb, () => stat(ov.lstatSync(path)), (st) => cb(0, st)),
    fgetattr: (path, fd, cb) => call('fgetattr', path, cb, () => stat(ov.fstatSync(fd)), (st) => cb(0, st)),
    readdir: (path, cb) =>
      call('readdir', path, cb, () => {
        const names = ['.', '..', ...ov.readdirSync(path)];
        const stats = names.map((n) => stat(ov.lstatSync(n === '.' ? path : n === '..' ? posix.dirname(path) : posix.join(path, n))));
        return { names, stats };
      }, ({ names, stats }) => cb(0, names, stats)),
    readlink: (path, cb) => call('readlink', path, cb, () => ov.readlinkSync(path), (t) => cb(0, t)),
    statfs: (path, cb) =>
      call('statfs', path, cb, () => ov.statfsSync(path), (s): void => {
        const st: FuseStatfs = { bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, favail: s.ffree, fsid: 0, flag: 0, namemax: 255 };
        cb(0, st);
      }),
    // The kernel has taken O_CREAT, O_EXCL and O_TRUNC (a truncate follows as setattr) and
    // places every write, O_APPEND's at the end included: only the access mode is the file's.
    open: (path, flags, cb) => {
      const writing = (flags & O_ACCMODE) !== O_RDONLY;
      call('open', path, cb, () => {
        const fd = ov.openSync(path, flags & O_ACCMODE);
        if (writing) disk?.opened(fd, path);
        return fd;
      }, (fd) => cb(0, fd), writing ? [path] : undefined);
    },
    create: (path, mode, cb) =>
      call('create', path, cb, () => {
        const fd = ov.openSync(path, O_CREAT | O_RDWR, mode & 0o7777);
        disk?.opened(fd, path);
        return fd;
      }, (fd) => cb(0, fd), [path]),
    read: (path, fd, buf, len, pos, cb) => bytes('read', path, cb, () => ov.readSync(fd, buf, 0, len, pos)),
    write: (path, fd, buf, len, pos, cb) =>
      call('write', path, cb, () => {
        const n = ov.writeSync(fd, buf, 0, len, pos);
        disk?.wrote(fd, path, buf, n, pos);
        return n;
      }, (n) => cb(n), [path]),
    release: (path, fd, cb) =>
      call('release', path, cb, () => {
        disk?.released(fd);
        ov.closeSync(fd);
      }),
    flush: (_path, _fd, cb) => cb(0),
    // Without an upper directory memory is the upper layer: nothing to sync. With one, the
    // disk file or directory is synced, as ovl_fsync syncs the upper's.
    fsync: (path, datasync, fd, cb) => call('fsync', path, cb, () => disk?.synced(fd, path, Boolean(datasync))),
    fsyncdir: (path, datasync, _fd, cb) => call('fsyncdir', path, cb, () => disk?.synced(undefined, path, Boolean(datasync))),
    truncate: (path, size, cb) =>
      change('truncate', [path], cb, () => {
        ov.truncateSync(path, size);
        disk?.truncated(undefined, path, size);
      }),
    ftruncate: (path, fd, size, cb) =>
      change('ftruncate', [path], cb, () => {
        ov.ftruncateSync(fd, size);
        disk?.truncated(fd, path, size);
      }),
    // The binding hands over tv[0] twice (its fuse-native.c passes l->atime in both places,
    // sagemathinc/fuse-native#3), and the kernel sends UTIME_NOW as the current time, so the
    // mtime asked for is never known: refused, never guessed (docs/mount.md).
    utimens: (path, atime, _atimeAgain, cb) => {
      opts.onUnsupported('utimens', path, `the FUSE binding does not pass the mtime (docs/mount.md); atime ${new Date(atime).toISOString()} was given`);
      cb(ENOTSUP);
    },
    chmod: (path, mode, cb) => change('chmod', [path], cb, () => ov.chmodSync(path, mode & 0o7777)),
    chown: (path, uid, gid, cb) => change('chown', [path], cb, () => ov.lchownSync(path, uid, gid)),
    mknod: (path, mode, rdev, cb) =>
      change('mknod', [path], cb, () => {
        const type = mode & S_IFMT;
        if (type === S_IFREG) return ov.closeSync(ov.openSync(path, 'wx', mode & 0o7777));
        const kind = type === S_IFCHR ? 'char' : type === S_IFBLK ? 'block' : type === S_IFIFO ? 'fifo' : undefined;
        // A socket has no form in a layer (OCI image-layer: regular, dir, link, symlink, devices, FIFO).
        if (!kind) throw Object.assign(new Error('EOPNOTSUPP'), { code: 'EOPNOTSUPP' });
        ov.mknodSync(path, kind, mode & 0o7777, rdev);
      }),
    mkdir: (path, mode, cb) => change('mkdir', [path], cb, () => ov.mkdirSync(path, mode & 0o7777)),
    unlink: (path, cb) => change('unlink', [path], cb, () => ov.unlinkSync(path)),
    rmdir: (path, cb) => change('rmdir', [path], cb, () => ov.rmdirSync(path)),
    rename: (from, to, cb) => change('rename', [from, to], cb, () => ov.renameSync(from, to)),
    link: (existing, path, cb) => change('link', [path, existing], cb, () => ov.linkSync(existing, path)),
    symlink: (target, path, cb) => change('symlink', [path], cb, () => ov.symlinkSync(target, path)),
    getxattr: (path, name, _position, cb) =>
      call('getxattr', path, cb, () => (name.startsWith(PRIVATE_XATTR) ? undefined : engine.xattrs(engine.lookup(path, false)).get(name)), (v) => (v ? cb(0, v) : cb(ENODATA))),
    listxattr: (path, cb) => call('listxattr', path, cb, () => [...engine.xattrs(engine.lookup(path, false)).keys()].filter((n) => !n.startsWith(PRIVATE_XATTR)), (names) => cb(0, names)),
    // `position` is 0 on Linux (a macOS resource-fork offset); the value is the whole attribute.
    setxattr: (path, name, value, _size, flags, cb) => change('setxattr', [path], cb, () => engine.setXattr(engine.lookup(path, false), name, Buffer.from(value), flags)),
    removexattr: (path, name, cb) => change('removexattr', [path], cb, () => engine.setXattr(engine.lookup(path, false), name, null, 0)),
  };
}

/** The operations a read-only mount serves (MS_RDONLY: the kernel never asks for the others). */
export const READ_ONLY_OPS = ['getattr', 'fgetattr', 'readdir', 'readlink', 'statfs', 'open', 'read', 'release', 'flush', 'fsync', 'fsyncdir', 'getxattr', 'listxattr'] as const;
