import type { OverlayFs } from './overlay-fs.js';
import type { Stats, BigIntStats } from './stats.js';
import type { PathLike, EncodingOption } from './args.js';
import { writeArgs, type WriteArgs } from './call-args.js';
import { invalidArgType, invalidArgValue, outOfRange } from './node-errors.js';
import { getOptions, validateBoolean, validateBuffer, validateInteger, validateObject } from './validators.js';

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
export async function readFileOf(ov: OverlayFs, h: FileHandle, options: Record<string, unknown>): Promise<string | Buffer> {
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
  if (path instanceof FileHandle) return writeFileOf(path, bytes, o);
  return onHandle(new FileHandle(ov, ov.openSync(path as PathLike, flag as string, o.mode as number)), async (h) => {
    await writeFileOf(h, bytes, o);
    if (flush) await h.sync();
  });
}
