import type { realpathSync } from 'node:fs';
import type { PathLike } from './args.js';
import type { Dir } from './dir.js';
import type { WatchHost } from './watch.js';
import { invalidArgType } from './node-errors.js';

/** The types of issue 15's calls, as @types/node declares them (so OverlayFs's signatures are Node's). */
export type { EncodingOption as NodeEncodingOption, BufferEncodingOption, BigIntStatsListener, CopySyncOptions, CopyOptions, Mode, OpenDirOptions, StatFsOptions, StatsListener, WatchFileOptions, WatchListener, WatchOptions } from 'node:fs';

/** `realpathSync` with its `native` (realpath(3)), as Node's. */
export type RealpathSync = typeof realpathSync;

/** The key under which OverlayFs gives promises.ts what the sync calls and the promise calls share. */
export const SURFACE: unique symbol = Symbol('layerfs.surface');

export interface SurfaceInternals {
  /** mkdtemp(3); `tried`: the error names the name tried (promises.mkdtemp), or the template (mkdtempSync). */
  mkdtemp(prefix: unknown, options: unknown, tried: boolean): string | Buffer;
  /** opendir on the overlay; `named`: the error names the path (promises.opendir), or not (Node 20's opendirSync). */
  opendir(path: PathLike, options: unknown, named: boolean): Dir;
  watchHost: WatchHost;
  /** A path made absolute as Node's path.resolve does, from the overlay's working directory (its resolved path, as process.cwd()). */
  resolve(...paths: string[]): string;
}

/** validateBufferArray (lib/internal/fs/utils.js): an array of ArrayBufferViews. */
export function validateBufferArray(buffers: unknown, name = 'buffers'): asserts buffers is NodeJS.ArrayBufferView[] {
  if (!Array.isArray(buffers)) throw invalidArgType(name, 'ArrayBufferView[]', buffers);
  for (const b of buffers) if (!ArrayBuffer.isView(b)) throw invalidArgType(name, 'ArrayBufferView[]', buffers);
}
