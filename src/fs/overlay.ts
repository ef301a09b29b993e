import { EventEmitter } from 'node:events';
import { constants } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import type { Volume } from 'memfs';
import type { Layer } from '../layer/layer.js';
import type { EntryType, LayerEntry } from '../layer/entry.js';
import { LayerContentError } from '../layer/content-file.js';
import { OverlayEngine, type OverlayEvent } from '../overlay/engine.js';
import type { Obj } from '../overlay/resolve.js';
import { whereIs, type Provenance } from '../overlay/provenance.js';
import { stackView, type StackView } from '../overlay/stack-view.js';
import { Errno, OverlayFsError, fail } from './errors.js';
import {
  pathArg, flagsArg, modeArg, timeArg, encodingOf, toBuffer,
  type PathLike, type TimeLike, type EncodingOption,
} from './args.js';
import { FileTable, readable, writable, type OpenFile } from './file-table.js';
import { Stats, Dirent } from './stats.js';
import { makePromises, type OverlayPromises } from './promises.js';
import { upperEntries } from '../export/commit.js';
import { mergedEntries } from '../export/export-tar.js';
import { writeTar, type TarWriteOptions, type TarWriteResult } from '../export/tar-writer.js';
import { exportDir, type ExportDirOptions, type ExportDirReport } from '../export/export-dir.js';
import { checkExportDirOptions } from '../export/options.js';

const { O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_NOFOLLOW, O_DIRECTORY, COPYFILE_EXCL, X_OK } = constants;

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
}

export interface OverlayEventMap {
  'copy-up': [Extract<OverlayEvent, { type: 'copy-up' }>];
  whiteout: [Extract<OverlayEvent, { type: 'whiteout' }>];
  opaque: [Extract<OverlayEvent, { type: 'opaque' }>];
}

let nextDev = 0x4c46_0000;

/**
 * An overlay filesystem in memory: read-only lower layers, a writable memfs upper layer, and
 * the merged view behind an API shaped like Node's `fs` (sync methods here, `promises` for
 * the async set). Semantics are the kernel's overlayfs; see docs/semantics.md.
 */
export class Overlay extends EventEmitter<OverlayEventMap> {
  readonly engine: OverlayEngine;
  readonly promises: OverlayPromises;
  private readonly files = new FileTable();
  private readonly dev = nextDev++;
  private readonly uid: number;
  private readonly gid: number;
  private readonly umask: number;

  constructor(options: OverlayOptions) {
    super();
    this.engine = new OverlayEngine({
      lower: options.lower,
      ...(options.upper ? { upper: options.upper } : {}),
      redirectDir: options.redirectDir ?? false,
      emit: (event) => this.emit(event.type, event as never),
    });
    this.uid = options.uid ?? 0;
    this.gid = options.gid ?? 0;
    this.umask = options.umask ?? 0o022;
    this.promises = makePromises(this);
  }

  /** The upper layer's Volume, in OCI changeset form (`.wh.` whiteouts, `.wh..wh..opq` markers). */
  get upper(): Volume {
    return this.engine.upper.volume;
  }

  /** Which layer provides a path, and what it shadows (the final symlink is not followed). */
  whereIs(path: PathLike): Provenance {
    const p = pathArg(path);
    return this.call('lstat', p, undefined, () => whereIs(this.engine, p));
  }

  /** The stack as a textbook draws it for one directory: each layer's entries, top first, and the merged result. */
  stackView(path: PathLike): StackView {
    const p = pathArg(path);
    return this.call('scandir', p, undefined, () => stackView(this.engine, p));
  }

  // ---- materialise --------------------------------------------------------------------

  /**
   * The upper layer as an OCI layer tarball: deterministic (sorted, normalised headers,
   * optional SOURCE_DATE_EPOCH clamp), `.wh.` whiteouts and `.wh..wh..opq` markers, gzip by
   * default. `info` resolves to the digest, diff_id and size once the stream is read.
   */
  commit(options: TarWriteOptions = {}): TarWriteResult {
    return writeTar(upperEntries(this.engine), options);
  }

