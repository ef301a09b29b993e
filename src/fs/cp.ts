import { posix } from 'node:path';
import type { OverlayFs } from './overlay-fs.js';
import type { BigIntStats } from './stats.js';
import { SURFACE } from './surface-types.js';
import { SystemError } from './errors.js';
import { invalidArgType } from './node-errors.js';
import { pathArg } from './args.js';
import { asText } from '../util/names.js';
import { validateBoolean, validateInteger, validateObject } from './validators.js';

/**
 * `cpSync` and `promises.cp` as Node 20 runs them (lib/internal/fs/cp/cp-sync.js and cp.js,
 * themselves fs-extra's copy): the same checks in the same order (src and dest the same, a
 * directory onto a non-directory and the reverse, a copy into its own subtree, through every
 * parent of dest), then a walk that copies files with copyFile and sets their mode with chmod,
 * makes directories with mkdir and copies symlinks with readlink and symlink, all through the
 * overlay's own calls (so a lower file is copied up only where the copy writes). The two
 * differ where Node's do; the walk is one generator whose only pauses are the filter's
 * results, which the sync driver refuses when they are promises and the async one awaits.
 */

export interface CpOptions {
  dereference?: boolean;
  errorOnExist?: boolean;
  filter?: (source: string, destination: string) => boolean | Promise<boolean>;
  force?: boolean;
  mode?: number;
  preserveTimestamps?: boolean;
  recursive?: boolean;
  verbatimSymlinks?: boolean;
}

type Opts = Required<Omit<CpOptions, 'filter'>> & Pick<CpOptions, 'filter'>;

const DEFAULTS = { dereference: false, errorOnExist: false, filter: undefined, force: true, preserveTimestamps: false, recursive: false, verbatimSymlinks: false };

/** validateCpOptions (lib/internal/fs/utils.js). */
export function cpOptions(options: unknown): Opts {
  if (options === undefined) return { ...DEFAULTS, mode: 0 } as Opts;
  validateObject(options, 'options');
  const o = { ...DEFAULTS, ...options } as Record<string, unknown>;
  for (const k of ['dereference', 'errorOnExist', 'force', 'preserveTimestamps', 'recursive', 'verbatimSymlinks']) validateBoolean(o[k], `options.${k}`);
  // getValidMode(mode, 'copyFile'): nothing is 0, anything else an integer from 0 to 7.
  if (o.mode === undefined || o.mode === null) o.mode = 0;
  else validateInteger(o.mode, 'mode', 0, 7);
  if (o.dereference === true && o.verbatimSymlinks === true) {
    const e = new TypeError('Option "dereference" cannot be used in combination with option "verbatimSymlinks"') as TypeError & { code: string };
    e.code = 'ERR_INCOMPATIBLE_OPTION_PAIR';
    throw e;
  }
  if (o.filter !== undefined && typeof o.filter !== 'function') throw invalidArgType('options.filter', 'Function', o.filter);
  return o as Opts;
}

type CpCode = 'ERR_FS_CP_EINVAL' | 'ERR_FS_CP_DIR_TO_NON_DIR' | 'ERR_FS_CP_NON_DIR_TO_DIR' | 'ERR_FS_CP_EEXIST' | 'ERR_FS_CP_SOCKET' | 'ERR_FS_CP_FIFO_PIPE' | 'ERR_FS_CP_UNKNOWN' | 'ERR_FS_CP_SYMLINK_TO_SUBDIRECTORY' | 'ERR_FS_EISDIR';

