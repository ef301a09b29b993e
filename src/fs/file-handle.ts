// Over 300 lines: Node's FileHandle is one class, a method per call with Node's overloads, each
// only its argument checks and one overlay call; readFile/writeFile's helpers (shared with
// promises.ts) follow it.
import { EventEmitter } from 'node:events';
import type { Abortable } from 'node:events';
import type { BigIntStats as NodeBigIntStats, Mode, ObjectEncodingOptions, ReadOptions, ReadOptionsWithBuffer, ReadStream, ReadVResult, StatOptions, Stats as NodeStats, TimeLike, WriteStream, WriteVResult } from 'node:fs';
import type { CreateReadStreamOptions, CreateWriteStreamOptions, FileHandle as NodeFileHandle, ReadableWebStreamOptions } from 'node:fs/promises';
import { createInterface, type Interface as ReadlineInterface } from 'node:readline';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { handleWebStream } from './web-stream.js';
import { validateBufferArray } from './surface-types.js';
import type { OverlayFs } from './overlay-fs.js';
import type { ReadStreamOptions, WriteStreamOptions } from './stream-fs.js';
import type { PathLike } from './args.js';
import { bindingOffset, writeArgs, type WriteArgs } from './call-args.js';
import { OverlayFsError } from './errors.js';
import { checkFitsOneBuffer, invalidArgType, invalidArgValue, outOfRange } from './node-errors.js';
import { getOptions, validateBoolean, validateBuffer, validateInteger, validateObject } from './validators.js';

/** What Node's streams and readableWebStream hold on a handle (its kRef/kUnref): a close waits until each is let go. */
export const REF: unique symbol = Symbol('layerfs.FileHandle.ref');
export const UNREF: unique symbol = Symbol('layerfs.FileHandle.unref');

/** Node's ERR_INVALID_STATE (readableWebStream on a closed, closing or locked handle). */
function invalidState(what: string): Error & { code: string } {
  return Object.assign(new Error(`Invalid state: ${what}`), { code: 'ERR_INVALID_STATE' });
}

/** The error of a call on a closed handle (Node's fsCall): a plain Error with `code` and `syscall` only. */
function fileClosed(syscall: string): Error & { code: string; syscall: string } {
  const err = new Error('file closed') as Error & { code: string; syscall: string };
  err.code = 'EBADF';
  err.syscall = syscall;
  return err;
}

/**
 * Node closes a FileHandle that is garbage collected unclosed, with a warning
 * (FileHandle::~FileHandle in src/node_file.cc, DEP0137): so does the overlay, or its
 * descriptor (and the open file, an unlinked file's content too) stays in its FileTable for
 * good. The held value names the descriptor, not the handle.
 */
let warnedGc = false;
const unclosed = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry<{ ov: OverlayFs; fd: number }>(({ ov, fd }) => {
    try {
      ov.closeSync(fd);
    } catch {
      // Closed meanwhile through the overlay's closeSync(handle.fd).
      return;
    }
    const proc = globalThis.process;
    if (typeof proc?.emitWarning !== 'function') return;
    proc.emitWarning(`Closing file descriptor ${fd} on garbage collection`);
    if (warnedGc) return;
    warnedGc = true;
    proc.emitWarning('Closing a FileHandle object on garbage collection is deprecated. Please close FileHandle objects explicitly using FileHandle.prototype.close(). In the future, an error will be thrown if a file descriptor is closed during garbage collection.', 'DeprecationWarning', 'DEP0137');
  })
  : undefined;

/** A result object as Node's promises make them, with no prototype. */
function bare<T extends object>(fields: T): T {
  return Object.assign(Object.create(null) as T, fields);
}

type ReadResult<T extends NodeJS.ArrayBufferView> = { bytesRead: number; buffer: T };

/**
 * A promise-based handle on an open overlay file, as Node 20's `fs.promises.FileHandle`
 * (lib/internal/fs/promises.js): an EventEmitter that emits 'close' when closing starts;
 * every call holds a reference, so a close() while calls (or a stream, or a web stream) are
 * pending resolves once they are done, and `fd` turns -1 then; after that every call rejects
 * with EBADF "file closed" named after its system call, and close() resolves at once.
 */