  /** The merged view as one flat tar (no whiteouts), uncompressed by default. */
  exportTar(options: TarWriteOptions = {}): TarWriteResult {
    return writeTar(mergedEntries(this.engine, this.engine.root), options, 'none');
  }

  /** Writes the merged view into a real directory, safely (never outside it); see docs/export.md. */
  exportDir(target: string, options: ExportDirOptions = {}): ExportDirReport {
    return exportDir(this.engine, target, checkExportDirOptions(options));
  }

  // ---- metadata -----------------------------------------------------------------------

  statSync(path: PathLike, options?: { throwIfNoEntry?: boolean }): Stats;
  statSync(path: PathLike, options: { throwIfNoEntry: false }): Stats | undefined;
  statSync(path: PathLike, options?: { throwIfNoEntry?: boolean }): Stats | undefined {
    return this.statImpl('stat', path, true, options?.throwIfNoEntry ?? true);
  }

  lstatSync(path: PathLike, options?: { throwIfNoEntry?: boolean }): Stats;
  lstatSync(path: PathLike, options: { throwIfNoEntry: false }): Stats | undefined;
  lstatSync(path: PathLike, options?: { throwIfNoEntry?: boolean }): Stats | undefined {
    return this.statImpl('lstat', path, false, options?.throwIfNoEntry ?? true);
  }

  private statImpl(syscall: string, path: PathLike, follow: boolean, throwIfNoEntry: boolean): Stats | undefined {
    const p = pathArg(path);
    return this.call(syscall, p, undefined, () => {
      const r = this.engine.resolve(p, follow);
      if (!r.obj) {
        if (!throwIfNoEntry) return undefined;
        fail('ENOENT');
      }
      return new Stats(this.engine.info(r.obj), this.dev);
    }, !throwIfNoEntry);
  }

  existsSync(path: PathLike): boolean {
    try {
      return this.engine.resolve(pathArg(path), true).obj !== undefined;
    } catch {
      return false;
    }
  }

  /** As root: every object is readable and writable; X_OK needs an execute bit on files. */
  accessSync(path: PathLike, mode: number = constants.F_OK): void {
    const p = pathArg(path);
    this.call('access', p, undefined, () => {
      const obj = this.engine.lookup(p, true);
      const info = this.engine.info(obj);
      if (mode & X_OK && obj.type !== 'directory' && !(info.mode & 0o111)) fail('EACCES');
    });
  }

  readlinkSync(path: PathLike, options?: EncodingOption): string {
    const p = pathArg(path);
    return this.call('readlink', p, undefined, () => {
      const target = this.engine.readlink(this.engine.lookup(p, false));
      const enc = encodingOf(options);
      return enc && enc !== 'utf8' ? Buffer.from(target).toString(enc) : target;
    });
  }

  realpathSync(path: PathLike): string {
    const p = pathArg(path);
    // Node's realpathSync walks with lstat and reports the failing lstat.
    return this.call('lstat', p, undefined, () => {
      const r = this.engine.resolve(p, true);
      if (!r.obj) fail('ENOENT');
      return r.resolved;
    });
  }

  readdirSync(path: PathLike, options?: EncodingOption | { withFileTypes?: false; recursive?: boolean }): string[];
  readdirSync(path: PathLike, options: { withFileTypes: true; recursive?: boolean }): Dirent[];
  readdirSync(path: PathLike, options?: { withFileTypes?: boolean; recursive?: boolean } | EncodingOption): string[] | Dirent[] {
    const p = pathArg(path);
    const opts = typeof options === 'object' && options !== null ? options as { withFileTypes?: boolean; recursive?: boolean } : {};
    return this.call('scandir', p, undefined, () => {
      const dir = this.engine.lookup(p, true);
      const out: Array<string | Dirent> = [];
      const visit = (d: Obj, prefix: string): void => {
        for (const name of this.engine.list(d)) {
          const rel = prefix ? `${prefix}/${name}` : name;
          if (!opts.withFileTypes && !opts.recursive) {
            out.push(rel); // names only: no child lookup needed
            continue;
          }
          const child = this.engine.child(d, name)!;
          out.push(opts.withFileTypes ? new Dirent(name, prefix ? `${p.replace(/\/$/, '')}/${prefix}` : p, this.engine.info(child).mode) : rel);
          if (opts.recursive && child.isDir) visit(child, rel);
        }
      };
      visit(dir, '');
      return out as string[] | Dirent[];
    });
  }

