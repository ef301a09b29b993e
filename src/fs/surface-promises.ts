import type { OverlayFs } from './overlay-fs.js';
import type { Dir } from './dir.js';
import { pathArg, type PathLike } from './args.js';
import { cpAsync, cpOptions, cpPath, type CpOptions } from './cp.js';
import { watchAsync } from './watch.js';
import { SURFACE, type OpenDirOptions, type StatFsOptions } from './surface-types.js';
import { asText } from '../util/names.js';

type NodePromises = typeof import('node:fs').promises;

/** issue 15's promise calls on `ov.promises`, each as Node 20's fs.promises runs it, with @types/node's signatures. */
export interface SurfacePromises {
  opendir(path: PathLike, options?: OpenDirOptions): Promise<Dir>;
  cp(source: string | URL, destination: string | URL, opts?: CpOptions): Promise<void>;
  mkdtemp: NodePromises['mkdtemp'];
  statfs: NodePromises['statfs'];
  watch: NodePromises['watch'];
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
      return cpAsync(ov, cpPath(source, 'src'), cpPath(destination, 'dest'), o);
    },
    mkdtemp: (async (prefix: unknown, options?: unknown) => ov[SURFACE].mkdtemp(prefix, options, true)) as NodePromises['mkdtemp'],
    statfs: (async (path: PathLike, options?: StatFsOptions) => ov.statfsSync(path, options)) as NodePromises['statfs'],
    // An async generator, as Node's: the path is checked at the first next().
    watch: async function* watch(filename: PathLike, options?: unknown) {
      yield* watchAsync(ov[SURFACE].watchHost, asText(pathArg(filename)), options);
    } as NodePromises['watch'],
    async lchmod() {
      throw notImplemented('lchmod()');
    },
  };
}