export class FileHandle extends EventEmitter implements NodeFileHandle {
  #fd: number;
  #refs = 1;
  #closing: Promise<void> | undefined;
  #closeResolve: (() => void) | undefined;
  #closeReject: ((e: unknown) => void) | undefined;
  #locked = false;
  readonly #ov: OverlayFs;

  constructor(ov: OverlayFs, fd: number) {
    super();
    this.#ov = ov;
    this.#fd = fd;
    unclosed?.register(this, { ov, fd }, this);
  }

  get fd(): number {
    return this.#fd;
  }

  /** Node's fsCall: a closed handle gives EBADF named after the operation; the call holds a reference while it runs. */
  async #call<T>(syscall: string, fn: (fd: number) => T | Promise<T>): Promise<T> {
    if (this.#fd === -1) throw fileClosed(syscall);
    try {
      this[REF]();
      const result = await fn(this.#fd);
      // The overlay's call is done at once; its result comes in a later turn of the event
      // loop, as a real call's does from the thread pool, so that a close() made meanwhile
      // waits for it and calls end in the order they were made.
      await nextTurn();
      return result;
    } finally {
      this[UNREF]();
    }
  }

  [REF](): void {
    this.#refs++;
  }

  /** The last reference let go of a closing handle closes its descriptor and settles the pending close(). */
  [UNREF](): void {
    this.#refs--;
    if (this.#refs !== 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.#closeDescriptor(fd).then(this.#closeResolve, this.#closeReject);
  }

  async #closeDescriptor(fd: number): Promise<void> {
    unclosed?.unregister(this);
    this.#ov.closeSync(fd);
  }

  /**
   * Node's close: resolves at once on a closed handle, gives the pending promise while
   * closing, else closes now (or when the last pending call ends) and emits 'close'. An own
   * property, as Node's, so `const { close } = handle` works.
   */
  close = (): Promise<void> => {
    if (this.#fd === -1) return Promise.resolve();
    if (this.#closing) return this.#closing;
    this.#refs--;
    if (this.#refs === 0) {
      const fd = this.#fd;
      this.#fd = -1;
      this.#closing = this.#closeDescriptor(fd).finally(() => {
        this.#closing = undefined;
      });
    } else {
      this.#closing = new Promise<void>((resolve, reject) => {
        this.#closeResolve = resolve;
        this.#closeReject = reject;
      }).finally(() => {
        this.#closing = undefined;
        this.#closeResolve = undefined;
        this.#closeReject = undefined;
      });
    }
    this.emit('close');
    return this.#closing;
  };

  async [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * promises `read`: `(buffer, offset?, length?, position?)`, `(buffer, options)`, `(options)`
   * or `()` (into a new 16 KiB Buffer); a position that is not a safe integer, or is negative,
   * reads at the handle's position.
   */
  read<T extends NodeJS.ArrayBufferView>(buffer: T, offset?: number | null, length?: number | null, position?: number | null): Promise<ReadResult<T>>;
  read<T extends NodeJS.ArrayBufferView>(buffer: T, options?: ReadOptions): Promise<ReadResult<T>>;
  read<T extends NodeJS.ArrayBufferView = Buffer>(options?: ReadOptionsWithBuffer<T>): Promise<ReadResult<T>>;
  read(bufferOrOptions?: unknown, offset?: unknown, length?: unknown, position?: unknown): Promise<ReadResult<NodeJS.ArrayBufferView>> {
    return this.#call('read', (fd) => {
      let buffer = bufferOrOptions;
      let off = offset;
      let len = length;
      let pos = position;
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
      if (len === 0) return bare({ bytesRead: 0, buffer: view });
      if (view.byteLength === 0) throw invalidArgValue('buffer', view, 'is empty and cannot be written');
      const o = off as number;
      const n = Math.trunc(len as number);
      if (o < 0) throw outOfRange('offset', '>= 0', o);
      if ((len as number) < 0) throw outOfRange('length', '>= 0', len);
      if (o + (len as number) > view.byteLength) throw outOfRange('length', `<= ${view.byteLength - o}`, len);
      return bare({ bytesRead: this.#ov.readSync(fd, view, o, n, bindingOffset(pos)), buffer: view });
    });
  }

  /** readv(2)/preadv(2): the buffers filled in turn until a read comes short; a position that is not a safe integer reads at the handle's position. */
  readv<TBuffers extends readonly NodeJS.ArrayBufferView[]>(buffers: TBuffers, position?: number): Promise<ReadVResult<TBuffers>> {
    return this.#call('readv', (fd) => {
      validateBufferArray(buffers);
      // libuv refuses a read into no buffers (uv_fs_read with nbufs 0).
      if (buffers.length === 0) throw new OverlayFsError('EINVAL', 'read');
      let at = bindingOffset(typeof position === 'number' ? position : null);
      let bytesRead = 0;
      for (const b of buffers) {
        if (b.byteLength === 0) continue;
        const n = this.#ov.readSync(fd, b, 0, b.byteLength, at);
        bytesRead += n;
        if (at >= 0) at += n;
        if (n < b.byteLength) break;
      }
      return bare({ bytesRead, buffers });
    });
  }

  /** writev(2)/pwritev(2) (writeBuffers); with O_APPEND at the end, whatever the position (pwrite(2) BUGS). */
  writev<TBuffers extends readonly NodeJS.ArrayBufferView[]>(buffers: TBuffers, position?: number): Promise<WriteVResult<TBuffers>> {
    return this.#call('writev', (fd) => {
      validateBufferArray(buffers);
      if (buffers.length === 0) return bare({ bytesWritten: 0, buffers });
      return bare({ bytesWritten: writeBuffers(this.#ov, fd, buffers, bindingOffset(typeof position === 'number' ? position : null)), buffers });
    });
  }

  /** promises `write`: as writeSync, but a buffer of no bytes is written at once, unchecked. */
  write<TBuffer extends NodeJS.ArrayBufferView>(buffer: TBuffer, offset?: number | null, length?: number | null, position?: number | null): Promise<{ bytesWritten: number; buffer: TBuffer }>;
  write(data: string, position?: number | null, encoding?: BufferEncoding | null): Promise<{ bytesWritten: number; buffer: string }>;
  write(data: unknown, ...rest: unknown[]): Promise<{ bytesWritten: number; buffer: unknown }> {
    return this.#call('write', (fd) => {
      if ((data as { byteLength?: number } | undefined)?.byteLength === 0) return bare({ bytesWritten: 0, buffer: data });
      const args: WriteArgs = writeArgs(data, rest);
      return bare({ bytesWritten: this.#ov.writeSync(fd, args.data, 0, args.data.length, args.position), buffer: data });
    });
  }

  readFile(options?: ({ encoding?: null | undefined } & Abortable) | null): Promise<NonSharedBuffer>;
  readFile(options: ({ encoding: BufferEncoding } & Abortable) | BufferEncoding): Promise<string>;
  readFile(options?: (ObjectEncodingOptions & Abortable) | BufferEncoding | null): Promise<string | NonSharedBuffer>;
  readFile(options?: unknown): Promise<string | NonSharedBuffer> {
    return this.#call('readFile', () => readFileOf(this.#ov, this, getOptions(options, { flag: 'r' }))) as Promise<string | NonSharedBuffer>;
  }

  writeFile(data: string | Uint8Array, options?: (ObjectEncodingOptions & Abortable) | BufferEncoding | null): Promise<void> {
    return this.#call('writeFile', () => writeFile(this.#ov, this, data, options));
  }

  /** Node's FileHandle.appendFile is its writeFile: at the handle's position, with the handle's flags. */
  appendFile(data: string | Uint8Array, options?: (ObjectEncodingOptions & Abortable) | BufferEncoding | null): Promise<void> {
    return this.#call('writeFile', () => writeFile(this.#ov, this, data, options));
  }

  stat(opts?: StatOptions & { bigint?: false | undefined }): Promise<NodeStats>;
  stat(opts: StatOptions & { bigint: true }): Promise<NodeBigIntStats>;
  stat(opts?: StatOptions): Promise<NodeStats | NodeBigIntStats>;
  stat(options: StatOptions = { bigint: false }): Promise<NodeStats | NodeBigIntStats> {
    return this.#call('fstat', (fd) => (options.bigint === true ? this.#ov.fstatSync(fd, { bigint: true }) : this.#ov.fstatSync(fd)) as NodeStats | NodeBigIntStats);
  }

  truncate(len: number = 0): Promise<void> {
    return this.#call('ftruncate', (fd) => this.#ov.ftruncateSync(fd, len));
  }

  sync(): Promise<void> {
    return this.#call('fsync', (fd) => this.#ov.fsyncSync(fd));
  }

  /** Node's readLines: a readline Interface over createReadStream(options), every line ending (\r\n too) one break. */
  readLines(options?: CreateReadStreamOptions): ReadlineInterface {
    return createInterface({ input: this.createReadStream(options), crlfDelay: Infinity });
  }

  /** A ReadStream over this handle (Node's own, through the overlay): it holds the handle, closes it when done (unless `autoClose: false`), and is closed by the handle's close. */
  createReadStream(options?: CreateReadStreamOptions): ReadStream {
    return this.#ov.createReadStream(undefined as unknown as string, { ...options, fd: this } as unknown as ReadStreamOptions);
  }

  createWriteStream(options?: CreateWriteStreamOptions): WriteStream {
    return this.#ov.createWriteStream(undefined as unknown as string, { ...options, fd: this } as unknown as WriteStreamOptions);
  }

  chmod(mode: Mode): Promise<void> {
    return this.#call('fchmod', (fd) => this.#ov.fchmodSync(fd, mode));
  }

  chown(uid: number, gid: number): Promise<void> {
    return this.#call('fchown', (fd) => this.#ov.fchownSync(fd, uid, gid));
  }

  utimes(atime: TimeLike, mtime: TimeLike): Promise<void> {
    return this.#call('futimes', (fd) => this.#ov.futimesSync(fd, atime, mtime));
  }

  datasync(): Promise<void> {
    return this.#call('fdatasync', (fd) => this.#ov.fdatasyncSync(fd));
  }

  /**
   * Node 20's readableWebStream: a ReadableStream of the file from the handle's position,
   * ArrayBuffer chunks of up to 64 KiB, or with `{ type: 'bytes' }` a byte stream read 16 KiB
   * at a time. The handle is locked to it; a close() while it is open cancels it.
   */
  readableWebStream(options: ReadableWebStreamOptions = {}): WebReadableStream {
    if (this.#fd === -1) throw invalidState('The FileHandle is closed');
    if (this.#closing) throw invalidState('The FileHandle is closing');
    if (this.#locked) throw invalidState('The FileHandle is locked');
    this.#locked = true;
    if (options.type !== undefined) validateString(options.type, 'options.type');
    const { stream, stop } = handleWebStream({
      readInto: async (view) => (await this.read(view, view.byteOffset, view.byteLength)).bytesRead,
      done: () => this[UNREF](),
    }, options.type === 'bytes');
    this[REF]();
    this.once('close', stop);
    return stream;
  }
}

/**
 * writev(2)/pwritev(2) on the overlay: the buffers in turn, each after the last (at `position`
 * and on, or at the descriptor's position when it is -1), without joining them into one copy.
 * A failure after some bytes were written is a short count, as a short writev(2).
 */
export function writeBuffers(ov: OverlayFs, fd: number, buffers: readonly NodeJS.ArrayBufferView[], position: number): number {
  let total = 0;
  for (const b of buffers) {
    if (b.byteLength === 0) continue;
    try {
      total += ov.writeSync(fd, b, 0, b.byteLength, position < 0 ? null : position + total);
    } catch (e) {
      if (total === 0) throw e;
      break;
    }
  }
  return total;
}

/** A later turn of the event loop (setImmediate; a timer where there is none, as in the browser). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

/** Node's validateString. */
function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgType(name, 'string', value);
}


/** Node's AbortError for a call whose `signal` was aborted: the signal's reason is its cause. */
function checkAborted(signal: unknown): void {
  const sig = signal as AbortSignal | undefined;
  if (sig?.aborted) throw Object.assign(new Error('The operation was aborted', { cause: sig.reason }), { code: 'ABORT_ERR', name: 'AbortError' });
}

/** validateAbortSignal: undefined, or an object with `aborted`. */
function validateAbortSignal(signal: unknown, name: string): void {
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || !('aborted' in signal))) throw invalidArgType(name, 'AbortSignal', signal);
}

