import type * as NodeFsModule from 'node:fs';
import { invalidArgType } from './node-errors.js';
import { pathArg } from './args.js';
import { validateBuffer, validateObject, validatedFd } from './validators.js';

/**
 * Node's callback API (`fs.stat(path, cb)`, ...) made from the overlay's sync calls, one
 * table row per call. Node checks a call's arguments before it starts the operation and throws
 * what it refuses; the operation's own failure reaches the callback, on a later tick, as
 * does the result (lib/fs.js: makeCallback, FSReqCallback). Here the sync call does both
 * steps at once, so its error is sorted by kind: an argument error (ARGUMENT_ERRORS) is thrown,
 * anything else goes to the callback.
 */

/** How a call's result reaches its callback. */
type ResultShape =
  /** `cb(null, value)`, or `cb(null)` when the call gives nothing (FSReqCallback::Resolve passes one argument for undefined). */
  | 'value'
  /** `cb(err, count, data)`: read, write, readv, writev give the byte count and the buffer(s) or string they were handed (0 on error). */
  | 'count-and-data';

export interface CallbackRow {
  /** Node's name: `fs[name]`, or `realpath.native` for a member of another call. */
  name: keyof typeof NodeFsModule | 'realpath.native';
  /** The overlay's sync call it is made of: a method of OverlayFs (or `realpathSync.native`). */
  sync: string;
  /** How many parameters Node's function declares, the callback last: where Node looks for it. */
  arity: number;
  result?: ResultShape;
  /**
   * Node takes a missing callback from the options' place (`callback ||= options`,
   * readFile/writeFile/appendFile), so its error names that argument's value.
   */
  looseCallback?: boolean;
  /** Node 20's close takes no callback (defaultCloseCallback throws a failure, uncaught). */
  optionalCallback?: boolean;
  /** The arguments checked before the callback, as Node does for descriptor calls (getValidatedFd first). */
  fdFirst?: boolean;
  /**
   * Made of this SURFACE call as the promises use it, not of `sync`: its error is the
   * asynchronous binding's, which names what the sync call's does not (Node 20's opendir
   * error names the path, mkdtemp's the name it tried).
   */
  asPromised?: 'opendir' | 'mkdtemp';
}

/**
 * Every callback call of Node 20's fs with its sync counterpart. A row whose sync call the
 * overlay does not have is inactive: its name stays missing from `ov.fs` (and the surface
 * test lists it) until the sync call exists.
 */
export const CALLBACK_ROWS = [
  { name: 'access', sync: 'accessSync', arity: 3 },
  { name: 'appendFile', sync: 'appendFileSync', arity: 4, looseCallback: true },
  { name: 'chmod', sync: 'chmodSync', arity: 3 },
  { name: 'chown', sync: 'chownSync', arity: 4 },
  { name: 'close', sync: 'closeSync', arity: 2, optionalCallback: true, fdFirst: true },
  { name: 'copyFile', sync: 'copyFileSync', arity: 4 },
  { name: 'cp', sync: 'cpSync', arity: 4 },
  { name: 'fchmod', sync: 'fchmodSync', arity: 3, fdFirst: true },
  { name: 'fchown', sync: 'fchownSync', arity: 4, fdFirst: true },
  { name: 'fdatasync', sync: 'fdatasyncSync', arity: 2, fdFirst: true },
  { name: 'fstat', sync: 'fstatSync', arity: 3, fdFirst: true },
  { name: 'fsync', sync: 'fsyncSync', arity: 2, fdFirst: true },
  { name: 'ftruncate', sync: 'ftruncateSync', arity: 3, fdFirst: true },
  { name: 'futimes', sync: 'futimesSync', arity: 4, fdFirst: true },
  { name: 'lchmod', sync: 'lchmodSync', arity: 3 },
  { name: 'lchown', sync: 'lchownSync', arity: 4 },
  { name: 'link', sync: 'linkSync', arity: 3 },
  { name: 'lstat', sync: 'lstatSync', arity: 3 },
  { name: 'lutimes', sync: 'lutimesSync', arity: 4 },
  { name: 'mkdir', sync: 'mkdirSync', arity: 3 },
  { name: 'mkdtemp', sync: 'mkdtempSync', arity: 3, asPromised: 'mkdtemp' },
  { name: 'open', sync: 'openSync', arity: 4 },
  { name: 'opendir', sync: 'opendirSync', arity: 3, asPromised: 'opendir' },
  { name: 'readdir', sync: 'readdirSync', arity: 3 },
  { name: 'readFile', sync: 'readFileSync', arity: 3, looseCallback: true },
  { name: 'readlink', sync: 'readlinkSync', arity: 3 },
  { name: 'readv', sync: 'readvSync', arity: 4, result: 'count-and-data', fdFirst: true },
  { name: 'realpath', sync: 'realpathSync', arity: 3 },
  { name: 'realpath.native', sync: 'realpathSync.native', arity: 3 },
  { name: 'rename', sync: 'renameSync', arity: 3 },
  { name: 'rm', sync: 'rmSync', arity: 3 },
  { name: 'rmdir', sync: 'rmdirSync', arity: 3 },
  { name: 'stat', sync: 'statSync', arity: 3 },
  { name: 'statfs', sync: 'statfsSync', arity: 3 },
  { name: 'symlink', sync: 'symlinkSync', arity: 4 },
  { name: 'truncate', sync: 'truncateSync', arity: 3 },
  { name: 'unlink', sync: 'unlinkSync', arity: 2 },
  { name: 'utimes', sync: 'utimesSync', arity: 4 },
  { name: 'write', sync: 'writeSync', arity: 6, result: 'count-and-data', fdFirst: true },
  { name: 'writeFile', sync: 'writeFileSync', arity: 4, looseCallback: true },
  { name: 'writev', sync: 'writevSync', arity: 4, result: 'count-and-data', fdFirst: true },
] as const satisfies readonly CallbackRow[];

