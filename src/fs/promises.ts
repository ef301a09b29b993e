// Over 300 lines: the promises API and its FileHandle, one per fs.promises call; phase 2
// splits FileHandle out (docs/architecture.md).
import type { OverlayFs } from './overlay-fs.js';
import type { Stats, BigIntStats, Dirent } from './stats.js';
import { encodeName, pathArg, type PathLike, type TimeLike, type EncodingOption } from './args.js';
import { rmdirOptions, RM_DEFAULTS, writeArgs, type WriteArgs } from './call-args.js';
import { asNodeError, SystemError } from './errors.js';
import { invalidArgType, invalidArgValue, outOfRange } from './node-errors.js';
import { readdirRecursive } from './readdir-recursive.js';
import { getOptions, parseFileMode, validateBoolean, validateBuffer, validateInteger, validateObject } from './validators.js';
import { asText } from '../util/names.js';
import { makeDirs } from '../overlay/make-dirs.js';
import { removeTreeAsPromised } from '../overlay/remove-tree.js';
import type { NodeMeta } from '../overlay/upper.js';

/** What the promises API needs of its OverlayFs beyond the public sync methods. */
export interface PromisesHost {
  ov: OverlayFs;
  /** Metadata of a new object made by the caller (owner, mode less the umask for `mode`). */
  meta(mode: number): NodeMeta;
  umask: number;
}

/**
 * A promise-based handle on an open overlay file, like `fs.promises.FileHandle`: after
 * close its `fd` is -1 and every method rejects with EBADF "file closed", as Node's.
 */
export class FileHandle {
  #fd: number;

  constructor(private readonly ov: OverlayFs, fd: number) {
    this.#fd = fd;
  }

  get fd(): number {
    return this.#fd;
  }

