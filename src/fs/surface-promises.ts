import type { OverlayFs } from './overlay-fs.js';
import type { Dir } from './dir.js';
import type { StatFs } from './statfs.js';
import { pathArg, type PathLike, type EncodingOption } from './args.js';
import { cpAsync, cpOptions, type CpOptions } from './cp.js';
import { watchAsync } from './watch.js';
import { SURFACE, type OpenDirOptions, type StatFsOptions } from './surface-types.js';
import { asText } from '../util/names.js';

/** issue 15's promise calls on `ov.promises`, each as Node 20's fs.promises runs it. */
export interface SurfacePromises {
  opendir(path: PathLike, options?: OpenDirOptions): Promise<Dir>;
  cp(source: string | URL, destination: string | URL, opts?: CpOptions): Promise<void>;
  mkdtemp(prefix: string, options?: EncodingOption): Promise<string | Buffer>;
  statfs(path: PathLike, options?: StatFsOptions): Promise<StatFs | StatFs<bigint>>;
  watch(filename: PathLike, options?: { encoding?: BufferEncoding | 'buffer'; persistent?: boolean; recursive?: boolean; signal?: AbortSignal } | BufferEncoding): AsyncIterable<{ eventType: string; filename: string | Buffer }>;
  /** Node 20 on Linux has no lchmod(2) (O_SYMLINK is macOS's): ERR_METHOD_NOT_IMPLEMENTED. */
  lchmod(path: PathLike, mode: number | string): Promise<void>;
}

function notImplemented(what: string): Error & { code: string } {
  const e = new Error(`The ${what} method is not implemented`) as Error & { code: string };
  e.code = 'ERR_METHOD_NOT_IMPLEMENTED';
  return e;
}

export function surfacePromises(ov: OverlayFs): SurfacePromises {
  return {
    async opendir(path, options) {
      return ov[SURFACE].opendir(path, options, true);
    },
    async cp(source, destination, opts) {
      const o = cpOptions(opts);
      return cpAsync(ov, asText(pathArg(source, 'src')), asText(pathArg(destination, 'dest')), o);
    },
    async mkdtemp(prefix, options) {
      return ov[SURFACE].mkdtemp(prefix, options, true);
    },
    async statfs(path, options) {
      return ov.statfsSync(path, options);
    },
    // An async generator, as Node's: the path is checked at the first next().
    async *watch(filename, options) {
      yield* watchAsync(ov[SURFACE].watchHost, asText(pathArg(filename)), options);
    },
    async lchmod() {
      throw notImplemented('lchmod()');
    },
  };
}
