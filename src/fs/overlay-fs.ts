// Over 300 lines: the sync half of Node's fs surface is one class, a method per call, most with
// Node's overloads; each method only checks its arguments, calls overlay/ and shapes the result.
import { EventEmitter } from 'node:events';
import type { NonSharedBuffer } from 'node:buffer';
import type { ReadStream, WriteStream } from 'node:fs';
import type { Volume } from 'memfs';
import type { Layer } from '../layer/layer.js';
import type { EntryType } from '../layer/entry.js';
import { OverlayEngine, type OverlayEvent } from '../overlay/engine.js';
import type { Obj } from '../overlay/resolve.js';
import { whereIs, type Provenance } from '../overlay/provenance.js';
import { stackView, type StackView } from '../overlay/stack-view.js';
import { SystemError, asNodeError } from './errors.js';
import { Errno } from '../overlay/errno.js';
import { pathArg, encodeName, viewBytes, type PathLike, type TimeLike, type EncodingOption } from './args.js';
import { RM_DEFAULTS, bindingMode, bindingOffset, mkdirOptions, readArgs, rmdirOptions, writeArgs } from './call-args.js';
import { getOptions, isInt32, parseFileMode, stringToFlags, unixTimestamp, validateBoolean, validateInteger, validatedFd } from './validators.js';
import { checkFitsOneBuffer, invalidArgType, invalidArgValue } from './node-errors.js';
import { FileTable } from './file-table.js';
import { Stats, BigIntStats, Dirent } from './stats.js';
import { nodeRealpath, realpath3, resolveFromCwd } from './realpath.js';
import { readdirRecursive } from './readdir-recursive.js';
import { overlayReadStream, overlayWriteStream, type ReadStreamOptions, type WriteStreamOptions } from './stream-fs.js';
import { asText } from '../util/names.js';
import { storedTimeMs } from '../overlay/file-times.js';
import { removeTree } from '../overlay/remove-tree.js';
import { makeDirs } from '../overlay/make-dirs.js';
import { accessAt, linkAt, mkdirAt, mknodAt, renameAt, rmdirAt, symlinkAt, unlinkAt } from '../overlay/syscalls.js';
import { followCopyUp, openFile, readFrom, readRest, truncateTo, writeTo, type OpenFile } from '../overlay/open-file.js';
import { copyFile } from '../overlay/copy-file.js';
import { makePromises, type OverlayPromises } from './promises.js';
import { makeNodeFs, type OverlayNodeFs } from './node-fs.js';
import { randomBytes } from 'node:crypto';
import type { AttrChange } from '../overlay/inode.js';
import { fail } from '../overlay/errno.js';
import { fromBytes } from '../util/names.js';
import { Dir, type DirSource, type DirStream } from './dir.js';
import { cpOptions, cpPath, cpSync } from './cp.js';
import { StatFs } from './statfs.js';
import { FSWatcher, Inotify, watch } from './watch.js';
import { StatWatcher } from './stat-watcher.js';
import { SURFACE, validateBufferArray, type BigIntStatsListener, type CopySyncOptions, type Mode, type OpenDirOptions, type RealpathSync, type StatFsOptions, type StatsListener, type SurfaceInternals, type WatchFileOptions, type WatchListener, type WatchOptions, type BufferEncodingOption, type NodeEncodingOption } from './surface-types.js';

type StatOptions = { bigint?: boolean; throwIfNoEntry?: boolean };
// The overloads below are @types/node's (node-fs.ts holds them to it with `satisfies`).
type ObjectEncoding = { encoding?: BufferEncoding | null };
type TextEncodingOption = ObjectEncoding | BufferEncoding | null | undefined;

export interface OverlayOptions {
  /** Read-only layers in image order: bottom first, as an OCI manifest lists them (the kernel's `lowerdir=` lists the top first). */
  lower: readonly Layer[];
  /** The writable layer; a fresh memfs Volume by default. It must only be changed through the overlay. */
  upper?: Volume;
  /** Behave as the kernel with `redirect_dir=on`: merged directories can be renamed. */
  redirectDir?: boolean;
  /** Owner of new objects (the caller's fsuid/fsgid); 0:0 by default, as root in a container. */
  uid?: number;
  gid?: number;
  /** Applied to the mode of new objects; 0o022 by default. */
  umask?: number;
  /**
   * The working directory relative paths start from, as a process's cwd: an absolute path,
   * `/` by default. It is looked up (symlinks followed) when a relative path is used, so it
   * need not exist before then; a relative call fails ENOENT while it is not there.
   */
  cwd?: PathLike;
}

export interface OverlayEventMap {
  'copy-up': [Extract<OverlayEvent, { type: 'copy-up' }>];
  whiteout: [Extract<OverlayEvent, { type: 'whiteout' }>];
  opaque: [Extract<OverlayEvent, { type: 'opaque' }>];
  redirect: [Extract<OverlayEvent, { type: 'redirect' }>];
}

let nextDev = 0x4c46_0000;

/**
 * The key of the overlay tier beneath a facade (src/overlay/engine.ts). The package's own
 * modules (export, saveImage, the CLI's analysis, the teaching page) reach it through
 * engineOf; src/index.ts exports neither, so it is not part of the API.
 */
export const ENGINE: unique symbol = Symbol('layerfs.engine');

/** The overlay tier of an OverlayFs, for the package's own modules. */
export function engineOf(ov: OverlayFs): OverlayEngine {
  return ov[ENGINE];
}