  /** Node's fsCall: a closed handle gives EBADF named after the operation. */
  private async use<T>(syscall: string, fn: (fd: number) => T | Promise<T>): Promise<T> {
    if (this.#fd === -1) {
      const err = new Error('file closed') as Error & { code: string; syscall: string };
      err.code = 'EBADF';
      err.syscall = syscall;
      throw err;
    }
    return fn(this.#fd);
  }

  /** promises `read`: `(buffer, offset?, length?, position?)`, `(buffer, options)` or `(options)`; a position that is not a safe integer reads at the handle's position. */
  read(bufferOrOptions?: NodeJS.ArrayBufferView | { buffer?: NodeJS.ArrayBufferView; offset?: number; length?: number; position?: number | null }, offset?: number | { offset?: number; length?: number; position?: number | null } | null, length?: number | null, position?: number | bigint | null): Promise<{ bytesRead: number; buffer: NodeJS.ArrayBufferView }> {
    return this.use('read', (fd) => {
      let buffer = bufferOrOptions as unknown;
      let off: unknown = offset;
      let len: unknown = length;
      let pos: unknown = position;
      if (!ArrayBuffer.isView(buffer)) {
        if (bufferOrOptions !== undefined) validateObject(bufferOrOptions, 'options', true);
        ({ buffer = Buffer.alloc(16384), offset: off = 0, length: len = (buffer as Buffer).byteLength - (off as number), position: pos = null } = (bufferOrOptions ?? {}) as Record<string, unknown>);
        validateBuffer(buffer);
      }
      const view = buffer as NodeJS.ArrayBufferView;
      if (off !== null && typeof off === 'object') {
        ({ offset: off = 0, length: len = view.byteLength - (off as unknown as number), position: pos = null } = off as Record<string, unknown>);
      }
      if (off === null || off === undefined) off = 0;
      else validateInteger(off, 'offset', 0);
      len ??= view.byteLength - (off as number);
      if (len === 0) return { bytesRead: 0, buffer: view };
      if (view.byteLength === 0) throw invalidArgValue('buffer', view, 'is empty and cannot be written');
      const o = off as number;
      const n = Math.trunc(len as number);
      if (o < 0) throw outOfRange('offset', '>= 0', o);
      if ((len as number) < 0) throw outOfRange('length', '>= 0', len);
      if (o + (len as number) > view.byteLength) throw outOfRange('length', `<= ${view.byteLength - o}`, len);
      // Not a safe integer, or negative: the handle's position (read(2) rather than pread).
      const at = Number.isSafeInteger(pos) && (pos as number) >= 0 ? (pos as number) : -1;
      return { bytesRead: this.ov.readSync(fd, view, o, n, at), buffer: view };
    });
  }

  /** promises `write`: as writeSync, but a buffer of no bytes is written at once, unchecked. */
  write(data: string | NodeJS.ArrayBufferView, ...rest: [offsetOrPosition?: number | null | { offset?: number; length?: number; position?: number | null }, lengthOrEncoding?: number | BufferEncoding | null, position?: number | null]): Promise<{ bytesWritten: number; buffer: string | NodeJS.ArrayBufferView }> {
    return this.use('write', (fd) => {
      if ((data as { byteLength?: number } | undefined)?.byteLength === 0) return { bytesWritten: 0, buffer: data };
      const args: WriteArgs = writeArgs(data, rest);
      return { bytesWritten: this.ov.writeSync(fd, args.data, 0, args.data.length, args.position), buffer: data };
    });
  }

  readFile(options?: EncodingOption): Promise<string | Buffer> {
    return this.use('readFile', () => readFileOf(this.ov, this, getOptions(options, { flag: 'r' })));
  }

  writeFile(data: string | NodeJS.ArrayBufferView | Iterable<unknown> | AsyncIterable<unknown>, options?: EncodingOption): Promise<void> {
    return this.use('writeFile', () => writeFile(this.ov, this, data, options));
  }

  /** Node's FileHandle.appendFile is its writeFile: at the handle's position, with the handle's flags. */
  appendFile(data: string | NodeJS.ArrayBufferView, options?: EncodingOption): Promise<void> {
    return this.use('writeFile', () => writeFile(this.ov, this, data, options));
  }

  stat(options: { bigint?: boolean } = { bigint: false }): Promise<Stats | BigIntStats> {
    return this.use('fstat', (fd) => (options.bigint === true ? this.ov.fstatSync(fd, { bigint: true }) : this.ov.fstatSync(fd)));
  }

  truncate(len: number = 0): Promise<void> {
    return this.use('ftruncate', (fd) => this.ov.ftruncateSync(fd, len));
  }

  sync(): Promise<void> {
    return this.use('fsync', (fd) => this.ov.fsyncSync(fd));
  }

  /** Closing a closed handle does nothing. */
  async close(): Promise<void> {
    if (this.#fd === -1) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.ov.closeSync(fd);
  }
}

/** readFileHandle: fstat, then read from the handle's position to the end; decoded if an encoding is given. */
async function readFileOf(ov: OverlayFs, h: FileHandle, options: Record<string, unknown>): Promise<string | Buffer> {
  const encoding = options.encoding as BufferEncoding | undefined;
  // Node makes its StringDecoder first: an encoding Buffer does not know fails before any read.
  if (encoding) Buffer.alloc(0).toString(encoding);
  ov.fstatSync(h.fd);
  const chunks: Buffer[] = [];
  for (;;) {
    const chunk = Buffer.alloc(64 * 1024);
    const n = ov.readSync(h.fd, chunk, 0, chunk.length, -1);
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
  }
  const all = Buffer.concat(chunks);
  return encoding ? all.toString(encoding) : all;
}

function isCustomIterable(v: unknown): v is Iterable<unknown> | AsyncIterable<unknown> {
  return v !== null && v !== undefined && typeof v !== 'string' && !ArrayBuffer.isView(v)
    && (typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function' || typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function');
}

/** writeFileHandle: the bytes, or each chunk of an iterable (strings in the encoding), at the handle's position. */
async function writeFileOf(h: FileHandle, data: unknown, options: Record<string, unknown>): Promise<void> {
  const write = async (bytes: NodeJS.ArrayBufferView) => {
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let done = 0;
    while (done < b.length) done += (await h.write(b, done, b.length - done)).bytesWritten;
  };
  if (isCustomIterable(data)) {
    for await (const chunk of data as AsyncIterable<unknown>) {
      await write(ArrayBuffer.isView(chunk) ? (chunk as NodeJS.ArrayBufferView) : Buffer.from(chunk as string, (options.encoding || 'utf8') as BufferEncoding));
    }
    return;
  }
  await write(data as NodeJS.ArrayBufferView);
}

async function onHandle<T>(h: FileHandle, fn: (h: FileHandle) => Promise<T>): Promise<T> {
  try {
    return await fn(h);
  } finally {
    await h.close();
  }
}

/** promises writeFile: options and data checked, then written to the handle or to the file opened with `flag`. */
async function writeFile(ov: OverlayFs, path: unknown, data: unknown, options: unknown): Promise<void> {
  const o = getOptions(options, { encoding: 'utf8', mode: 0o666, flag: 'w', flush: false });
  const flag = o.flag || 'w';
  const flush = o.flush ?? false;
  validateBoolean(flush, 'options.flush');
  let bytes = data;
  if (!ArrayBuffer.isView(data) && !isCustomIterable(data)) {
    if (typeof data !== 'string') throw invalidArgType('data', ['string', 'Buffer', 'TypedArray', 'DataView'], data);
    bytes = Buffer.from(data, (o.encoding || 'utf8') as BufferEncoding);
  }
  if (path instanceof FileHandle) return writeFileOf(path, bytes, o);
  return onHandle(new FileHandle(ov, ov.openSync(path as PathLike, flag as string, o.mode as number)), async (h) => {
    await writeFileOf(h, bytes, o);
    if (flush) await h.sync();
  });
}

/** `ov.promises`: the async set, each call checked and run as Node's fs.promises runs it (lib/internal/fs/promises.js). */
export interface OverlayPromises {
  readFile(path: PathLike | FileHandle, options?: EncodingOption): Promise<string | Buffer>;
  writeFile(path: PathLike | FileHandle, data: string | NodeJS.ArrayBufferView | Iterable<unknown> | AsyncIterable<unknown>, options?: EncodingOption): Promise<void>;
  appendFile(path: PathLike | FileHandle, data: string | NodeJS.ArrayBufferView, options?: EncodingOption): Promise<void>;
  mkdir(path: PathLike, options?: number | string | { recursive?: boolean; mode?: number | string }): Promise<string | undefined>;
  rmdir(path: PathLike, options?: { recursive?: boolean; maxRetries?: number; retryDelay?: number }): Promise<void>;
  rm(path: PathLike, options?: { recursive?: boolean; force?: boolean; maxRetries?: number; retryDelay?: number }): Promise<void>;
  unlink(path: PathLike): Promise<void>;
  rename(oldPath: PathLike, newPath: PathLike): Promise<void>;
  link(existingPath: PathLike, newPath: PathLike): Promise<void>;
  symlink(target: PathLike, path: PathLike, type?: string | null): Promise<void>;
  readlink(path: PathLike, options?: EncodingOption): Promise<string | Buffer>;
  stat(path: PathLike, options?: { bigint?: boolean }): Promise<Stats | BigIntStats>;
  lstat(path: PathLike, options?: { bigint?: boolean }): Promise<Stats | BigIntStats>;
  readdir(path: PathLike, options?: { withFileTypes?: false; recursive?: boolean; encoding?: BufferEncoding | 'buffer' | null } | BufferEncoding | 'buffer' | null): Promise<Array<string | Buffer>>;
  readdir(path: PathLike, options: { withFileTypes: true; recursive?: boolean; encoding?: BufferEncoding | 'buffer' | null }): Promise<Array<Dirent<string | Buffer>>>;
  chmod(path: PathLike, mode: number | string): Promise<void>;
  chown(path: PathLike, uid: number, gid: number): Promise<void>;
  lchown(path: PathLike, uid: number, gid: number): Promise<void>;
  utimes(path: PathLike, atime: TimeLike, mtime: TimeLike): Promise<void>;
  lutimes(path: PathLike, atime: TimeLike, mtime: TimeLike): Promise<void>;
  truncate(path: PathLike, len?: number): Promise<void>;
  access(path: PathLike, mode?: number): Promise<void>;
  realpath(path: PathLike, options?: EncodingOption): Promise<string | Buffer>;
  copyFile(src: PathLike, dest: PathLike, mode?: number): Promise<void>;
  open(path: PathLike, flags?: string | number, mode?: number | string): Promise<FileHandle>;
}

export function makePromises(host: PromisesHost): OverlayPromises {
  const { ov } = host;
  const engine = () => ov.engine;
  /** Runs an engine step, its errno as Node's error. */
  const run = <T>(syscall: string, path: string | undefined, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      throw asNodeError(e, syscall, path);
    }
  };
  const open = async (path: PathLike, flags?: unknown, mode?: unknown) => new FileHandle(ov, ov.openSync(path, flags as string, mode as number));
  return {
    async readFile(path, options) {
      const o = getOptions(options, { flag: 'r' });
      if (path instanceof FileHandle) return readFileOf(ov, path, o);
      return onHandle(await open(path, o.flag || 'r', 0o666), (h) => readFileOf(ov, h, o));
    },
    writeFile: (path, data, options) => writeFile(ov, path, data, options),
    async appendFile(path, data, options) {
      const given: Record<string, unknown> = getOptions(options, { encoding: 'utf8', mode: 0o666, flag: 'a' });
      const o: Record<string, unknown> = {};
      for (const k in given) o[k] = given[k];
      o.flag = o.flag || 'a';
      return writeFile(ov, path, data, o);
    },
    async mkdir(path, options) {
      const o = (typeof options === 'number' || typeof options === 'string' ? { mode: options } : options || {}) as { recursive?: unknown; mode?: unknown };
      const { recursive = false, mode = 0o777 } = o;
      const p = pathArg(path);
      validateBoolean(recursive, 'options.recursive');
      const m = parseFileMode(mode, 'mode', 0o777) & ~host.umask;
      if (!recursive) return ov.mkdirSync(path, m);
      const first = run('mkdir', p, () => makeDirs(engine(), p, () => host.meta(m), 'promise'));
      return first === undefined ? undefined : asText(first);
    },
    async rmdir(path, options) {
      const p = pathArg(path);
      const o = rmdirOptions(options);
      if (o.recursive) {
        // Node stats the path (following it) and removes the tree only under a directory.
        if ((await this.stat(path)).isDirectory()) return run('rm', p, () => removeTreeAsPromised(engine(), p));
      }
      return ov.rmdirSync(path);
    },
    async rm(path, options) {
      const p = pathArg(path);
      const o = rmdirOptions(options, RM_DEFAULTS);
      validateBoolean(o.force, 'options.force');
      // validateRmOptions: always an lstat; a missing path is fine with force.
      const st = ov.lstatSync(path, { throwIfNoEntry: !o.force });
      if (st?.isDirectory() && !o.recursive) throw new SystemError('ERR_FS_EISDIR', 'Path is a directory', { code: 'EISDIR', message: 'is a directory', path: asText(p), syscall: 'rm' });
      run('rm', p, () => removeTreeAsPromised(engine(), p));
    },
    async unlink(path) {
      return ov.unlinkSync(path);
    },
    async rename(oldPath, newPath) {
      return ov.renameSync(oldPath, newPath);
    },
    async link(existingPath, newPath) {
      return ov.linkSync(existingPath, newPath);
    },
    async symlink(target, path, type) {
      return ov.symlinkSync(target, path, type);
    },
    async readlink(path, options) {
      return ov.readlinkSync(path, options as { encoding: 'buffer' });
    },
    async stat(path, options = { bigint: false }) {
      pathArg(path);
      return options.bigint === true ? ov.statSync(path, { bigint: true }) : ov.statSync(path);
    },
    async lstat(path, options = { bigint: false }) {
      pathArg(path);
      return options.bigint === true ? ov.lstatSync(path, { bigint: true }) : ov.lstatSync(path);
    },
    readdir: (async (path: PathLike, options?: unknown) => {
      const o = getOptions(options);
      const p = pathArg(path);
      if (!o.recursive) return ov.readdirSync(path, { ...o, recursive: false } as never);
      const given = path instanceof Uint8Array ? path : p;
      return run('scandir', p, () => readdirRecursive(engine(), given, { encoding: o.encoding, withFileTypes: Boolean(o.withFileTypes), order: 'depth' }));
    }) as OverlayPromises['readdir'],
    async chmod(path, mode) {
      return ov.chmodSync(path, mode);
    },
    async chown(path, uid, gid) {
      return ov.chownSync(path, uid, gid);
    },
    async lchown(path, uid, gid) {
      return ov.lchownSync(path, uid, gid);
    },
    async utimes(path, atime, mtime) {
      return ov.utimesSync(path, atime, mtime);
    },
    async lutimes(path, atime, mtime) {
      return ov.lutimesSync(path, atime, mtime);
    },
    async truncate(path, len = 0) {
      return onHandle(await open(path, 'r+'), (h) => h.truncate(len));
    },
    async access(path, mode) {
      return ov.accessSync(path, mode);
    },
    /** realpath(3) here, not Node's JavaScript walk: the kernel resolves, errors name `realpath`. */
    async realpath(path, options) {
      const o = getOptions(options);
      const p = pathArg(path);
      const resolved = run('realpath', p, () => {
        const r = engine().resolve(p, true);
        if (!r.obj) engine().lookup(p, true);
        return r.resolved;
      });
      return encodeName(resolved, o.encoding);
    },
    async copyFile(src, dest, mode) {
      return ov.copyFileSync(src, dest, mode);
    },
    open,
  };
}