/** Node's messages for these SystemErrors (lib/internal/errors.js). */
const PREFIX: Record<CpCode, string> = {
  ERR_FS_CP_EINVAL: 'Invalid src or dest',
  ERR_FS_CP_DIR_TO_NON_DIR: 'Cannot overwrite non-directory with directory',
  ERR_FS_CP_NON_DIR_TO_DIR: 'Cannot overwrite directory with non-directory',
  ERR_FS_CP_EEXIST: 'Target already exists',
  ERR_FS_CP_SOCKET: 'Cannot copy a socket file',
  ERR_FS_CP_FIFO_PIPE: 'Cannot copy a FIFO pipe',
  ERR_FS_CP_UNKNOWN: 'Cannot copy an unknown file type',
  ERR_FS_CP_SYMLINK_TO_SUBDIRECTORY: 'Cannot overwrite symlink in subdirectory of self',
  ERR_FS_EISDIR: 'Path is a directory',
};

/** `path` is dest or src as given: a Buffer stays one in the error, as in Node's. */
function cpError(code: CpCode, errCode: 'EINVAL' | 'EISDIR' | 'ENOTDIR' | 'EEXIST', message: string, path: CpPath, errno: 'EINVAL' | 'EISDIR' | 'ENOTDIR' | 'EEXIST' = errCode): SystemError {
  return new SystemError(code, PREFIX[code], { code: errCode, message, path: path as string, syscall: 'cp' }, errno);
}

/** What is paused on: a filter's answer (src, dest). */
type Pause = boolean | Promise<boolean>;
type Walk = Generator<Pause, void, boolean>;

interface Ctx {
  ov: OverlayFs;
  opts: Opts;
  /** promises.cp: Node's cp.js, which differs from cp-sync.js in small places. */
  async: boolean;
}

/**
 * A path as cp takes it (getValidatedPath): a file: URL becomes its path, a string stays
 * one, bytes stay bytes; Node 20's cp then hands them to path.resolve and path.dirname as
 * given, which refuse bytes (see pathString), so a Buffer path is refused inside the walk,
 * after src has been stat'ed (a missing one is ENOENT), and reaches cp's callback or promise.
 */
export type CpPath = string | Uint8Array;

export function cpPath(value: unknown, name: 'src' | 'dest'): CpPath {
  const p = pathArg(value, name);
  return value instanceof Uint8Array ? value : asText(p);
}

/** node:path's validateString, as the first path call that sees a cp path runs it ('paths[0]' for resolve, 'path' for dirname). */
function pathString(p: CpPath, name: 'paths[0]' | 'path'): string {
  if (typeof p !== 'string') throw invalidArgType(name, 'string', p);
  return p;
}

/** path.resolve, from the overlay's working directory (Node's resolves from process.cwd()). */
const resolveIn = (c: Ctx, ...p: string[]) => c.ov[SURFACE].resolve(...p);

function areIdentical(a: BigIntStats, b: BigIntStats): boolean {
  return Boolean(b.ino && b.dev && b.ino === a.ino && b.dev === a.dev);
}

function isSrcSubdir(c: Ctx, src: CpPath, dest: CpPath): boolean {
  const s = resolveIn(c, pathString(src, 'paths[0]')).split('/').filter(Boolean);
  const d = resolveIn(c, pathString(dest, 'paths[0]')).split('/').filter(Boolean);
  return s.every((cur, i) => d[i] === cur);
}

function statOf(c: Ctx, p: CpPath, quiet: boolean): BigIntStats | undefined {
  const o = { bigint: true as const, throwIfNoEntry: !quiet };
  // The overlay's stat calls take bytes as Node's do.
  const path = p as string;
  return (c.opts.dereference ? c.ov.statSync(path, o) : c.ov.lstatSync(path, o)) as BigIntStats | undefined;
}