/**
 * The errors Node throws at the call rather than pass to the callback: its checks of the
 * arguments, and process.cwd()'s (isArgumentError) (ERR_FS_EISDIR, ERR_FS_FILE_TOO_LARGE and the cp errors come from the operation
 * and reach the callback).
 */
const ARGUMENT_ERRORS = new Set([
  'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE', 'ERR_UNKNOWN_ENCODING',
  'ERR_FS_INVALID_SYMLINK_TYPE', 'ERR_INVALID_URL_SCHEME', 'ERR_INVALID_FILE_URL_PATH', 'ERR_INVALID_FILE_URL_HOST',
  'ERR_MISSING_ARGS',
]);

function isArgumentError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  // process.cwd() fails in the caller's turn too: realpath's path.resolve runs before its request.
  return ARGUMENT_ERRORS.has((e as { code?: string }).code ?? '') || (e as { syscall?: string }).syscall === 'uv_cwd';
}

type Callback = (...args: unknown[]) => void;
type SyncCall = (...args: unknown[]) => unknown;

function checkedCallback(cb: unknown): Callback {
  if (typeof cb !== 'function') throw invalidArgType('cb', 'function', cb);
  return cb as Callback;
}

/** Runs `sync(...args)` now; its argument error is thrown, its result or other error goes to `cb` on a later tick. */
function settle(sync: SyncCall, args: unknown[], cb: Callback, shape: ResultShape): void {
  let value: unknown;
  try {
    value = sync(...args);
  } catch (e) {
    if (isArgumentError(e)) throw e;
    if (shape === 'count-and-data') process.nextTick(cb, e, 0, args[1]);
    else process.nextTick(cb, e);
    return;
  }
  if (shape === 'count-and-data') process.nextTick(cb, null, value, args[1]);
  else if (value === undefined) process.nextTick(cb, null);
  else process.nextTick(cb, null, value);
}

/** The callback form of one row's sync call. */
export function callbackCall(row: CallbackRow, sync: SyncCall): Callback {
  const shape = row.result ?? 'value';
  return function (...args: unknown[]): void {
    if (row.fdFirst) validatedFd(args[0]);
    let cb: unknown = args[args.length - 1];
    if (typeof cb === 'function') args.pop();
    else {
      cb = args.length >= row.arity ? args[row.arity - 1] : row.looseCallback ? args[row.arity - 2] : undefined;
      if (row.optionalCallback && cb === undefined) cb = rethrowLater;
    }
    settle(sync, args, checkedCallback(cb), shape);
  };
}

/** Node's defaultCloseCallback: a failure of a close given no callback is thrown, uncaught. */
function rethrowLater(err: unknown): void {
  if (err !== null && err !== undefined) throw err;
}

/**
 * Node's fs.read: `(fd, buffer, offset, length, position, cb)`, `(fd, buffer, options, cb)`,
 * `(fd, options, cb)` or `(fd, cb)` (a 16 KiB buffer of its own then), parsed as lib/fs.js
 * parses them (by the count of arguments), then readSync's checks.
 */
export function readCallback(readSync: SyncCall): Callback {
  return function read(...args: unknown[]): void {
    const fd = validatedFd(args[0]);
    let [, buffer, offset, length, position, callback] = args;
    if (args.length <= 4) {
      let params: unknown;
      if (args.length === 4) {
        validateObject(offset, 'options', true);
        callback = length;
        params = offset;
      } else if (args.length === 3) {
        if (!ArrayBuffer.isView(buffer)) {
          params = buffer;
          ({ buffer = Buffer.alloc(16384) } = (params ?? {}) as Record<string, unknown>);
        }
        callback = offset;
      } else {
        callback = buffer;
        buffer = Buffer.alloc(16384);
      }
      if (params !== undefined) validateObject(params, 'options', true);
      ({ offset = 0, length = (buffer as Buffer | undefined)?.byteLength! - (offset as number), position = null } = (params ?? {}) as Record<string, unknown>);
    }
    validateBuffer(buffer);
    settle(readSync, [fd, buffer, offset, length, position], checkedCallback(callback), 'count-and-data');
  };
}

/**
 * Node's fs.exists: the callback gets a bare boolean; a path Node refuses is `false`, given
 * at once (lib/fs.js catches the access call's throw and calls back synchronously).
 */
export function existsCallback(existsSync: (path: never) => boolean): (path: unknown, cb: unknown) => void {
  return function exists(path: unknown, callback: unknown): void {
    const cb = checkedCallback(callback);
    try {
      pathArg(path);
    } catch {
      cb(false);
      return;
    }
    process.nextTick(cb, existsSync(path as never));
  };
}

/** The callback calls of Node's fs that `ov.fs` gives when their sync call exists. */
export type CallbackName = Extract<keyof typeof NodeFsModule, 'exists' | 'read' | (typeof CALLBACK_ROWS)[number]['name']>;
