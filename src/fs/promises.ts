import { engineOf, type OverlayFs } from './overlay-fs.js';
import type { Stats, BigIntStats, Dirent } from './stats.js';
import { encodeName, pathArg, type PathLike, type TimeLike, type EncodingOption } from './args.js';
import { rmdirOptions, RM_DEFAULTS } from './call-args.js';
import { asNodeError, SystemError } from './errors.js';
import { FileHandle, onHandle, readFileOf, writeFile } from './file-handle.js';
import { readdirRecursive } from './readdir-recursive.js';
import { realpath3 } from './realpath.js';
import { surfacePromises, type SurfacePromises } from './surface-promises.js';
import { getOptions, parseFileMode, validateBoolean } from './validators.js';
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

/** `ov.promises`: the async set, each call checked and run as Node's fs.promises runs it (lib/internal/fs/promises.js). */
export interface OverlayPromises extends SurfacePromises {
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
  const engine = () => engineOf(ov);
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
    ...surfacePromises(ov),
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
      const resolved = run('realpath', p, () => realpath3(engine(), p));
      return encodeName(resolved, o.encoding);
    },
    async copyFile(src, dest, mode) {
      return ov.copyFileSync(src, dest, mode);
    },
    open,
  };
}
