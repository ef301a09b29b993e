import { Errno, fail } from './errno.js';
import type { OverlayEngine } from './engine.js';
import type { Obj } from './resolve.js';
import { mkdirAt } from './syscalls.js';
import type { NodeMeta } from './upper.js';

/**
 * `mkdir -p` as Node 20 does it (src/node_file.cc, MKDirpSync), on the overlay's mkdir(2):
 * mkdir the path; on ENOENT make its dirname first (cut at the last `/`) and try again; on
 * any other failure stat the path, and a directory there is fine. So a dangling symlink in the
 * way is ENOENT (stat fails), never a directory made at its target, and a file in the middle
 * is ENOTDIR. Returns the first directory it made, or undefined. Every failure is reported as
 * mkdir of the whole path, as Node reports it.
 *
 * `promise`: as Node 20's `promises.mkdir` does it (MKDirpAsync), which differs where
 * something other than a directory is in the way: when the mkdir of a parent finds a name
 * (EEXIST) that stat does not show as a directory, it is ENOTDIR; a directory found where the
 * whole path was asked ends it; every failure names the path of the step that failed.
 */
export function makeDirs(engine: OverlayEngine, path: string, meta: () => NodeMeta, variant: 'sync' | 'promise' = 'sync'): string | undefined {
  // The sync one reports every failure as mkdir of the whole path, the async one names the step's path.
  const failAt = (code: Errno['code'], at: string): never => {
    if (variant === 'sync') fail(code);
    throw new Errno(code, undefined, { syscall: 'mkdir', path: at });
  };
  const pending = [path];
  let first: string | undefined;
  const made = new Made();
  while (pending.length > 0) {
    const next = pending.pop()!;
    let err = made.mkdir(engine, next, meta());
    for (;;) {
      if (err === undefined) {
        first ??= next;
        break;
      }
      if (err === 'EACCES' || err === 'ENOTDIR' || err === 'EPERM') failAt(err, next);
      if (err === 'ENOENT') {
        const cut = next.lastIndexOf('/');
        const dirname = cut < 0 ? next : next.slice(0, cut);
        if (dirname !== next) pending.push(next, dirname);
        // A first name of a relative path not found: the working directory is not there.
        // Node 20 puts the path back and tries again, forever; mkdir(2) says ENOENT.
        else if (pending.length > 0) failAt('ENOENT', next);
        else {
          err = 'EEXIST';
          continue;
        }
        break;
      }
      // Anything else (EEXIST, ELOOP, ...): fine if a directory is there, as stat(2) sees it.
      let there: Obj | undefined;
      let statErr: Errno['code'] | undefined;
      try {
        there = engine.lookup(next, true);
      } catch (e) {
        if (!(e instanceof Errno)) throw e;
        statErr = e.code;
      }
      const parentStep = err === 'EEXIST' && pending.length > 0;
      if (variant === 'sync') {
        if (statErr) failAt(statErr, next);
        if (!there!.isDir) failAt(parentStep ? 'ENOTDIR' : 'EEXIST', next);
        break;
      }
      // MKDirpAsync: a parent that is not a directory (or not there, as stat sees it) is ENOTDIR.
      if (parentStep) {
        if (there?.isDir) break;
        failAt('ENOTDIR', next);
      }
      if (statErr) failAt(statErr, next);
      if (!there!.isDir) failAt('EEXIST', next);
      return first;
    }
  }
  return first;
}

/**
 * The directory the last mkdir made. The next path is often it plus one name (the way back
 * up a chain of missing parents): nothing has changed since, so that name is looked up in
 * the directory held rather than by walking the whole path again, which made mkdir -p of a
 * deep path quadratic.
 */
class Made {
  private path: string | undefined;
  private dir: Obj | undefined;

  mkdir(engine: OverlayEngine, next: string, meta: NodeMeta): Errno['code'] | undefined {
    let made: Obj | undefined;
    const err = attempt(() => {
      const name = this.path !== undefined && next.startsWith(this.path) && next.charCodeAt(this.path.length) === 47 ? next.slice(this.path.length + 1) : undefined;
      const plain = name !== undefined && name !== '' && name !== '.' && name !== '..' && !name.includes('/');
      made = mkdirAt(engine, next, meta, plain ? engine.entryIn(this.dir!, name, next) : undefined);
    });
    this.path = made ? next : undefined;
    this.dir = made;
    return err;
  }
}

/** The errno a call fails with, or undefined when it succeeds. */
function attempt(fn: () => unknown): Errno['code'] | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (e instanceof Errno) return e.code;
    throw e;
  }
}