  chmodSync(path: PathLike, mode: number | string): void {
    const p = pathArg(path);
    this.call('chmod', p, undefined, () => this.engine.setAttributes(this.engine.lookup(p, true), { mode: modeArg(mode, 0) }));
  }

  chownSync(path: PathLike, uid: number, gid: number): void {
    const p = pathArg(path);
    this.call('chown', p, undefined, () => this.engine.setAttributes(this.engine.lookup(p, true), { uid, gid }));
  }

  lchownSync(path: PathLike, uid: number, gid: number): void {
    const p = pathArg(path);
    this.call('lchown', p, undefined, () => this.engine.setAttributes(this.engine.lookup(p, false), { uid, gid }));
  }

  utimesSync(path: PathLike, atime: TimeLike, mtime: TimeLike): void {
    const p = pathArg(path);
    this.call('utime', p, undefined, () => this.engine.setAttributes(this.engine.lookup(p, true), { atimeMs: timeArg(atime), mtimeMs: timeArg(mtime) }));
  }

  lutimesSync(path: PathLike, atime: TimeLike, mtime: TimeLike): void {
    const p = pathArg(path);
    this.call('lutime', p, undefined, () => this.engine.setAttributes(this.engine.lookup(p, false), { atimeMs: timeArg(atime), mtimeMs: timeArg(mtime) }));
  }

  // ---- namespace ----------------------------------------------------------------------

  mkdirSync(path: PathLike, options?: number | string | { recursive?: boolean; mode?: number | string }): string | undefined {
    const p = pathArg(path);
    const opts = typeof options === 'object' ? options : { mode: options };
    const mode = modeArg(opts.mode, 0o777) & ~this.umask;
    return this.call('mkdir', p, undefined, () => {
      if (!opts.recursive) {
        this.engine.create(this.engine.resolveEntry(p), 'directory', this.newMeta(mode));
        return undefined;
      }
      return this.mkdirRecursive(p, mode);
    });
  }

  /** `mkdir -p`: existing directories are fine; a non-directory in the way is ENOTDIR (EEXIST at the end). */
  private mkdirRecursive(p: string, mode: number): string | undefined {
    const parts = p.split('/').filter((c) => c !== '');
    let first: string | undefined;
    for (let i = 1; i <= parts.length; i++) {
      const prefix = '/' + parts.slice(0, i).join('/');
      // The last name is not followed: a dangling symlink there is ENOENT, as mkdir -p on Linux.
      const r = i === parts.length ? this.engine.resolveEntry(prefix) : this.engine.resolve(prefix, true);
      if (r.obj) {
        if (i === parts.length && r.obj.type === 'symlink') {
          const target = this.engine.resolve(prefix, true).obj;
          if (!target) fail('ENOENT');
          if (!target.isDir) fail('EEXIST');
          continue;
        }
        if (!r.obj.isDir) fail(i === parts.length ? 'EEXIST' : 'ENOTDIR');
        continue;
      }
      this.engine.create(r, 'directory', this.newMeta(mode));
      first ??= prefix;
    }
    return first;
  }

  rmdirSync(path: PathLike): void {
    const p = pathArg(path);
    this.call('rmdir', p, undefined, () => {
      const last = p.replace(/\/+$/, '').split('/').pop();
      if (last === '.') fail('EINVAL');
      if (last === '..') fail('ENOTEMPTY');
      const obj = this.engine.resolveEntry(p).obj;
      if (!obj) fail('ENOENT');
      if (!obj.isDir) fail('ENOTDIR');
      this.engine.remove(obj);
    });
  }