/** checkPaths: the filter, then src and dest compared. */
function* checkPaths(c: Ctx, src: CpPath, dest: CpPath): Generator<Pause, { skipped: boolean; srcStat?: BigIntStats; destStat?: BigIntStats }, boolean> {
  if (c.opts.filter && !(yield c.opts.filter(src as string, dest as string))) return { skipped: true };
  const srcStat = statOf(c, src, false)!;
  const destStat = statOf(c, dest, true);
  if (destStat) {
    if (areIdentical(srcStat, destStat)) throw cpError('ERR_FS_CP_EINVAL', 'EINVAL', 'src and dest cannot be the same', dest);
    if (srcStat.isDirectory() && !destStat.isDirectory()) throw cpError('ERR_FS_CP_DIR_TO_NON_DIR', 'EISDIR', `cannot overwrite non-directory ${dest} with directory ${src}`, dest);
    if (!srcStat.isDirectory() && destStat.isDirectory()) throw cpError('ERR_FS_CP_NON_DIR_TO_DIR', 'ENOTDIR', `cannot overwrite directory ${dest} with non-directory ${src}`, dest);
  }
  if (srcStat.isDirectory() && isSrcSubdir(c, src, dest)) throw cpError('ERR_FS_CP_EINVAL', 'EINVAL', `cannot copy ${src} to a subdirectory of self ${dest}`, dest);
  return { skipped: false, srcStat, destStat };
}

/** checkParentPaths: no parent of dest (up to the root) may be src. */
function checkParentPaths(c: Ctx, src: CpPath, srcStat: BigIntStats, dest: CpPath): void {
  for (let d = dest; ;) {
    const srcParent = resolveIn(c, posix.dirname(pathString(src, 'path')));
    const destParent = resolveIn(c, posix.dirname(pathString(d, 'path')));
    if (destParent === srcParent || destParent === '/') return;
    const st = c.ov.statSync(destParent, { bigint: true, throwIfNoEntry: false }) as BigIntStats | undefined;
    if (st === undefined) return;
    if (areIdentical(srcStat, st)) throw cpError('ERR_FS_CP_EINVAL', 'EINVAL', `cannot copy ${src} to a subdirectory of self ${dest}`, dest);
    d = destParent;
  }
}

function* copyEntry(c: Ctx, destStat: BigIntStats | undefined, src: string, dest: string): Walk {
  const { ov, opts } = c;
  const srcStat = opts.dereference ? ov.statSync(src) : ov.lstatSync(src);
  if (srcStat.isDirectory() && opts.recursive) {
    if (destStat) return yield* copyDir(c, src, dest);
    ov.mkdirSync(dest);
    yield* copyDir(c, src, dest);
    ov.chmodSync(dest, srcStat.mode);
    return;
  }
  // cp-sync.js gives this one errno EINVAL, cp.js EISDIR.
  if (srcStat.isDirectory()) throw cpError('ERR_FS_EISDIR', 'EISDIR', `${src} is a directory (not copied)`, src, c.async ? 'EISDIR' : 'EINVAL');
  if (srcStat.isFile() || srcStat.isCharacterDevice() || srcStat.isBlockDevice()) {
    if (destStat) {
      if (opts.force) ov.unlinkSync(dest);
      else if (opts.errorOnExist) throw cpError('ERR_FS_CP_EEXIST', 'EEXIST', `${dest} already exists`, dest);
      else return;
    }
    ov.copyFileSync(src, dest, opts.mode);
    if (opts.preserveTimestamps) {
      // A file that is not writable is made so first (its utimes would need write access).
      if ((srcStat.mode & 0o200) === 0) ov.chmodSync(dest, srcStat.mode | 0o200);
      const now = ov.statSync(src);
      ov.utimesSync(dest, now.atime, now.mtime);
    }
    ov.chmodSync(dest, srcStat.mode);
    return;
  }
  if (srcStat.isSymbolicLink()) return copyLink(c, destStat, src, dest);
  if (srcStat.isSocket()) throw cpError('ERR_FS_CP_SOCKET', 'EINVAL', `cannot copy a socket file: ${dest}`, dest);
  if (srcStat.isFIFO()) throw cpError('ERR_FS_CP_FIFO_PIPE', 'EINVAL', `cannot copy a FIFO pipe: ${dest}`, dest);
  throw cpError('ERR_FS_CP_UNKNOWN', 'EINVAL', `cannot copy an unknown file type: ${dest}`, dest);
}

