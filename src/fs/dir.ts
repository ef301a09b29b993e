import { posix } from 'node:path';
import type { Dirent } from './stats.js';
import { validateInteger } from './validators.js';
import { invalidArgType } from './node-errors.js';

/**
 * A directory stream as `fs.Dir` (Node 20, lib/internal/fs/dir.js): entries in batches of
 * `bufferSize` (readdir(3) on the handle), `read()` as a promise or with a callback, one
 * asynchronous batch at a time (a sync call meanwhile is ERR_DIR_CONCURRENT_OPERATION),
 * ERR_DIR_CLOSED after close, `entries()` and `for await` closing it at the end. With
 * `recursive`, a directory entry's own first batch is read when it is taken, as Node 20 does
 * (so only `bufferSize` entries of each subdirectory; Node 20's behaviour, kept).
 * Node 20's Dir has no Symbol.dispose / Symbol.asyncDispose, so neither has this one.
 */

/** What a Dir reads through: a directory opened on the overlay. */
export interface DirSource {
  /** opendir(3) of `path` (already validated), names in `encoding`; throws Node's error. */
  open(path: string | Buffer, encoding: unknown): DirStream;
}

export interface DirStream {
  /** The next at most `count` entries (each a Dirent whose parentPath is `parent`), or null at the end. */
  read(count: number, parent: string | Buffer): Dirent<string | Buffer>[] | null;
}

interface DirOptions {
  bufferSize: number;
  encoding?: unknown;
  recursive?: unknown;
}

function dirError(code: 'ERR_DIR_CLOSED' | 'ERR_DIR_CONCURRENT_OPERATION'): Error & { code: string } {
  const message = code === 'ERR_DIR_CLOSED' ? 'Directory handle was closed' : 'Cannot do synchronous work on directory handle with concurrent asynchronous operations';
  const e = new Error(message) as Error & { code: string };
  e.code = code;
  Object.defineProperty(e, 'toString', { value: () => `Error [${code}]: ${message}`, enumerable: false });
  return e;
}

type Callback<T> = (err: Error | null, value?: T) => void;

export class Dir {
  readonly #source: DirSource;
  readonly #stream: DirStream;
  readonly #path: string | Buffer;
  readonly #options: DirOptions;
  #buffered: Dirent<string | Buffer>[] = [];
  #closed = false;
  /** Operations waiting for the asynchronous batch in flight (null: none in flight). */
  #queue: Array<() => void> | null = null;

  /** @internal Made by OverlayFs.opendirSync / promises.opendir. */
  constructor(source: DirSource, stream: DirStream, path: string | Buffer, options: Record<string, unknown>) {
    this.#source = source;
    this.#stream = stream;
    this.#path = path;
    this.#options = { bufferSize: 32, ...options } as DirOptions;
    validateInteger(this.#options.bufferSize, 'options.bufferSize', 1, 2 ** 32 - 1);
  }

  get path(): string {
    return this.#path as string;
  }

  read(): Promise<Dirent | null>;
  read(cb: (err: NodeJS.ErrnoException | null, dirEnt: Dirent | null) => void): void;
  read(cb?: (err: NodeJS.ErrnoException | null, dirEnt: Dirent | null) => void): Promise<Dirent | null> | void {
    return this.#readImpl(true, cb as Callback<Dirent | null> | undefined);
  }

  #readImpl(maybeSync: boolean, cb?: Callback<Dirent | null>): Promise<Dirent | null> | void {
    if (this.#closed) throw dirError('ERR_DIR_CLOSED');
    if (cb === undefined) {
      return new Promise((resolve, reject) => this.#readImpl(false, (err, d) => (err ? reject(err) : resolve(d ?? null))));
    }
    if (typeof cb !== 'function') throw invalidArgType('callback', 'Function', cb);
    if (this.#queue !== null) {
      this.#queue.push(() => this.#readImpl(maybeSync, cb));
      return;
    }
    if (this.#buffered.length > 0) {
      let d: Dirent<string | Buffer>;
      try {
        d = this.#take();
      } catch (e) {
        cb(e as Error);
        return;
      }
      if (maybeSync) process.nextTick(cb, null, d);
      else cb(null, d as Dirent);
      return;
    }
    // The batch is read "in the background" (Node's uv_fs_readdir): done on a later tick.
    this.#queue = [];
    setImmediate(() => {
      let result: Dirent | null = null;
      let error: Error | null = null;
      try {
        if (this.#fill()) result = this.#take() as Dirent;
      } catch (e) {
        error = e as Error;
      }
      process.nextTick(() => {
        const queue = this.#queue ?? [];
        this.#queue = null;
        for (const op of queue) op();
      });
      if (error) cb(error);
      else cb(null, result);
    });
  }

  readSync(): Dirent | null {
    if (this.#closed) throw dirError('ERR_DIR_CLOSED');
    if (this.#queue !== null) throw dirError('ERR_DIR_CONCURRENT_OPERATION');
    if (this.#buffered.length === 0 && !this.#fill()) return null;
    return this.#take() as Dirent;
  }

  /** The next batch into the buffer; false at the end. */
  #fill(): boolean {
    const batch = this.#stream.read(this.#options.bufferSize, this.#path);
    if (batch === null) return false;
    this.#buffered.push(...batch);
    return this.#buffered.length > 0;
  }

  /** The first buffered entry; with `recursive`, a directory's first batch is buffered behind it (readSyncRecursive). */
  #take(): Dirent<string | Buffer> {
    const d = this.#buffered.shift()!;
    if (this.#options.recursive && d.isDirectory()) {
      const path = (posix.join as (...p: unknown[]) => string)(d.parentPath, d.name);
      const batch = this.#source.open(path, this.#options.encoding).read(this.#options.bufferSize, path);
      if (batch) this.#buffered.push(...batch);
    }
    return d;
  }

  close(): Promise<void>;
  close(cb: (err?: NodeJS.ErrnoException | null) => void): void;
  close(cb?: (err?: NodeJS.ErrnoException | null) => void): Promise<void> | void {
    if (cb === undefined) {
      if (this.#closed) return Promise.reject(dirError('ERR_DIR_CLOSED'));
      return new Promise((resolve, reject) => this.close((err) => (err ? reject(err) : resolve())));
    }
    if (typeof cb !== 'function') throw invalidArgType('callback', 'Function', cb);
    if (this.#closed) {
      process.nextTick(cb, dirError('ERR_DIR_CLOSED'));
      return;
    }
    if (this.#queue !== null) {
      this.#queue.push(() => this.close(cb));
      return;
    }
    this.#closed = true;
    setImmediate(() => cb(null));
  }

  closeSync(): void {
    if (this.#closed) throw dirError('ERR_DIR_CLOSED');
    if (this.#queue !== null) throw dirError('ERR_DIR_CONCURRENT_OPERATION');
    this.#closed = true;
  }

  async *entries(): AsyncIterableIterator<Dirent> {
    try {
      for (;;) {
        const d = await (this.#readImpl(false) as Promise<Dirent | null>);
        if (d === null) break;
        yield d;
      }
    } finally {
      await new Promise<void>((resolve, reject) => this.close((err) => (err ? reject(err) : resolve())));
    }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Dirent> {
    return this.entries();
  }
}