  unlinkSync(path: PathLike): void {
    const p = pathArg(path);
    this.call('unlink', p, undefined, () => {
      const r = this.engine.resolveEntry(p);
      const obj = r.obj;
      if (!obj) fail('ENOENT');
      if (obj.isDir) fail('EISDIR');
      // do_unlinkat: a trailing slash on a non-directory (a symlink is not followed).
      if (r.trailingSlash) fail('ENOTDIR');
      this.engine.remove(obj);
    });
  }

  rmSync(path: PathLike, options: { recursive?: boolean; force?: boolean } = {}): void {
    const p = pathArg(path);
    this.call('rm', p, undefined, () => {
      const obj = this.engine.resolveEntry(p).obj;
      if (!obj) {
        if (options.force) return;
        fail('ENOENT');
      }
      if (obj.isDir && !options.recursive) fail('EISDIR', 'Path is a directory');
      this.removePath(p);
    });
  }

  /**
   * Removes by path, as Node's rmSync does (lstat, empty the directory name by name, rmdir):
   * a symlink among the parents is followed afresh at each step, as the kernel would.
   */
  private removePath(p: string): void {
    const obj = this.engine.resolveEntry(p).obj;
    if (!obj) fail('ENOENT');
    if (obj.isDir) {
      for (const name of this.engine.list(obj)) this.removePath(`${p.replace(/\/+$/, '')}/${name}`);
      const again = this.engine.resolveEntry(p).obj;
      if (!again) fail('ENOENT');
      if (!again.isDir) fail('ENOTDIR');
      this.engine.remove(again);
      return;
    }
    this.engine.remove(obj);
  }