function* copyDir(c: Ctx, src: string, dest: string): Walk {
  const dir = c.ov.opendirSync(src);
  try {
    for (let d = dir.readSync(); d !== null; d = dir.readSync()) {
      const srcItem = posix.join(src, d.name);
      const destItem = posix.join(dest, d.name);
      const r = yield* checkPaths(c, srcItem, destItem);
      if (!r.skipped) yield* copyEntry(c, r.destStat, srcItem, destItem);
    }
  } finally {
    // cp.js's `for await` closes the Dir too.
    dir.closeSync();
  }
}

function copyLink(c: Ctx, destStat: BigIntStats | undefined, src: string, dest: string): void {
  const { ov } = c;
  let target = ov.readlinkSync(src);
  if (!c.opts.verbatimSymlinks && !posix.isAbsolute(target)) target = resolveIn(c, posix.dirname(src), target);
  if (!destStat) return ov.symlinkSync(target, dest);
  let destTarget: string;
  try {
    destTarget = ov.readlinkSync(dest);
  } catch (e) {
    if ((e as { code?: string }).code === 'EINVAL') return ov.symlinkSync(target, dest);
    throw e;
  }
  if (!posix.isAbsolute(destTarget)) destTarget = resolveIn(c, posix.dirname(dest), destTarget);
  if (isSrcSubdir(c, target, destTarget)) throw cpError('ERR_FS_CP_EINVAL', 'EINVAL', `cannot copy ${target} to a subdirectory of self ${destTarget}`, dest);
  // cp-sync.js stats dest here, cp.js src.
  if (ov.statSync(c.async ? src : dest).isDirectory() && isSrcSubdir(c, destTarget, target)) {
    throw cpError('ERR_FS_CP_SYMLINK_TO_SUBDIRECTORY', 'EINVAL', `cannot overwrite ${destTarget} with ${target}`, dest);
  }
  ov.unlinkSync(dest);
  ov.symlinkSync(target, dest);
}

/** cpFn: the paths checked, dest's parent made, then the walk. */
function* cp(c: Ctx, src: CpPath, dest: CpPath): Walk {
  const r = yield* checkPaths(c, src, dest);
  if (r.skipped) return;
  checkParentPaths(c, src, r.srcStat!, dest);
  // checkParentPaths has refused bytes: both are strings from here on.
  const [s, d] = [src as string, dest as string];
  const parent = posix.dirname(d);
  if (!c.ov.existsSync(parent)) c.ov.mkdirSync(parent, { recursive: true });
  yield* copyEntry(c, r.destStat, s, d);
}

/** cpSync: a filter that returns a promise is ERR_INVALID_RETURN_VALUE. */
export function cpSync(ov: OverlayFs, src: CpPath, dest: CpPath, opts: Opts): void {
  const walk = cp({ ov, opts, async: false }, src, dest);
  for (let step = walk.next(); !step.done; ) {
    const answer = step.value;
    // util.types.isPromise, without node:util (the teaching page's bundle has none).
    if (answer instanceof Promise) {
      const e = new TypeError('Expected boolean to be returned from the "filter" function but got an instance of Promise.') as TypeError & { code: string };
      e.code = 'ERR_INVALID_RETURN_VALUE';
      walk.return();
      throw e;
    }
    step = walk.next(Boolean(answer));
  }
}

/** promises.cp: the filter's answer awaited. */
export async function cpAsync(ov: OverlayFs, src: CpPath, dest: CpPath, opts: Opts): Promise<void> {
  const walk = cp({ ov, opts, async: true }, src, dest);
  for (let step = walk.next(); !step.done; ) {
    let answer: boolean;
    try {
      answer = Boolean(await step.value);
    } catch (e) {
      step = walk.throw(e);
      continue;
    }
    step = walk.next(answer);
  }
}
