import { createReadStream, createWriteStream, type ReadStream, type WriteStream } from 'node:fs';
import type { OverlayFs } from './overlay-fs.js';
import { FileHandle, REF, UNREF, writeBuffers } from './file-handle.js';
import { getOptions } from './validators.js';

/** The option objects of fs.createReadStream and fs.createWriteStream (@types/node does not export their names). */
export type ReadStreamOptions = Exclude<Parameters<typeof createReadStream>[1], string | undefined>;
export type WriteStreamOptions = Exclude<Parameters<typeof createWriteStream>[1], string | undefined>;

type Callback<T> = (err: Error | null, value?: T, extra?: unknown) => void;

/** The calls Node's fs.ReadStream and fs.WriteStream make through their documented `fs` option. */
export interface StreamFs {
  open(path: string, flags: string | number, mode: number, cb: Callback<number>): void;
  read(fd: number, buf: Buffer, offset: number, length: number, position: number | null | undefined, cb: Callback<number>): void;
  write(fd: number, buf: Buffer, offset: number, length: number, position: number | null | undefined, cb: Callback<number>): void;
  writev(fd: number, buffers: Buffer[], position: number | null | undefined, cb: Callback<number>): void;
  close(fd: number, cb: Callback<void>): void;
  fsync(fd: number, cb: Callback<void>): void;
}

/**
 * The callback-style fs that Node's own streams take as their `fs` option, made of the
 * overlay's sync methods. The streams are then Node's, with Node's option checks and
 * events. Callbacks run from the event loop (setImmediate), as a real fs call's do after the
 * thread pool: a listener added after an `await` still sees 'open'.
 */
export function streamFs(ov: OverlayFs): StreamFs {
  const later = <T>(cb: Callback<T>, fn: () => T, extra?: unknown) => {
    let value: T;
    try {
      value = fn();
    } catch (e) {
      setImmediate(cb, e as Error, undefined, extra);
      return;
    }
    setImmediate(cb, null, value, extra);
  };
  return {
    open: (path, flags, mode, cb) => later(cb, () => ov.openSync(path, flags, mode)),
    read: (fd, buf, offset, length, position, cb) => later(cb, () => ov.readSync(fd, buf, offset, length, position ?? null), buf),
    write: (fd, buf, offset, length, position, cb) => later(cb, () => ov.writeSync(fd, buf, offset, length, position ?? null), buf),
    writev: (fd, buffers, position, cb) => later(cb, () => writeBuffers(ov, fd, buffers, position ?? -1), buffers),
    close: (fd, cb) => later(cb, () => ov.closeSync(fd)),
    fsync: (fd, cb) => later(cb, () => ov.fsyncSync(fd)),
  };
}

/**
 * Node's FileHandleOperations (lib/internal/fs/streams.js): a stream over a FileHandle does
 * its I/O through the handle's methods, and its close lets go of the handle and closes it.
 */
function handleFs(h: FileHandle): StreamFs {
  const settle = <T>(p: Promise<T>, cb: Callback<number>, ok: (v: T) => [number, unknown], fail: unknown) =>
    p.then((v) => {
      const [n, extra] = ok(v);
      cb(null, n, extra);
    }, (e: Error) => cb(e, 0, fail));
  return {
    open: () => {
      throw Object.assign(new Error('The open() method is not implemented'), { code: 'ERR_METHOD_NOT_IMPLEMENTED' });
    },
    close: (_fd, cb) => {
      h[UNREF]();
      h.close().then(() => cb(null), cb);
    },
    fsync: (_fd, cb) => {
      h.sync().then(() => cb(null), cb);
    },
    read: (_fd, buf, offset, length, pos, cb) => settle(h.read(buf, offset, length, pos), cb, (r) => [r.bytesRead, r.buffer], buf),
    write: (_fd, buf, offset, length, pos, cb) => settle(h.write(buf, offset, length, pos), cb, (r) => [r.bytesWritten, r.buffer], buf),
    writev: (_fd, buffers, pos, cb) => settle(h.writev(buffers, pos ?? undefined), cb, (r) => [r.bytesWritten, r.buffers], buffers),
  };
}

type AnyStreamOptions = ReadStreamOptions | WriteStreamOptions;

/**
 * The options Node's stream constructor gets: the overlay's `fs`; an overlay FileHandle as
 * `fd` becomes its descriptor number and the handle's own operations, as Node's importFd
 * does for its FileHandle. Any other `fd` (a number, or something Node refuses) is Node's to
 * check; a given `fs` is replaced, so these streams never reach another filesystem.
 */
function streamOptions(ov: OverlayFs, options: unknown): { options: AnyStreamOptions; handle?: FileHandle } {
  const o = getOptions(options) as AnyStreamOptions & Record<string, unknown>;
  if (o.fd instanceof FileHandle) return { options: { ...o, fd: o.fd.fd, fs: handleFs(o.fd) } as AnyStreamOptions, handle: o.fd };
  return { options: { ...o, fs: streamFs(ov) } as AnyStreamOptions };
}

/** Node's importFd for a FileHandle, once the stream is made: the stream holds the handle, and the handle's close closes the stream. */
function holdHandle<S extends ReadStream | WriteStream>(stream: S, handle: FileHandle | undefined): S {
  if (handle) {
    handle[REF]();
    handle.on('close', () => stream.close());
  }
  return stream;
}

/** Node's own fs.ReadStream over the overlay: Node's option checks, an open error as an 'error' event. */
export function overlayReadStream(ov: OverlayFs, path: unknown, options: unknown): ReadStream {
  const { options: o, handle } = streamOptions(ov, options);
  return holdHandle(createReadStream(path as string, o as ReadStreamOptions), handle);
}

/** Node's own fs.WriteStream over the overlay. */
export function overlayWriteStream(ov: OverlayFs, path: unknown, options: unknown): WriteStream {
  const { options: o, handle } = streamOptions(ov, options);
  return holdHandle(createWriteStream(path as string, o as WriteStreamOptions), handle);
}