/**
 * An overlay filesystem in memory: read-only lower layers, a writable memfs upper layer, and
 * the merged view behind an API shaped like Node's `fs` (sync methods here, `promises` for
 * the async set). Semantics are the kernel's overlayfs; see docs/semantics.md. Writing the
 * result out (commit, exportTar, exportDir) is export/overlay.ts's Overlay, which extends
 * this class: the teaching page's browser bundle uses this one and carries no writer.
 */
export class OverlayFs extends EventEmitter<OverlayEventMap> {
  readonly [ENGINE]: OverlayEngine;
  readonly promises: OverlayPromises;
  private readonly files = new FileTable();
  private readonly dev = nextDev++;
  private readonly uid: number;
  private readonly gid: number;
  private readonly umask: number;

  constructor(options: OverlayOptions) {
    super();
    this[ENGINE] = new OverlayEngine({
      lower: options.lower,
      ...(options.upper ? { upper: options.upper } : {}),
      redirectDir: options.redirectDir ?? false,
      emit: (event) => this.emit(event.type, event as never),
      cwd: cwdOption(options.cwd),
      watchers: this.inotify,
    });
    this.uid = options.uid ?? 0;
    this.gid = options.gid ?? 0;
    this.umask = options.umask ?? 0o022;
    this.promises = makePromises({ ov: this, meta: (mode) => this.newMeta(mode), umask: this.umask });
  }

  #nodeFs: OverlayNodeFs | undefined;