/** readFileHandle: fstat, then read from the handle's position to the end; decoded if an encoding is given; `signal` looked at before each step, as Node's. */
export async function readFileOf(ov: OverlayFs, h: FileHandle, options: Record<string, unknown>): Promise<string | Buffer> {
  const encoding = options.encoding as BufferEncoding | undefined;
  const signal = options.signal;
  // Node makes its StringDecoder first: an encoding Buffer does not know fails before any read.
  if (encoding) Buffer.alloc(0).toString(encoding);
  checkAborted(signal);
  const st = ov.fstatSync(h.fd);
  checkAborted(signal);
  if (st.isFile()) checkFitsOneBuffer(st.size);
  const chunks: Buffer[] = [];
  for (;;) {
    checkAborted(signal);
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

/** writeFileHandle: the bytes, or each chunk of an iterable (strings in the encoding), at the handle's position; `signal` looked at before and after each write. */
async function writeFileOf(ov: OverlayFs, h: FileHandle, data: unknown, options: Record<string, unknown>): Promise<void> {
  const signal = options.signal;
  checkAborted(signal);
  // Node writes with its internal write, not the handle's: a closed handle's -1 is the binding's EBADF.
  const writeAt = (b: Buffer, offset: number, length: number) => {
    if (h.fd === -1) throw new OverlayFsError('EBADF', 'write');
    return ov.writeSync(h.fd, b, offset, length, null);
  };
  // Node looks at the signal after each write of an iterable's chunk, before each write of one buffer.
  const write = async (bytes: NodeJS.ArrayBufferView, checkAfter: boolean) => {
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let done = 0;
    while (done < b.length) {
      if (!checkAfter) checkAborted(signal);
      done += writeAt(b, done, b.length - done);
      if (checkAfter) checkAborted(signal);
    }
  };
  if (isCustomIterable(data)) {
    for await (const chunk of data as AsyncIterable<unknown>) {
      checkAborted(signal);
      await write(ArrayBuffer.isView(chunk) ? (chunk as NodeJS.ArrayBufferView) : Buffer.from(chunk as string, (options.encoding || 'utf8') as BufferEncoding), true);
    }
    return;
  }
  await write(data as NodeJS.ArrayBufferView, false);
}

export async function onHandle<T>(h: FileHandle, fn: (h: FileHandle) => Promise<T>): Promise<T> {
  try {
    return await fn(h);
  } finally {
    await h.close();
  }
}

/** promises writeFile: options and data checked, then written to the handle or to the file opened with `flag`. */
export async function writeFile(ov: OverlayFs, path: unknown, data: unknown, options: unknown): Promise<void> {
  const o = getOptions(options, { encoding: 'utf8', mode: 0o666, flag: 'w', flush: false });
  const flag = o.flag || 'w';
  const flush = o.flush ?? false;
  validateBoolean(flush, 'options.flush');
  let bytes = data;
  if (!ArrayBuffer.isView(data) && !isCustomIterable(data)) {
    if (typeof data !== 'string') throw invalidArgType('data', ['string', 'Buffer', 'TypedArray', 'DataView'], data);
    bytes = Buffer.from(data, (o.encoding || 'utf8') as BufferEncoding);
  }
  validateAbortSignal(o.signal, 'options.signal');
  if (path instanceof FileHandle) return writeFileOf(ov, path, bytes, o);
  checkAborted(o.signal);
  return onHandle(new FileHandle(ov, ov.openSync(path as PathLike, flag as string, o.mode as number)), async (h) => {
    await writeFileOf(ov, h, bytes, o);
    if (flush) await h.sync();
  });
}
