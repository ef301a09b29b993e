import { posix } from 'node:path';
import { step } from '../overlay/errno.js';
import type { OverlayEngine } from '../overlay/engine.js';
import { asText } from '../util/names.js';
import { asNodeError } from './errors.js';

/**
 * The overlay's process.cwd(): the `cwd` option's path with its symlinks resolved (getcwd).
 * While it is not there, process.cwd()'s error (ENOENT, syscall `uv_cwd`, no path), as Node
 * gives from a removed working directory for the calls that resolve a relative path as text.
 */
export function processCwd(engine: OverlayEngine): string {
  try {
    return engine.cwdPath();
  } catch (e) {
    throw asNodeError(e, 'uv_cwd');
  }
}

/** Node's path.resolve from process.cwd() (processCwd), which is looked up only when no path is absolute. */
export function resolveFromCwd(engine: OverlayEngine, ...paths: string[]): string {
  return paths.some((x) => x.charCodeAt(0) === 47) ? posix.resolve('/', ...paths) : posix.resolve(processCwd(engine), ...paths);
}

/**
 * `realpathSync` as Node 20 computes it in JavaScript (lib/fs.js): the path is made absolute
 * and normalised by `path.resolve` first (so `file/` loses its slash and `x/..` folds before
 * any lookup), then each prefix is lstat'ed; a symlink is stat'ed (so a dangling or looping
 * one fails there, as `stat`) and read, and its target resolved against the prefix before it.
 * Names are text, as Node's are: bytes that are not UTF-8 come back as U+FFFD.
 * (`promises.realpath` is realpath(3) instead, see OverlayPromises.)
 */
export function nodeRealpath(engine: OverlayEngine, path: string): string {
  let p = resolveFromCwd(engine, path);
  const seen = new Map<string, string>();
  const known = new Set<string>();
  let current = '/';
  let base = '/';
  let pos = 1;
  while (pos < p.length) {
    const next = p.indexOf('/', pos);
    const previous = current;
    if (next === -1) {
      const last = p.slice(pos);
      current += last;
      base = previous + last;
      pos = p.length;
    } else {
      current += p.slice(pos, next + 1);
      base = previous + p.slice(pos, next);
      pos = next + 1;
    }
    if (known.has(base)) continue;
    const obj = step('lstat', base, () => engine.lookup(base, false));
    if (obj.type !== 'symlink') {
      known.add(base);
      continue;
    }
    const info = engine.info(obj);
    const id = `${info.ino}`;
    let target = seen.get(id);
    if (target === undefined) {
      step('stat', base, () => engine.lookup(base, true));
      target = asText(engine.readlink(obj));
      seen.set(id, target);
    }
    p = posix.resolve(posix.resolve(previous, target), p.slice(pos));
    current = base = '/';
    pos = 1;
  }
  return p;
}

/**
 * realpath(3), as `realpathSync.native` and `promises.realpath` call it: the overlay's own
 * walk resolves every symlink; a path that does not resolve fails as the walk does (the
 * caller names the error `realpath`).
 */
export function realpath3(engine: OverlayEngine, path: string): string {
  const r = engine.resolve(path, true);
  if (!r.obj) engine.lookup(path, true);
  return r.resolved;
}
