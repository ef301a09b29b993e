import { Errno, step } from './errno.js';
import type { OverlayEngine } from './engine.js';
import { recurse } from './deep-recursion.js';
import { namesAt, objectAt, rmdirAt, unlinkAt } from './syscalls.js';

/**
 * `rm -r` as Node 20's rmSync does it (lib/internal/fs/rimraf.js, rimrafSync), on the
 * overlay's system calls: lstat; unlink a non-directory; for a directory try rmdir and, when
 * it is not empty, remove each name listed and rmdir again. Paths are built from the given
 * one (`path/name`), so a symlink among the parents is followed afresh at each step, and every
 * failure names the system call and path that failed, as Node's does. A missing name is not
 * an error at any step. Iterative (deep-recursion.ts): no depth limit but PATH_MAX, which the
 * paths meet as they grow, as on Linux.
 */
export function removeTree(engine: OverlayEngine, path: string): void {
  recurse(path, (p) => removeOne(engine, p));
}

/**
 * `rm -r` as Node 20's `promises.rm` does it (rimraf with callbacks): the same steps, but an
 * rmdir that finds a non-directory after lstat said directory (a symlink with a trailing
 * slash) ends quietly, and a missing name is never an error. Node starts the children of a
 * directory at once; here they go one after the other, so outcomes that depend on the order
 * of concurrent removals (through symlinks to ancestors) may differ.
 */
export function removeTreeAsPromised(engine: OverlayEngine, path: string): void {
  recurse(path, (p) => removeOnePromised(engine, p));
}

function* removeOnePromised(engine: OverlayEngine, path: string): Generator<string, void, void> {
  try {
    let isDir = false;
    try {
      isDir = step('lstat', path, () => objectAt(engine, path, false)).isDir;
    } catch (e) {
      if (codeOf(e) === 'ENOENT') return;
      if (!(e instanceof Errno)) throw e;
    }
    if (isDir) return yield* rmdirPromised(engine, path, undefined);
    try {
      step('unlink', path, () => unlinkAt(engine, path));
    } catch (e) {
      const code = codeOf(e);
      if (code === 'ENOENT') return;
      if (code === 'EISDIR' || code === 'EPERM') return yield* rmdirPromised(engine, path, e);
      throw e;
    }
  } catch (e) {
    if (codeOf(e) !== 'ENOENT') throw e;
  }
}

function* rmdirPromised(engine: OverlayEngine, path: string, originalErr: unknown): Generator<string, void, void> {
  try {
    step('rmdir', path, () => rmdirAt(engine, path));
    return;
  } catch (e) {
    const code = codeOf(e);
    if (code === 'ENOTDIR') {
      if (originalErr) throw originalErr;
      return;
    }
    if (code === undefined || !NOT_EMPTY.has(code)) throw e;
  }
  const names = step('scandir', path, () => namesAt(engine, path));
  for (const name of names) yield `${path}/${name}`;
  step('rmdir', path, () => rmdirAt(engine, path));
}

const NOT_EMPTY = new Set(['ENOTEMPTY', 'EEXIST', 'EPERM']);
const codeOf = (e: unknown) => (e instanceof Errno ? e.code : undefined);

function* removeOne(engine: OverlayEngine, path: string): Generator<string, void, void> {
  let isDir: boolean | undefined;
  try {
    isDir = step('lstat', path, () => objectAt(engine, path, false)).isDir;
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return;
    if (!(e instanceof Errno)) throw e;
    // Any other lstat failure: unlink is tried and reports its own error.
  }
  try {
    if (isDir) yield* removeDir(engine, path, undefined);
    else step('unlink', path, () => unlinkAt(engine, path));
  } catch (e) {
    const code = codeOf(e);
    if (code === 'ENOENT') return;
    if (code === 'EPERM') return yield* removeDir(engine, path, e);
    if (code !== 'EISDIR') throw e;
    yield* removeDir(engine, path, e);
  }
}

function* removeDir(engine: OverlayEngine, path: string, originalErr: unknown): Generator<string, void, void> {
  try {
    step('rmdir', path, () => rmdirAt(engine, path));
  } catch (e) {
    const code = codeOf(e);
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw originalErr ?? e;
    if (code === undefined || !NOT_EMPTY.has(code)) throw originalErr ?? e;
    for (const name of step('scandir', path, () => namesAt(engine, path))) yield `${path}/${name}`;
    try {
      step('rmdir', path, () => rmdirAt(engine, path));
    } catch (again) {
      if (codeOf(again) !== 'ENOENT') throw again;
    }
  }
}