  /**
   * The overlay as a module shaped like `node:fs` (node-fs.ts), made once: the sync and
   * callback calls, `promises`, `constants`, the classes, every member own, enumerable and
   * bound, for libraries that take an `fs` and copy or destructure it.
   */
  get fs(): OverlayNodeFs {
    return (this.#nodeFs ??= makeNodeFs(this));
  }

  /** The upper layer's Volume, in OCI changeset form (`.wh.` whiteouts, `.wh..wh..opq` markers). */
  get upper(): Volume {
    return this[ENGINE].upper.volume;
  }

  /** Which layer provides a path, and what it shadows (the final symlink is not followed). */
  whereIs(path: PathLike): Provenance {
    const p = pathArg(path);
    return this.call('lstat', p, undefined, () => whereIs(this[ENGINE], p));
  }

  /** The stack as a textbook draws it for one directory: each layer's entries, top first, and the merged result. */
  stackView(path: PathLike): StackView {
    const p = pathArg(path);
    return this.call('scandir', p, undefined, () => stackView(this[ENGINE], p));
  }

  // ---- metadata -----------------------------------------------------------------------

  statSync(path: PathLike, options?: undefined): Stats;
  statSync(path: PathLike, options?: StatOptions & { bigint?: false; throwIfNoEntry: false }): Stats | undefined;
  statSync(path: PathLike, options: StatOptions & { bigint: true; throwIfNoEntry: false }): BigIntStats | undefined;
  statSync(path: PathLike, options?: StatOptions & { bigint?: false }): Stats;
  statSync(path: PathLike, options: StatOptions & { bigint: true }): BigIntStats;
  statSync(path: PathLike, options: StatOptions & { bigint: boolean; throwIfNoEntry?: false }): Stats | BigIntStats;
  statSync(path: PathLike, options?: StatOptions): Stats | BigIntStats | undefined;
  statSync(path: PathLike, options: StatOptions = { bigint: false, throwIfNoEntry: true }): Stats | BigIntStats | undefined {
    return this.statImpl('stat', path, true, options);
  }

  lstatSync(path: PathLike, options?: undefined): Stats;
  lstatSync(path: PathLike, options?: StatOptions & { bigint?: false; throwIfNoEntry: false }): Stats | undefined;
  lstatSync(path: PathLike, options: StatOptions & { bigint: true; throwIfNoEntry: false }): BigIntStats | undefined;
  lstatSync(path: PathLike, options?: StatOptions & { bigint?: false }): Stats;
  lstatSync(path: PathLike, options: StatOptions & { bigint: true }): BigIntStats;
  lstatSync(path: PathLike, options: StatOptions & { bigint: boolean; throwIfNoEntry?: false }): Stats | BigIntStats;
  lstatSync(path: PathLike, options?: StatOptions): Stats | BigIntStats | undefined;
  lstatSync(path: PathLike, options: StatOptions = { bigint: false, throwIfNoEntry: true }): Stats | BigIntStats | undefined {
    return this.statImpl('lstat', path, false, options);
  }

  private statImpl(syscall: string, path: unknown, follow: boolean, options: StatOptions): Stats | BigIntStats | undefined {
    const p = pathArg(path);
    // As Node's binding reads them: only `true` asks for BigInts, only `false` for no throw.
    const big = options.bigint === true;
    const quiet = options.throwIfNoEntry === false;
    return this.call(syscall, p, undefined, () => {
      // A missing last name is an answer here, not an error: resolve says so without the
      // throw that lookup's ENOENT costs. A missing parent is the walk's ENOENT, which `call`
      // makes quiet; other errnos, ENOTDIR included, throw, as Node's.
      const { obj } = this[ENGINE].resolve(p, follow);
      if (obj) return this.statsOf(obj, big);
      return quiet ? undefined : this.statsOf(this[ENGINE].lookup(p, follow), big);
    }, quiet);
  }

  private statsOf(obj: Obj, big: boolean): Stats | BigIntStats {
    const info = this[ENGINE].info(obj);
    return big ? new BigIntStats(info, this.dev) : new Stats(info, this.dev);
  }

  /** Never throws, as Node's: an argument Node refuses, or any failure of the lookup, is false. */
  existsSync(path: PathLike): boolean {
    try {
      return this[ENGINE].resolve(pathArg(path), true).obj !== undefined;
    } catch {
      return false;
    }
  }

  /** access(2) as root (overlay/syscalls.ts, accessAt). */
  accessSync(path: PathLike, mode?: number): void {
    const p = pathArg(path);
    const m = bindingMode(mode, 7);
    this.call('access', p, undefined, () => accessAt(this[ENGINE], p, m));
  }

  readlinkSync(path: PathLike, options?: TextEncodingOption): string;
  readlinkSync(path: PathLike, options: BufferEncodingOption): NonSharedBuffer;
  readlinkSync(path: PathLike, options?: TextEncodingOption): string | NonSharedBuffer;
  readlinkSync(path: PathLike, options?: unknown): string | Buffer {
    const o = getOptions(options);
    const p = pathArg(path, 'oldPath');
    return this.call('readlink', p, undefined, () => encodeName(this[ENGINE].readlink(this[ENGINE].lookup(p, false)), o.encoding));
  }

  /**
   * Node's own algorithm (realpath.ts): lstat by lstat, the failing step named;
   * `realpathSync.native` is realpath(3), its errors named `realpath`.
   */
  readonly realpathSync: RealpathSync = Object.assign(
    (path: PathLike, options?: unknown): string | Buffer => {
      const o = getOptions(options);
      // Node makes anything but a URL a string (`p += ''`) before checking it: a Buffer is
      // decoded as UTF-8, a number becomes its digits.
      const given = path instanceof URL ? path : Buffer.isBuffer(path) ? path.toString() : String(path);
      const p = pathArg(given);
      const resolved = this.call('lstat', p, undefined, () => nodeRealpath(this[ENGINE], p));
      const enc = o.encoding;
      if (!enc || enc === 'utf8') return resolved;
      return enc === 'buffer' ? Buffer.from(resolved) : Buffer.from(resolved).toString(enc as BufferEncoding);
    },
    {
      native: (path: PathLike, options?: unknown): string | Buffer => {
        const o = getOptions(options);
        const p = pathArg(path);
        return encodeName(this.call('realpath', p, undefined, () => realpath3(this[ENGINE], p)), o.encoding);
      },
    },
  ) as RealpathSync;

  readdirSync(path: PathLike, options?: { encoding: BufferEncoding | null; withFileTypes?: false; recursive?: boolean } | BufferEncoding | null): string[];
  readdirSync(path: PathLike, options: { encoding: 'buffer'; withFileTypes?: false; recursive?: boolean } | 'buffer'): NonSharedBuffer[];
  readdirSync(path: PathLike, options?: (ObjectEncoding & { withFileTypes?: false; recursive?: boolean }) | BufferEncoding | null): string[] | NonSharedBuffer[];
  readdirSync(path: PathLike, options: ObjectEncoding & { withFileTypes: true; recursive?: boolean }): Dirent[];
  readdirSync(path: PathLike, options: { encoding: 'buffer'; withFileTypes: true; recursive?: boolean }): Array<Dirent<NonSharedBuffer>>;
  readdirSync(path: PathLike, options?: unknown): Array<string | Buffer | Dirent<string | Buffer>> {
    const o = getOptions(options);
    const p = pathArg(path);
    if (o.recursive !== undefined && o.recursive !== null) validateBoolean(o.recursive, 'options.recursive');
    const given = path instanceof Uint8Array ? path : p;
    return this.call('scandir', p, undefined, () => {
      if (o.recursive) return readdirRecursive(this[ENGINE], given, { encoding: o.encoding, withFileTypes: Boolean(o.withFileTypes), order: 'breadth' });
      const dir = this[ENGINE].lookup(p, true);
      const names = this[ENGINE].list(dir);
      if (!o.withFileTypes) return names.map((n) => encodeName(n, o.encoding));
      const parent = typeof given === 'string' ? asText(given) : given;
      return names.map((n) => new Dirent(encodeName(n, o.encoding), parent, this[ENGINE].info(this[ENGINE].child(dir, n)!).mode));
    });
  }

  chmodSync(path: PathLike, mode: number | string): void {
    const p = pathArg(path);
    const m = parseFileMode(mode, 'mode');
    this.call('chmod', p, undefined, () => this[ENGINE].setAttributes(this[ENGINE].lookup(p, true), { mode: m & 0o7777 }));
  }

  chownSync(path: PathLike, uid: number, gid: number): void {
    this.chownImpl('chown', path, uid, gid, true);
  }

  lchownSync(path: PathLike, uid: number, gid: number): void {
    this.chownImpl('lchown', path, uid, gid, false);
  }

  private chownImpl(syscall: string, path: unknown, uid: unknown, gid: unknown, follow: boolean): void {
    const p = pathArg(path);
    validateInteger(uid, 'uid', -1, 2 ** 32 - 1);
    validateInteger(gid, 'gid', -1, 2 ** 32 - 1);
    this.call(syscall, p, undefined, () => this[ENGINE].setAttributes(this[ENGINE].lookup(p, follow), { uid, gid }));
  }

  utimesSync(path: PathLike, atime: TimeLike, mtime: TimeLike): void {
    this.utimesImpl('utime', path, atime, mtime, true);
  }

  lutimesSync(path: PathLike, atime: TimeLike, mtime: TimeLike): void {
    this.utimesImpl('lutime', path, atime, mtime, false);
  }

  private utimesImpl(syscall: string, path: unknown, atime: unknown, mtime: unknown, follow: boolean): void {
    const p = pathArg(path);
    const a = unixTimestamp(atime);
    const m = unixTimestamp(mtime);
    this.call(syscall, p, undefined, () => {
      const times = { atimeMs: storedTimeMs(a), mtimeMs: storedTimeMs(m) };
      this[ENGINE].setAttributes(this[ENGINE].lookup(p, follow), times);
    });
  }

  // ---- namespace ----------------------------------------------------------------------

  mkdirSync(path: PathLike, options: { recursive: true; mode?: number | string }): string | undefined;
  mkdirSync(path: PathLike, options?: number | string | { recursive?: false; mode?: number | string } | null): void;
  mkdirSync(path: PathLike, options?: number | string | { recursive?: boolean; mode?: number | string } | null): string | undefined;
  mkdirSync(path: PathLike, options?: number | string | { recursive?: boolean; mode?: number | string } | null): string | undefined {
    const { mode, recursive } = mkdirOptions(options);
    const p = pathArg(path);
    validateBoolean(recursive, 'options.recursive');
    const m = parseFileMode(mode, 'mode') & ~this.umask;
    return this.call('mkdir', p, undefined, () => {
      if (!recursive) {
        mkdirAt(this[ENGINE], p, this.newMeta(m));
        return undefined;
      }
      const first = makeDirs(this[ENGINE], p, () => this.newMeta(m));
      return first === undefined ? undefined : asText(first);
    });
  }

  rmdirSync(path: PathLike, options?: { recursive?: boolean; maxRetries?: number; retryDelay?: number }): void {
    const p = pathArg(path);
    if ((options as { recursive?: unknown } | undefined)?.recursive) {
      // Node's deprecated recursive rmdir: rm -r, but only of a directory.
      const o = this.rmOptions(p, { ...options, force: false }, true);
      if (o) return this.call('rm', p, undefined, () => removeTree(this[ENGINE], p));
    } else {
      rmdirOptions(options);
    }
    this.call('rmdir', p, undefined, () => rmdirAt(this[ENGINE], p));
  }

  unlinkSync(path: PathLike): void {
    const p = pathArg(path);
    this.call('unlink', p, undefined, () => unlinkAt(this[ENGINE], p));
  }

  /** As Node's rmSync: options checked, the path lstat'ed (a directory needs `recursive`), then rm -r (remove-tree.ts). */
  rmSync(path: PathLike, options?: { recursive?: boolean; force?: boolean; maxRetries?: number; retryDelay?: number }): void {
    const p = pathArg(path);
    this.rmOptions(p, options, false);
    this.call('rm', p, undefined, () => removeTree(this[ENGINE], p));
  }

  /** validateRmOptionsSync: false when a directory was expected and something else is there. */
  private rmOptions(p: string, options: unknown, expectDir: boolean): Record<string, unknown> | false {
    const o = rmdirOptions(options, RM_DEFAULTS);
    validateBoolean(o.force, 'options.force');
    if (!o.force || expectDir || !o.recursive) {
      const isDir = this.lstatSync(p, { throwIfNoEntry: !o.force })?.isDirectory();
      if (expectDir && !isDir) return false;
      if (isDir && !o.recursive) throw new SystemError('ERR_FS_EISDIR', 'Path is a directory', { code: 'EISDIR', message: 'is a directory', path: asText(p), syscall: 'rm' });
    }
    return o;
  }

  renameSync(oldPath: PathLike, newPath: PathLike): void {
    const from = pathArg(oldPath, 'oldPath');
    const to = pathArg(newPath, 'newPath');
    this.call('rename', from, to, () => renameAt(this[ENGINE], from, to));
  }

  linkSync(existingPath: PathLike, newPath: PathLike): void {
    const from = pathArg(existingPath, 'existingPath');
    const to = pathArg(newPath, 'newPath');
    this.call('link', from, to, () => linkAt(this[ENGINE], from, to));
  }

  /** `type` only matters on Windows, but Node checks it everywhere (stringToSymlinkType). */
  symlinkSync(target: PathLike, path: PathLike, type?: string | null): void {
    const t = pathArg(target, 'target');
    const p = pathArg(path);
    symlinkType(type);
    this.call('symlink', t, p, () => symlinkAt(this[ENGINE], t, p, this.newMeta(0o777, true)));
  }

  /** mknod(2) for the types a layer can hold (devices need the caller to be root, as here). */
  mknodSync(path: PathLike, type: Extract<EntryType, 'char' | 'block' | 'fifo'>, mode: number, rdev = 0): void {
    const p = pathArg(path);
    this.call('mknod', p, undefined, () => mknodAt(this[ENGINE], p, type, this.newMeta(mode & ~this.umask), rdev));
  }

  private newMeta(mode: number, keepMode = false) {
    const now = Date.now();
    return { mode: keepMode ? mode : mode & 0o7777, uid: this.uid, gid: this.gid, mtimeMs: now, atimeMs: now };
  }

  /** The metadata of a file open(2) or copyFile creates: the caller's owner, the umask applied. */
  private readonly newFileMeta = (mode: number) => this.newMeta(mode & ~this.umask);

  // ---- content ------------------------------------------------------------------------

  readFileSync(path: PathLike | number, options?: { encoding?: null; flag?: string | number } | null): NonSharedBuffer;
  readFileSync(path: PathLike | number, options: { encoding: BufferEncoding; flag?: string | number } | BufferEncoding): string;
  readFileSync(path: PathLike | number, options?: (ObjectEncoding & { flag?: string | number }) | BufferEncoding | null): string | NonSharedBuffer;
  readFileSync(path: PathLike | number, options?: EncodingOption): string | Buffer;
  readFileSync(path: PathLike | number, options?: unknown): string | Buffer {
    const o = getOptions(options, { flag: 'r' });
    const utf8 = o.encoding === 'utf8' || o.encoding === 'utf-8';
    // Node's UTF-8 path validates the path and flags and does the rest in C++; the other
    // opens with openSync, so its argument errors come in openSync's order.
    let fd: number;
    const ownFd = !isInt32(path);
    if (utf8) {
      const p = ownFd ? pathArg(path) : undefined;
      const flags = stringToFlags(o.flag);
      fd = p === undefined ? validatedFd(path, 'fd', true) : this.call('open', p, undefined, () => this.openAt(p, flags, 0o666));
    } else {
      fd = ownFd ? this.openSync(path as PathLike, o.flag as string, 0o666) : validatedFd(path, 'fd', true);
    }
    let data: Buffer;
    try {
      // Node's UTF-8 reader reads at once; the other fstat's the descriptor first.
      const file = this.call(utf8 ? 'read' : 'fstat', undefined, undefined, () => this.files.get(fd));
      data = this.call('read', undefined, undefined, () => readWhole(file));
    } finally {
      if (ownFd) this.closeSync(fd);
    }
    return o.encoding ? data.toString(o.encoding as BufferEncoding) : data;
  }

  writeFileSync(path: PathLike | number, data: string | NodeJS.ArrayBufferView, options?: EncodingOption): void {
    this.writeAll(path, data, getOptions(options, { encoding: 'utf8', mode: 0o666, flag: 'w', flush: false }));
  }

  appendFileSync(path: PathLike | number, data: string | NodeJS.ArrayBufferView, options?: EncodingOption): void {
    const given: Record<string, unknown> = getOptions(options, { encoding: 'utf8', mode: 0o666, flag: 'a' });
    // Node copies the options (for...in) and forces 'a' when none is given or for a descriptor.
    const o: Record<string, unknown> = {};
    for (const k in given) o[k] = given[k];
    if (!o.flag || isInt32(path)) o.flag = 'a';
    this.writeAll(path, data, o);
  }

  /** writeFileSync after getOptions, in Node's order (its UTF-8 string path, or open and write). */
  private writeAll(path: unknown, data: unknown, o: Record<string, unknown>): void {
    const flush = o.flush ?? false;
    validateBoolean(flush, 'options.flush');
    const flag = (o.flag || 'w') as string;
    let bytes: Buffer;
    let fd: number;
    const ownFd = !isInt32(path);
    if (typeof data === 'string' && (o.encoding === 'utf8' || o.encoding === 'utf-8')) {
      const p = ownFd ? pathArg(path) : undefined;
      const flags = stringToFlags(flag);
      const mode = parseFileMode(o.mode, 'mode', 0o666);
      bytes = Buffer.from(data, 'utf8');
      fd = p === undefined ? (path as number) : this.call('open', p, undefined, () => this.openAt(p, flags, mode));
    } else {
      if (!ArrayBuffer.isView(data)) {
        if (typeof data !== 'string') throw invalidArgType('data', ['string', 'Buffer', 'TypedArray', 'DataView'], data);
        bytes = Buffer.from(data, (o.encoding || 'utf8') as BufferEncoding);
      } else bytes = viewBytes(data as NodeJS.ArrayBufferView);
      fd = ownFd ? this.openSync(path as PathLike, flag, o.mode as number) : (path as number);
    }
    try {
      let offset = 0;
      while (offset < bytes.length) offset += this.writeSync(fd, bytes, offset, bytes.length - offset);
      if (flush) this.fsyncSync(fd);
    } finally {
      if (ownFd) this.closeSync(fd);
    }
  }

  /** Node's truncateSync: open 'r+' (so a lower file is copied up), then ftruncate. */
  truncateSync(path: PathLike | number, len?: number): void {
    if (typeof path === 'number') return this.ftruncateSync(path, len);
    const fd = this.openSync(path, 'r+');
    try {
      this.ftruncateSync(fd, len === undefined ? 0 : len);
    } finally {
      this.closeSync(fd);
    }
  }

  /** libuv's uv_fs_copyfile on the overlay's calls (overlay/copy-file.ts). */
  copyFileSync(src: PathLike, dest: PathLike, mode?: number): void {
    const from = pathArg(src, 'src');
    const to = pathArg(dest, 'dest');
    const m = bindingMode(mode, 7);
    this.call('copyfile', from, to, () => copyFile(this[ENGINE], from, to, m, this.newFileMeta));
  }

  // ---- descriptors --------------------------------------------------------------------

  openSync(path: PathLike, flags?: string | number | null, mode?: number | string | null): number {
    const p = pathArg(path);
    const f = stringToFlags(flags);
    const m = parseFileMode(mode, 'mode', 0o666);
    return this.call('open', p, undefined, () => this.openAt(p, f, m));
  }

  /** open(2) on the overlay (overlay/open-file.ts): a descriptor, or an errno. */
  private openAt(p: string, f: number, mode: number): number {
    return this.files.add(openFile(this[ENGINE], p, f, mode, this.newFileMeta));
  }

  closeSync(fd: number): void {
    const n = validatedFd(fd, 'fd', true);
    this.call('close', undefined, undefined, () => this.files.close(n));
  }

  fstatSync(fd: number, options?: { bigint?: false }): Stats;
  fstatSync(fd: number, options: { bigint: true }): BigIntStats;
  fstatSync(fd: number, options?: { bigint?: boolean }): Stats | BigIntStats;
  fstatSync(fd: number, options: { bigint?: boolean } = { bigint: false }): Stats | BigIntStats {
    const n = validatedFd(fd, 'fd', true);
    const big = options.bigint === true;
    return this.call('fstat', undefined, undefined, () => {
      const info = this.files.get(n).info();
      return big ? new BigIntStats(info, this.dev) : new Stats(info, this.dev);
    });
  }

  /** Node's readSync: `(fd, buffer, offset?, length?, position?)` or `(fd, buffer, options?)`; position -1 or null reads at the descriptor's position. */
  readSync(fd: number, buffer: NodeJS.ArrayBufferView, ...rest: [offset?: number | { offset?: number; length?: number; position?: number | bigint | null } | null, length?: number, position?: number | bigint | null]): number {
    const n = validatedFd(fd);
    const args = readArgs(buffer, rest);
    if (!args) return 0;
    const { offset, length: len, position } = args;
    return this.call('read', undefined, undefined, () => {
      const target = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      // A negative position (BigInts may be) reads at the descriptor's position, as read(2) does for libuv.
      return readFrom(this.files.get(n), target, offset, len, position);
    });
  }

  /** Node's writeSync: `(fd, buffer, offset?, length?, position?)`, `(fd, buffer, options)` or `(fd, string, position?, encoding?)`. */
  writeSync(fd: number, buffer: NodeJS.ArrayBufferView, offset?: number | null, length?: number | null, position?: number | null): number;
  writeSync(fd: number, string: string, position?: number | null, encoding?: BufferEncoding | null): number;
  writeSync(fd: number, data: string | NodeJS.ArrayBufferView, options?: { offset?: number; length?: number; position?: number | null }): number;
  writeSync(fd: number, data: string | NodeJS.ArrayBufferView, ...rest: [offsetOrPosition?: number | null | { offset?: number; length?: number; position?: number | null }, lengthOrEncoding?: number | BufferEncoding | null, position?: number | null]): number {
    const n = validatedFd(fd);
    const { data: buf, position } = writeArgs(data, rest);
    return this.call('write', undefined, undefined, () => writeTo(this.files.get(n), buf, position));
  }

  /** Node's ftruncateSync: the length checked (a negative one is 0) before the descriptor. */
  ftruncateSync(fd: number, len: number = 0): void {
    validateInteger(len, 'len');
    const size = Math.max(0, len);
    const n = validatedFd(fd, 'fd', true);
    this.call('ftruncate', undefined, undefined, () => truncateTo(this.files.get(n), size));
  }

  fsyncSync(fd: number): void {
    const n = validatedFd(fd, 'fd', true);
    this.call('fsync', undefined, undefined, () => void this.files.get(n));
  }

  /**
   * Node's own fs.ReadStream over this overlay (stream-fs.ts): Node's option checks, an open
   * error as an 'error' event; `fd` may be an overlay descriptor or an overlay FileHandle.
   */
  createReadStream(path: PathLike, options?: BufferEncoding | ReadStreamOptions): ReadStream {
    return overlayReadStream(this, path, options);
  }

  createWriteStream(path: PathLike, options?: BufferEncoding | WriteStreamOptions): WriteStream {
    return overlayWriteStream(this, path, options);
  }


  // ---- the rest of Node's fs surface (dir.ts, cp.ts, statfs.ts, watch.ts) -------------

  /** The overlay's inotify instance (watch.ts); told of every change by the engine. */
  private readonly inotify = new Inotify();
  /** watchFile's StatWatchers by resolved path, as Node keeps one per file. */
  private readonly statWatchers = new Map<string, StatWatcher>();

  /** Node 20's opendirSync: its errors name `opendir` without the path, as Node 20's do. */
  opendirSync(path: PathLike, options?: OpenDirOptions): Dir {
    return this[SURFACE].opendir(path, options, false);
  }

  /** Node's cpSync (cp.ts): every step through this overlay's own calls. */
  cpSync(source: string | URL, destination: string | URL, opts?: CopySyncOptions): void {
    const o = cpOptions(opts);
    cpSync(this, cpPath(source, 'src'), cpPath(destination, 'dest'), o);
  }

  /** mkdtemp(3): `prefix` and six random characters, made 0700; the name in `options.encoding`. */
  mkdtempSync(prefix: string, options?: NodeEncodingOption): string;
  mkdtempSync(prefix: string, options: BufferEncodingOption): NonSharedBuffer;
  mkdtempSync(prefix: string, options?: NodeEncodingOption): string | NonSharedBuffer;
  mkdtempSync(prefix: string, options?: unknown): string | Buffer {
    return this[SURFACE].mkdtemp(prefix, options, false);
  }

  /** readv(2)/preadv(2): the buffers filled in order; a position that is not a safe integer >= 0 reads at the descriptor's (bindingOffset). */
  readvSync(fd: number, buffers: readonly NodeJS.ArrayBufferView[], position?: number | null): number {
    const n = validatedFd(fd);
    validateBufferArray(buffers);
    const at = bindingOffset(position);
    return this.call('read', undefined, undefined, () => {
      // libuv refuses a read into no buffers before it looks at the descriptor.
      if (buffers.length === 0) fail('EINVAL');
      const file = this.files.get(n);
      let total = 0;
      for (const b of buffers) {
        const got = readFrom(file, viewBytes(b), 0, b.byteLength, at < 0 ? -1 : at + total);
        total += got;
        if (got < b.byteLength) break;
      }
      return total;
    });
  }

  /** writev(2)/pwritev(2): no buffers writes nothing (0) without looking at the descriptor, as Node. */
  writevSync(fd: number, buffers: readonly NodeJS.ArrayBufferView[], position?: number | null): number {
    const n = validatedFd(fd);
    validateBufferArray(buffers);
    if (buffers.length === 0) return 0;
    const at = bindingOffset(position);
    return this.call('write', undefined, undefined, () => {
      const file = this.files.get(n);
      let total = 0;
      for (const b of buffers) total += writeTo(file, viewBytes(b), at < 0 ? -1 : at + total);
      return total;
    });
  }

  /** fchmod(2): the mode checked before the descriptor (Node's binding checks it last). */
  fchmodSync(fd: number, mode: Mode): void {
    const m = parseFileMode(mode, 'mode');
    this.onDescriptor('fchmod', fd, { mode: m & 0o7777 });
  }

  fchownSync(fd: number, uid: number, gid: number): void {
    validateInteger(uid, 'uid', -1, 2 ** 32 - 1);
    validateInteger(gid, 'gid', -1, 2 ** 32 - 1);
    this.onDescriptor('fchown', fd, { uid, gid });
  }

  futimesSync(fd: number, atime: TimeLike, mtime: TimeLike): void {
    const a = unixTimestamp(atime, 'atime');
    const m = unixTimestamp(mtime, 'mtime');
    this.onDescriptor('futime', fd, { atimeMs: storedTimeMs(a), mtimeMs: storedTimeMs(m) });
  }

  /** Nothing to flush in memory: the descriptor is checked, as fsyncSync does. */
  fdatasyncSync(fd: number): void {
    const n = validatedFd(fd, 'fd', true);
    this.call('fdatasync', undefined, undefined, () => void this.files.get(n));
  }

  /** An attribute change through a descriptor (ovl_setattr on the open file's object: a lower file is copied up). */
  private onDescriptor(syscall: string, fd: unknown, change: AttrChange): void {
    const n = validatedFd(fd, 'fd', true);
    this.call(syscall, undefined, undefined, () => this[ENGINE].setAttributes(this.files.get(n).obj!, change));
  }

  /** statfs(2) (statfs.ts): the numbers of an in-memory filesystem; the path must resolve. */
  statfsSync(path: PathLike, options?: StatFsOptions & { bigint?: false }): StatFs;
  statfsSync(path: PathLike, options: StatFsOptions & { bigint: true }): StatFs<bigint>;
  statfsSync(path: PathLike, options?: StatFsOptions): StatFs | StatFs<bigint>;
  statfsSync(path: PathLike, options: StatFsOptions = { bigint: false }): StatFs | StatFs<bigint> {
    const p = pathArg(path);
    this.call('statfs', p, undefined, () => this[ENGINE].lookup(p, true));
    return options.bigint ? new StatFs<bigint>(true) : new StatFs<number>(false);
  }

  /** fs.watch (watch.ts): an FSWatcher of this overlay's own changes. */
  watch(filename: PathLike, options: (WatchOptions & { encoding: 'buffer' }) | 'buffer', listener?: WatchListener<NonSharedBuffer>): FSWatcher;
  watch(filename: PathLike, options?: WatchOptions | BufferEncoding | null, listener?: WatchListener<string>): FSWatcher;
  watch(filename: PathLike, options: WatchOptions | string, listener?: WatchListener<string | NonSharedBuffer>): FSWatcher;
  watch(filename: PathLike, listener?: WatchListener<string>): FSWatcher;
  watch(filename: PathLike, options?: unknown, listener?: unknown): FSWatcher {
    const o = typeof options === 'function' ? undefined : getOptions(options);
    return watch(this[SURFACE].watchHost, asText(pathArg(filename)), o, typeof options === 'function' ? options : listener);
  }

  /** fs.watchFile: one StatWatcher per file, polling this overlay's stat every `interval` ms (5007 by default, as Node). */
  watchFile(filename: PathLike, options: WatchFileOptions & { bigint?: false } | undefined, listener: StatsListener): StatWatcher;
  watchFile(filename: PathLike, options: WatchFileOptions & { bigint: true } | undefined, listener: BigIntStatsListener): StatWatcher;
  watchFile(filename: PathLike, listener: StatsListener): StatWatcher;
  watchFile(filename: PathLike, options?: unknown, listener?: unknown): StatWatcher {
    const p = this[SURFACE].resolve(asText(pathArg(filename)));
    if (options === null || typeof options !== 'object') {
      listener = options;
      options = null;
    }
    const o = { interval: 5007, persistent: true, ...(options as object | null) } as { interval: number; persistent: boolean; bigint?: boolean };
    if (typeof listener !== 'function') throw invalidArgType('listener', 'Function', listener);
    let w = this.statWatchers.get(p);
    if (!w) {
      const poll = () => this.statSync(p, { throwIfNoEntry: false });
      w = new StatWatcher(poll, { bigint: Boolean(o.bigint), persistent: o.persistent !== false, interval: o.interval });
      this.statWatchers.set(p, w);
    }
    w.addListener('change', listener as StatsListener);
    return w;
  }

  /** fs.unwatchFile: one listener, or all; the poll stops with the last. */
  unwatchFile(filename: PathLike, listener?: StatsListener | BigIntStatsListener): void {
    const p = this[SURFACE].resolve(asText(pathArg(filename)));
    const w = this.statWatchers.get(p);
    if (!w) return;
    if (typeof listener === 'function') w.removeListener('change', listener);
    else w.removeAllListeners('change');
    if (w.listenerCount('change') === 0) {
      w.stop();
      this.statWatchers.delete(p);
    }
  }

  /** @internal What promises.ts's opendir, mkdtemp and watch share with the sync calls. */
  get [SURFACE](): SurfaceInternals {
    return {
      mkdtemp: (prefix, options, tried) => {
        const o = getOptions(options);
        const p = pathArg(prefix, 'prefix');
        const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
        for (;;) {
          const name = `${p}${Array.from(randomBytes(6), (b) => chars[b % chars.length]).join('')}`;
          try {
            // The sync call's error names the template, the promise's the name it tried (Node 20's binding).
            this.call('mkdtemp', tried ? name : `${p}XXXXXX`, undefined, () => mkdirAt(this[ENGINE], name, this.newMeta(0o700 & ~this.umask)));
            return encodeName(name, o.encoding);
          } catch (e) {
            if ((e as { code?: string }).code !== 'EEXIST') throw e;
          }
        }
      },
      opendir: (path, options, named) => {
        const p = pathArg(path);
        const o = getOptions(options, { encoding: 'utf8' });
        const given = path instanceof URL ? asText(p) : (path as string | Buffer);
        const source: DirSource = { open: (dir, encoding) => this.dirStream(dir, encoding, true) };
        const stream = this.dirStream(given, o.encoding, named);
        return new Dir(source, stream, given, o);
      },
      resolve: (...paths) => resolveFromCwd(this[ENGINE], ...paths),
      watchHost: {
        inotify: this.inotify,
        canonical: (path) => {
          try {
            const obj = this[ENGINE].lookup(path, true);
            return { path: realpath3(this[ENGINE], path), isDir: obj.isDir };
          } catch (e) {
            const err = asNodeError(e, 'watch', path) as Error & { filename?: string };
            err.filename = path;
            throw err;
          }
        },
      },
    };
  }

  /** opendir(3) and readdir(3) on the overlay: the names taken at the open, each typed when its batch is read (a name gone by then is skipped). */
  private dirStream(path: string | Buffer, encoding: unknown, named: boolean): DirStream {
    const p = typeof path === 'string' ? path : fromBytes(path);
    const dir = this.call('opendir', named ? p : undefined, undefined, () => {
      const obj = this[ENGINE].lookup(p, true);
      if (!obj.isDir) fail('ENOTDIR');
      return obj;
    });
    const names = this[ENGINE].list(dir);
    let next = 0;
    return {
      read: (count, parent) => {
        if (next >= names.length) return null;
        const out: Dirent<string | Buffer>[] = [];
        while (out.length < count && next < names.length) {
          const name = names[next++]!;
          const child = this[ENGINE].child(dir, name);
          if (child) out.push(new Dirent(encodeName(name, encoding), parent, this[ENGINE].info(child).mode));
        }
        return out;
      },
    };
  }

  // ---- helpers ------------------------------------------------------------------------

  /** Runs an engine operation and turns its errno into an error shaped like Node's (paths shown as text). */
  private call<T>(syscall: string, path: string | undefined, dest: string | undefined, fn: () => T, quietEnoent = false): T {
    try {
      return fn();
    } catch (e) {
      if (quietEnoent && e instanceof Errno && e.code === 'ENOENT') return undefined as T;
      throw asNodeError(e, syscall, path, dest);
    }
  }
}

/** Node 20's stringToSymlinkType: a string type must be one it knows. */
function symlinkType(type: unknown): void {
  if (typeof type !== 'string' || type === 'dir' || type === 'file' || type === 'junction') return;
  const e = new Error(`Symlink type must be one of "dir", "file", or "junction". Received "${type}"`) as Error & { code: string };
  e.code = 'ERR_FS_INVALID_SYMLINK_TYPE';
  throw e;
}

/** The `cwd` option: a path as calls take it, and absolute (there is no working directory to resolve it against). */
function cwdOption(cwd: unknown): string {
  if (cwd === undefined) return '/';
  const p = pathArg(cwd, 'options.cwd');
  if (p.charCodeAt(0) !== 47) throw invalidArgValue('options.cwd', cwd, 'must be an absolute path');
  return p;
}

/** readFile's read of the rest of a file (overlay/open-file.ts, readRest), after Node's size check. */
function readWhole(f: OpenFile): Buffer {
  followCopyUp(f);
  if (!f.isDirectory) checkFitsOneBuffer(f.node ? f.node.getSize() : f.lower!.entry.size);
  return readRest(f);
}