  renameSync(oldPath: PathLike, newPath: PathLike): void {
    const from = pathArg(oldPath, 'oldPath');
    const to = pathArg(newPath, 'newPath');
    this.call('rename', from, to, () => {
      // Both parents are walked before the source name is looked up (do_renameat2), so an
      // error in the new path's parents wins over a missing source.
      const src = this.engine.resolveEntry(from);
      // do_renameat2: a last component of '.' or '..' is not a name to rename.
      if ([from, to].some((x) => /(^|\/)\.{1,2}\/*$/.test(x))) fail('EBUSY');
      const dst = this.engine.resolveEntry(to);
      this.engine.rename(src, dst);
    });
  }

  linkSync(existingPath: PathLike, newPath: PathLike): void {
    const from = pathArg(existingPath, 'existingPath');
    const to = pathArg(newPath, 'newPath');
    this.call('link', from, to, () => {
      const src = this.engine.lookup(from, false);
      this.engine.link(src, this.engine.resolveEntry(to));
    });
  }

  symlinkSync(target: PathLike, path: PathLike): void {
    const t = typeof target === 'string' ? target : Buffer.isBuffer(target) ? target.toString() : pathArg(target, 'target');
    const p = pathArg(path);
    this.call('symlink', t, p, () => {
      if (t === '') fail('ENOENT'); // symlink(2): an empty target
      this.engine.create(this.engine.resolveEntry(p), 'symlink', this.newMeta(0o777, true), { target: t });
    });
  }

  /** mknod(2) for the types a layer can hold (devices need the caller to be root, as here). */
  mknodSync(path: PathLike, type: Extract<EntryType, 'char' | 'block' | 'fifo'>, mode: number, rdev = 0): void {
    const p = pathArg(path);
    this.call('mknod', p, undefined, () => {
      this.engine.create(this.engine.resolveEntry(p), type, this.newMeta(mode & ~this.umask), { rdev });
    });
  }

  private newMeta(mode: number, keepMode = false) {
    const now = Date.now();
    return { mode: keepMode ? mode : mode & 0o7777, uid: this.uid, gid: this.gid, mtimeMs: now, atimeMs: now };
  }

  // ---- content ------------------------------------------------------------------------

  readFileSync(path: PathLike | number, options?: EncodingOption): string | Buffer;
  readFileSync(path: PathLike | number, options: BufferEncoding | { encoding: BufferEncoding }): string;
  readFileSync(path: PathLike | number, options?: EncodingOption): string | Buffer {
    const enc = encodingOf(options);
    let data: Buffer;
    if (typeof path === 'number') {
      const f = this.call('read', undefined, undefined, () => {
        const file = this.files.get(path);
        if (!readable(file)) fail('EBADF');
        return file;
      });
      data = this.call('read', undefined, undefined, () => this.readRest(f));
    } else {
      const p = pathArg(path);
      const obj = this.call('open', p, undefined, () => this.engine.lookup(p, true));
      data = this.call('read', undefined, undefined, () => {
        this.assertRegular(obj);
        if (obj.upper) return Buffer.from(this.engine.read(obj));
        const lower = this.lowerFile(obj);
        return readLower(lower, 0);
      });
    }
    return enc ? data.toString(enc) : data;
  }

  writeFileSync(path: PathLike | number, data: string | NodeJS.ArrayBufferView, options?: EncodingOption): void {
    this.writeAll(path, data, options, 'w');
  }

  appendFileSync(path: PathLike | number, data: string | NodeJS.ArrayBufferView, options?: EncodingOption): void {
    this.writeAll(path, data, options, 'a');
  }

  private writeAll(path: PathLike | number, data: string | NodeJS.ArrayBufferView, options: EncodingOption, defaultFlag: string): void {
    const opts = typeof options === 'object' && options !== null ? options : {};
    const buf = toBuffer(data, encodingOf(options));
    if (typeof path === 'number') {
      this.writeSync(path, buf);
      return;
    }
    const fd = this.openSync(path, opts.flag ?? defaultFlag, opts.mode ?? 0o666);
    try {
      this.writeSync(fd, buf);
    } finally {
      this.closeSync(fd);
    }
  }

  truncateSync(path: PathLike, len = 0): void {
    const p = pathArg(path);
    this.call('open', p, undefined, () => {
      if (len < 0) fail('EINVAL');
      const obj = this.engine.lookup(p, true);
      if (obj.isDir) fail('EISDIR');
      if (obj.type !== 'file') fail('EINVAL');
      this.engine.writableNode(obj).truncate(len);
    });
  }

  copyFileSync(src: PathLike, dest: PathLike, mode = 0): void {
    const from = pathArg(src, 'src');
    const to = pathArg(dest, 'dest');
    this.call('copyfile', from, to, () => {
      const obj = this.engine.lookup(from, true);
      this.assertRegular(obj);
      const data = this.engine.read(obj);
      const srcMode = this.engine.info(obj).mode & 0o7777;
      const r = this.engine.resolve(to, true);
      if (r.obj && mode & COPYFILE_EXCL) fail('EEXIST');
      if (r.obj) this.assertRegular(r.obj);
      const target = r.obj ?? this.engine.create(r, 'file', this.newMeta(srcMode));
      const node = this.engine.writableNode(target);
      node.setBuffer(Buffer.from(data));
      node.mode = (node.mode & ~0o7777) | srcMode;
    });
  }

  // ---- descriptors --------------------------------------------------------------------

  openSync(path: PathLike, flags: string | number = 'r', mode: number | string = 0o666): number {
    const p = pathArg(path);
    const f = flagsArg(flags, 'r');
    return this.call('open', p, undefined, () => {
      // open_last_lookups: O_CREAT with a trailing slash is EISDIR once the parent is found.
      if (f & O_CREAT && p.length > 1 && p.endsWith('/')) {
        this.engine.resolveEntry(p);
        fail('EISDIR');
      }
      const excl = (f & O_CREAT) !== 0 && (f & O_EXCL) !== 0;
      const r = this.engine.resolve(p, !excl && !(f & O_NOFOLLOW));
      let obj = r.obj;
      const wantsWrite = (f & 3) !== constants.O_RDONLY || (f & O_TRUNC) !== 0;
      if (obj) {
        if (excl) fail('EEXIST');
        if (obj.type === 'symlink') fail('ELOOP');
        if (f & O_DIRECTORY && !obj.isDir) fail('ENOTDIR');
        if (obj.isDir) {
          if (wantsWrite) fail('EISDIR');
          const dir = obj;
          return this.files.add({ path: p, flags: f, position: 0, isDirectory: true, info: () => this.engine.info(dir) });
        }
        this.assertRegular(obj);
      } else {
        if (!(f & O_CREAT)) fail('ENOENT');
        obj = this.engine.create(r, 'file', this.newMeta(modeArg(mode, 0o666) & ~this.umask));
      }
      const target = obj;
      const file: OpenFile = { path: p, flags: f, position: 0, isDirectory: false, info: () => this.engine.info(target) };
      if (wantsWrite || obj.upper) {
        // Opening for write copies up even if nothing is written (overlayfs.rst "Non-directories").
        const node = this.engine.writableNode(obj);
        if (f & O_TRUNC && node.getSize() > 0) node.truncate(0);
        else if (f & O_TRUNC) node.mtime = new Date();
        file.node = node;
      } else {
        // Read by position when asked (Layer.readAt): opening reads nothing.
        file.lower = this.lowerFile(obj);
      }
      return this.files.add(file);
    });
  }

  closeSync(fd: number): void {
    this.call('close', undefined, undefined, () => this.files.close(fd));
  }

  fstatSync(fd: number): Stats {
    return this.call('fstat', undefined, undefined, () => new Stats(this.files.get(fd).info(), this.dev));
  }

  readSync(fd: number, buffer: NodeJS.ArrayBufferView, offset = 0, length?: number, position?: number | bigint | null): number {
    return this.call('read', undefined, undefined, () => {
      const f = this.files.get(fd);
      if (f.isDirectory) fail('EISDIR');
      if (!readable(f)) fail('EBADF');
      const len = length ?? buffer.byteLength - offset;
      const pos = position === null || position === undefined || position === -1 ? f.position : Number(position);
      const target = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      let n: number;
      if (f.node) n = f.node.read(target, offset, len, pos);
      else n = f.lower!.layer.readAt(f.lower!.entry, target, offset, len, pos);
      if (position === null || position === undefined || position === -1) f.position += n;
      return n;
    });
  }

  writeSync(fd: number, data: string | NodeJS.ArrayBufferView, offsetOrPosition?: number | null, lengthOrEncoding?: number | BufferEncoding, position?: number | null): number {
    return this.call('write', undefined, undefined, () => {
      const f = this.files.get(fd);
      if (!writable(f) || !f.node) fail('EBADF');
      let buf: Buffer;
      let pos: number | null | undefined;
      if (typeof data === 'string') {
        buf = Buffer.from(data, typeof lengthOrEncoding === 'string' ? lengthOrEncoding : 'utf8');
        pos = offsetOrPosition;
      } else {
        const all = toBuffer(data);
        const off = offsetOrPosition ?? 0;
        const len = typeof lengthOrEncoding === 'number' ? lengthOrEncoding : all.length - off;
        buf = all.subarray(off, off + len);
        pos = position;
      }
      const useCursor = pos === null || pos === undefined;
      // O_APPEND: every write goes to the end, whatever the position (open(2)).
      const at = f.flags & O_APPEND ? f.node.getSize() : useCursor ? f.position : pos!;
      const n = f.node.write(buf, 0, buf.length, at);
      if (useCursor || f.flags & O_APPEND) f.position = at + n;
      return n;
    });
  }

  ftruncateSync(fd: number, len = 0): void {
    this.call('ftruncate', undefined, undefined, () => {
      const f = this.files.get(fd);
      if (!writable(f) || !f.node) fail('EINVAL');
      f.node.truncate(len);
    });
  }

  fsyncSync(fd: number): void {
    this.call('fsync', undefined, undefined, () => void this.files.get(fd));
  }

  createReadStream(path: PathLike, options: { start?: number; end?: number; encoding?: BufferEncoding; highWaterMark?: number } = {}): Readable {
    const fd = this.openSync(path, 'r');
    let pos = options.start ?? 0;
    const end = options.end ?? Infinity;
    const chunk = options.highWaterMark ?? 64 * 1024;
    const stream = new Readable({
      highWaterMark: chunk,
      read: () => {
        try {
          const want = Math.min(chunk, end - pos + 1);
          if (want <= 0) return void stream.push(null);
          const buf = Buffer.alloc(want);
          const n = this.readSync(fd, buf, 0, want, pos);
          pos += n;
          stream.push(n > 0 ? buf.subarray(0, n) : null);
        } catch (e) {
          stream.destroy(e as Error);
        }
      },
      destroy: (err, cb) => {
        try { this.closeSync(fd); } catch { /* already closed */ }
        cb(err);
      },
    });
    if (options.encoding) stream.setEncoding(options.encoding);
    return stream;
  }

  createWriteStream(path: PathLike, options: { flags?: string; start?: number; mode?: number } = {}): Writable {
    const fd = this.openSync(path, options.flags ?? 'w', options.mode ?? 0o666);
    let pos = options.start;
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        try {
          const n = this.writeSync(fd, chunk, 0, chunk.length, pos ?? null);
          if (pos !== undefined) pos += n;
          cb();
        } catch (e) {
          cb(e as Error);
        }
      },
      final: (cb) => {
        try { this.closeSync(fd); cb(); } catch (e) { cb(e as Error); }
      },
      destroy: (err, cb) => {
        try { this.closeSync(fd); } catch { /* closed by final */ }
        cb(err);
      },
    });
  }

  // ---- helpers ------------------------------------------------------------------------

  /** The rest of an open file from its position (readFileSync of a descriptor), which moves to the end. */
  private readRest(f: OpenFile): Buffer {
    if (f.isDirectory) fail('EISDIR');
    if (f.node) {
      const all = f.node.getBuffer();
      const rest = Buffer.from(all.subarray(f.position));
      f.position = all.length;
      return rest;
    }
    const rest = readLower(f.lower!, f.position);
    f.position += rest.length;
    return rest;
  }

  /** A lower file's layer and entry, for reading by position. */
  private lowerFile(obj: Obj): { layer: Layer; entry: LayerEntry } {
    return { layer: this.engine.lower.layers[obj.lower!.layer]!, entry: obj.lower!.entry };
  }

  /** Only regular files hold data here; device nodes and FIFOs are not emulated. */
  private assertRegular(obj: Obj): void {
    const t = obj.type;
    if (t === 'directory') fail('EISDIR');
    if (t !== 'file') fail('EOPNOTSUPP', `layerfs does not emulate I/O on ${t} nodes`);
  }

  /** Runs an engine operation and turns its errno into an error shaped like Node's. */
  private call<T>(syscall: string, path: string | undefined, dest: string | undefined, fn: () => T, quietEnoent = false): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof Errno) {
        if (quietEnoent && e.code === 'ENOENT') return undefined as T;
        throw new OverlayFsError(e.code, syscall, path, dest, e.hint);
      }
      // A layer that cannot serve the verified content (its file changed after it was
      // opened, or was closed): an I/O error, as a disk that fails a read gives, never the
      // changed bytes. The layer's error is the cause.
      if (e instanceof LayerContentError) {
        const io = new OverlayFsError('EIO', syscall, path, dest, e.message);
        io.cause = e;
        throw io;
      }
      throw e;
    }
  }
}

/** Node's readFile refuses files over 2 GiB - 1 (kIoMaxLength) with this error; so does this. */
const IO_MAX_LENGTH = 2 ** 31 - 1;

/** A lower file's content from `position` to its end, read by position into one new Buffer. */
function readLower(lower: { layer: Layer; entry: LayerEntry }, position: number): Buffer {
  const size = Math.max(0, lower.entry.size - position);
  if (size > IO_MAX_LENGTH) {
    throw Object.assign(new RangeError(`File size (${lower.entry.size}) is greater than 2 GiB`), { code: 'ERR_FS_FILE_TOO_LARGE' });
  }
  const out = Buffer.allocUnsafe(size);
  const n = lower.layer.readAt(lower.entry, out, 0, size, position);
  return n === size ? out : out.subarray(0, n);
}
