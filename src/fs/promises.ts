import type { Overlay } from './overlay.js';
import type { Stats, Dirent } from './stats.js';
import type { PathLike, TimeLike, EncodingOption } from './args.js';

/** A promise-based handle on an open overlay file, like `fs.promises.FileHandle`. */
export class FileHandle {
  constructor(private readonly ov: Overlay, readonly fd: number) {}

  async read(buffer: NodeJS.ArrayBufferView, offset = 0, length?: number, position?: number | null): Promise<{ bytesRead: number; buffer: NodeJS.ArrayBufferView }> {
    return { bytesRead: this.ov.readSync(this.fd, buffer, offset, length, position), buffer };
  }

  async write(data: string | NodeJS.ArrayBufferView, offset?: number | null, length?: number, position?: number | null): Promise<{ bytesWritten: number }> {
    return { bytesWritten: typeof data === 'string' ? this.ov.writeSync(this.fd, data, offset) : this.ov.writeSync(this.fd, data, offset, length, position) };
  }

  async readFile(options?: EncodingOption): Promise<string | Buffer> {
    return this.ov.readFileSync(this.fd, options);
  }

  async writeFile(data: string | NodeJS.ArrayBufferView, options?: EncodingOption): Promise<void> {
    this.ov.writeFileSync(this.fd, data, options);
  }

  async appendFile(data: string | NodeJS.ArrayBufferView, options?: EncodingOption): Promise<void> {
    this.ov.appendFileSync(this.fd, data, options);
  }

  async stat(): Promise<Stats> {
    return this.ov.fstatSync(this.fd);
  }

  async truncate(len = 0): Promise<void> {
    this.ov.ftruncateSync(this.fd, len);
  }

  async sync(): Promise<void> {
    this.ov.fsyncSync(this.fd);
  }

  async close(): Promise<void> {
    this.ov.closeSync(this.fd);
  }
}

/** `ov.promises`: the async mirror of the sync methods, as `fs.promises` mirrors `fs`. */
export interface OverlayPromises {
  readFile(path: PathLike, options?: EncodingOption): Promise<string | Buffer>;
  writeFile(path: PathLike, data: string | NodeJS.ArrayBufferView, options?: EncodingOption): Promise<void>;
  appendFile(path: PathLike, data: string | NodeJS.ArrayBufferView, options?: EncodingOption): Promise<void>;
  mkdir(path: PathLike, options?: number | string | { recursive?: boolean; mode?: number | string }): Promise<string | undefined>;
  rmdir(path: PathLike): Promise<void>;
  rm(path: PathLike, options?: { recursive?: boolean; force?: boolean }): Promise<void>;
  unlink(path: PathLike): Promise<void>;
  rename(oldPath: PathLike, newPath: PathLike): Promise<void>;
  link(existingPath: PathLike, newPath: PathLike): Promise<void>;
  symlink(target: PathLike, path: PathLike): Promise<void>;
  readlink(path: PathLike): Promise<string>;
  stat(path: PathLike, options?: { throwIfNoEntry?: boolean }): Promise<Stats>;
  lstat(path: PathLike, options?: { throwIfNoEntry?: boolean }): Promise<Stats>;
  readdir(path: PathLike, options?: { withFileTypes?: false; recursive?: boolean }): Promise<string[]>;
  readdir(path: PathLike, options: { withFileTypes: true; recursive?: boolean }): Promise<Dirent[]>;
  chmod(path: PathLike, mode: number | string): Promise<void>;
  chown(path: PathLike, uid: number, gid: number): Promise<void>;
  lchown(path: PathLike, uid: number, gid: number): Promise<void>;
  utimes(path: PathLike, atime: TimeLike, mtime: TimeLike): Promise<void>;
  lutimes(path: PathLike, atime: TimeLike, mtime: TimeLike): Promise<void>;
  truncate(path: PathLike, len?: number): Promise<void>;
  access(path: PathLike, mode?: number): Promise<void>;
  realpath(path: PathLike): Promise<string>;
  copyFile(src: PathLike, dest: PathLike, mode?: number): Promise<void>;
  open(path: PathLike, flags?: string | number, mode?: number | string): Promise<FileHandle>;
}

export function makePromises(ov: Overlay): OverlayPromises {
  // The engine is in memory: each async method runs the sync one in a microtask, so
  // errors arrive as rejections, never as throws.
  const wrap = <A extends unknown[], R>(fn: (...args: A) => R) => async (...args: A): Promise<R> => fn(...args);
  return {
    readFile: wrap((p: PathLike, o?: EncodingOption) => ov.readFileSync(p, o)),
    writeFile: wrap((p: PathLike, d: string | NodeJS.ArrayBufferView, o?: EncodingOption) => ov.writeFileSync(p, d, o)),
    appendFile: wrap((p: PathLike, d: string | NodeJS.ArrayBufferView, o?: EncodingOption) => ov.appendFileSync(p, d, o)),
    mkdir: wrap((p: PathLike, o?: number | string | { recursive?: boolean; mode?: number | string }) => ov.mkdirSync(p, o)),
    rmdir: wrap((p: PathLike) => ov.rmdirSync(p)),
    rm: wrap((p: PathLike, o?: { recursive?: boolean; force?: boolean }) => ov.rmSync(p, o)),
    unlink: wrap((p: PathLike) => ov.unlinkSync(p)),
    rename: wrap((a: PathLike, b: PathLike) => ov.renameSync(a, b)),
    link: wrap((a: PathLike, b: PathLike) => ov.linkSync(a, b)),
    symlink: wrap((t: PathLike, p: PathLike) => ov.symlinkSync(t, p)),
    readlink: wrap((p: PathLike) => ov.readlinkSync(p)),
    stat: wrap((p: PathLike, o?: { throwIfNoEntry?: boolean }) => ov.statSync(p, o)),
    lstat: wrap((p: PathLike, o?: { throwIfNoEntry?: boolean }) => ov.lstatSync(p, o)),
    readdir: wrap((p: PathLike, o?: { withFileTypes?: boolean; recursive?: boolean }) => ov.readdirSync(p, o as { withFileTypes: true })) as OverlayPromises['readdir'],
    chmod: wrap((p: PathLike, m: number | string) => ov.chmodSync(p, m)),
    chown: wrap((p: PathLike, u: number, g: number) => ov.chownSync(p, u, g)),
    lchown: wrap((p: PathLike, u: number, g: number) => ov.lchownSync(p, u, g)),
    utimes: wrap((p: PathLike, a: TimeLike, m: TimeLike) => ov.utimesSync(p, a, m)),
    lutimes: wrap((p: PathLike, a: TimeLike, m: TimeLike) => ov.lutimesSync(p, a, m)),
    truncate: wrap((p: PathLike, l?: number) => ov.truncateSync(p, l)),
    access: wrap((p: PathLike, m?: number) => ov.accessSync(p, m)),
    realpath: wrap((p: PathLike) => ov.realpathSync(p)),
    copyFile: wrap((a: PathLike, b: PathLike, m?: number) => ov.copyFileSync(a, b, m)),
    open: wrap((p: PathLike, f?: string | number, m?: number | string) => new FileHandle(ov, ov.openSync(p, f, m))),
  };
}
