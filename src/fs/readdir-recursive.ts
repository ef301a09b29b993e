import { posix } from 'node:path';
import { step } from '../overlay/errno.js';
import type { OverlayEngine } from '../overlay/engine.js';
import { fromBytes } from '../util/names.js';
import type { Obj } from '../overlay/resolve.js';
import { encodeName } from './args.js';
import { Dirent } from './stats.js';

export interface RecursiveOptions {
  encoding: unknown;
  withFileTypes: boolean;
  /** `readdirSync` walks breadth first; `promises.readdir` depth first (it pops its queue). */
  order: 'breadth' | 'depth';
}

/**
 * `readdir(path, { recursive: true })` as Node 20 does it (readdirSyncRecursive in lib/fs.js,
 * readdirRecursive in lib/internal/fs/promises.js), over the overlay: paths are joined with
 * `path.join` as Node joins them (a Buffer name or path makes it throw, as in Node), names
 * are relative to the given path, and a directory is entered when readdir says it is one
 * (with file types) or when stat, following symlinks, says so (names only; so a symlink to a
 * directory is entered, and a path past PATH_MAX is not). Iterative, as Node's.
 */
export function readdirRecursive(engine: OverlayEngine, given: string | Uint8Array, opts: RecursiveOptions): Array<string | Buffer | Dirent<string | Buffer>> {
  const results: Array<string | Buffer | Dirent<string | Buffer>> = [];
  const read = (path: string | Uint8Array): Listing => {
    const p = typeof path === 'string' ? path : fromBytes(path);
    const dir = step('scandir', p, () => engine.lookup(p, true));
    return { dir, names: step('scandir', p, () => engine.list(dir)) };
  };
  const isDir = (path: string): boolean => {
    try {
      return engine.lookup(path, true).isDir;
    } catch {
      return false;
    }
  };
  // The promise version lists a directory as it queues it, the sync one as it takes it out.
  const eager = opts.order === 'depth';
  const queue: Array<{ path: string | Uint8Array; listing?: Listing }> = [{ path: given, listing: read(given) }];
  const join = posix.join as (...parts: unknown[]) => string;
  while (queue.length > 0) {
    const item = eager ? queue.pop()! : queue.shift()!;
    const { dir, names } = item.listing ?? read(item.path);
    for (const name of names) {
      const display = encodeName(name, opts.encoding);
      if (opts.withFileTypes) {
        const parent = typeof item.path === 'string' ? item.path : Buffer.from(item.path);
        const dirent = new Dirent(display, parent, engine.info(engine.child(dir, name)!).mode);
        results.push(dirent);
        if (dirent.isDirectory()) {
          const next = join(dirent.parentPath, dirent.name);
          queue.push(eager ? { path: next, listing: read(next) } : { path: next });
        }
        continue;
      }
      const next = join(item.path, display);
      const enter = isDir(next);
      results.push(posix.relative(given as string, next));
      if (enter) queue.push(eager ? { path: next, listing: read(next) } : { path: next });
    }
  }
  return results;
}

interface Listing {
  dir: Obj;
  names: string[];
}
