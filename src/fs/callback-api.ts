// Over 300 lines: one table, a row per callback call of node:fs with where its callback sits and
// what Node checks before it (the order of its errors); split, the rows would lose that order.
import type * as NodeFsModule from 'node:fs';
import { invalidArgType } from './node-errors.js';
import { pathArg } from './args.js';
import { parseFileMode, stringToFlags, unixTimestamp, validateBuffer, validateEncodingFor, validateInteger, validateObject, validatedFd } from './validators.js';
import { validateBufferArray } from './surface-types.js';
import { cpOptions, cpPath } from './cp.js';

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

/**
 * Where Node's function finds its callback (lib/fs.js), so a misplaced one is refused as Node
 * refuses it rather than taken from wherever a function happens to be:
 * - `fixed`: always at `arity - 1` (`unlink(p, {}, cb)` names `{}` as the bad "cb");
 * - `optional`: at `arity - 2` when that is a function (the optional argument then takes its
 *   default), else at `arity - 1` (`if (typeof options === 'function') callback = options`);
 * - `loose`: `callback ||= options` (readFile, writeFile, appendFile, readv, writev,
 *   realpath.native): the optional argument's place when the last is missing (falsy);
 * - `last`: symlink takes `arguments[arguments.length - 1]`, whatever it is.
 */
type CallbackPlace = 'fixed' | 'optional' | 'loose' | 'last';

export interface CallbackRow {
  /** Node's name: `fs[name]`, or `realpath.native` for a member of another call. */
  name: keyof typeof NodeFsModule | 'realpath.native';
  /** The overlay's sync call it is made of: a method of OverlayFs (or `realpathSync.native`). */
  sync: string;
  /** How many parameters Node's function declares, the callback last. */
  arity: number;
  place: CallbackPlace;
  result?: ResultShape;
  /** Node 20's close takes no callback (defaultCloseCallback throws a failure, uncaught). */
  optionalCallback?: boolean;
  /** The name Node's check gives a bad callback (opendir's validateFunction says "callback"). */
  callbackName?: string;
  /**
   * The argument checks Node runs before it checks the callback (the rest run after, in the
   * sync call), given the arguments as the sync call gets them: e.g. access and copyFile
   * validate their paths first, fchmod its mode, readv its descriptor and buffers.
   */
  before?: (args: unknown[]) => void;
  /**
   * All of Node's argument checks, run after the callback's, for a call whose operation may
   * itself fail with an argument-kind error that Node passes to the callback (cp: path.resolve
   * refuses a Buffer path inside the walk). What they refuse is thrown; every error of the
   * sync call after them reaches the callback.
   */
  checks?: (args: unknown[]) => void;
  /**
   * Made of this SURFACE call as the promises use it, not of `sync`: its error is the
   * asynchronous binding's, which names what the sync call's does not (Node 20's opendir
   * error names the path, mkdtemp's the name it tried).
   */
  asPromised?: 'opendir' | 'mkdtemp';
}

const path0 = (a: unknown[]): void => void pathArg(a[0]);
const fdAndBuffers = (a: unknown[]): void => {
  validatedFd(a[0]);
  validateBufferArray(a[1]);
};
const len1 = (a: unknown[]): void => {
  if (a[1] !== undefined) validateInteger(a[1], 'len');
};
const ids = (a: unknown[]): void => {
  validateInteger(a[1], 'uid', -1, MAX_USER_ID);
  validateInteger(a[2], 'gid', -1, MAX_USER_ID);
};
/** kMaxUserId (lib/internal/fs/utils.js): 2 ** 32 - 1. */
const MAX_USER_ID = 2 ** 32 - 1;

/**
 * Every callback call of Node 20's fs with its sync counterpart. A row whose sync call the
 * overlay does not have is inactive: its name stays missing from `ov.fs` (and the surface
 * test lists it) until the sync call exists. fs.open, fs.write and fs.read have parsers of
 * their own below.
 */
export const CALLBACK_ROWS = [
  { name: 'access', sync: 'accessSync', arity: 3, place: 'optional', before: path0 },
  { name: 'appendFile', sync: 'appendFileSync', arity: 4, place: 'loose' },
  { name: 'chmod', sync: 'chmodSync', arity: 3, place: 'fixed', before: (a) => { pathArg(a[0]); parseFileMode(a[1], 'mode'); } },
  { name: 'chown', sync: 'chownSync', arity: 4, place: 'fixed' },
  { name: 'close', sync: 'closeSync', arity: 2, place: 'fixed', optionalCallback: true },
  { name: 'copyFile', sync: 'copyFileSync', arity: 4, place: 'optional', before: (a) => { pathArg(a[0], 'src'); pathArg(a[1], 'dest'); } },
  { name: 'cp', sync: 'cpSync', arity: 4, place: 'optional', checks: (a) => { cpOptions(a[2]); cpPath(a[0], 'src'); cpPath(a[1], 'dest'); } },
  { name: 'fchmod', sync: 'fchmodSync', arity: 3, place: 'fixed', before: (a) => void parseFileMode(a[1], 'mode') },
  { name: 'fchown', sync: 'fchownSync', arity: 4, place: 'fixed', before: ids },
  { name: 'fdatasync', sync: 'fdatasyncSync', arity: 2, place: 'fixed' },
  { name: 'fstat', sync: 'fstatSync', arity: 3, place: 'optional' },
  { name: 'fsync', sync: 'fsyncSync', arity: 2, place: 'fixed' },
  { name: 'ftruncate', sync: 'ftruncateSync', arity: 3, place: 'optional', before: len1 },
  { name: 'futimes', sync: 'futimesSync', arity: 4, place: 'fixed', before: (a) => { unixTimestamp(a[1], 'atime'); unixTimestamp(a[2], 'mtime'); } },
  { name: 'lchmod', sync: 'lchmodSync', arity: 3, place: 'fixed' },
  { name: 'lchown', sync: 'lchownSync', arity: 4, place: 'fixed' },
  { name: 'link', sync: 'linkSync', arity: 3, place: 'fixed' },
  { name: 'lstat', sync: 'lstatSync', arity: 3, place: 'optional' },
  { name: 'lutimes', sync: 'lutimesSync', arity: 4, place: 'fixed' },
  { name: 'mkdir', sync: 'mkdirSync', arity: 3, place: 'optional' },
  { name: 'mkdtemp', sync: 'mkdtempSync', arity: 3, place: 'optional', asPromised: 'mkdtemp' },
  { name: 'opendir', sync: 'opendirSync', arity: 3, place: 'optional', callbackName: 'callback', asPromised: 'opendir' },
  { name: 'readdir', sync: 'readdirSync', arity: 3, place: 'optional' },
  { name: 'readFile', sync: 'readFileSync', arity: 3, place: 'loose' },
  { name: 'readlink', sync: 'readlinkSync', arity: 3, place: 'optional' },
  { name: 'readv', sync: 'readvSync', arity: 4, place: 'loose', result: 'count-and-data', before: fdAndBuffers },
  { name: 'realpath', sync: 'realpathSync', arity: 3, place: 'optional' },
  { name: 'realpath.native', sync: 'realpathSync.native', arity: 3, place: 'loose' },
  { name: 'rename', sync: 'renameSync', arity: 3, place: 'fixed' },
  { name: 'rm', sync: 'rmSync', arity: 3, place: 'optional', before: path0 },
  { name: 'rmdir', sync: 'rmdirSync', arity: 3, place: 'optional' },
  { name: 'stat', sync: 'statSync', arity: 3, place: 'optional' },
  { name: 'statfs', sync: 'statfsSync', arity: 3, place: 'optional' },
  { name: 'symlink', sync: 'symlinkSync', arity: 4, place: 'last' },
  { name: 'truncate', sync: 'truncateSync', arity: 3, place: 'optional', before: len1 },
  { name: 'unlink', sync: 'unlinkSync', arity: 2, place: 'fixed' },
  { name: 'utimes', sync: 'utimesSync', arity: 4, place: 'fixed' },
  { name: 'writeFile', sync: 'writeFileSync', arity: 4, place: 'loose' },
  { name: 'writev', sync: 'writevSync', arity: 4, place: 'loose', result: 'count-and-data', before: fdAndBuffers },
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

function checkedCallback(cb: unknown, name = 'cb'): Callback {
  if (typeof cb !== 'function') throw invalidArgType(name, 'function', cb);
  return cb as Callback;
}

/** Runs `sync(...args)` now; its argument error is thrown, its result or other error goes to `cb` on a later tick. */
function settle(sync: SyncCall, args: unknown[], cb: Callback, shape: ResultShape, checked = false): void {
  let value: unknown;
  try {
    value = sync(...args);
  } catch (e) {
    if (!checked && isArgumentError(e)) throw e;
    if (shape === 'count-and-data') process.nextTick(cb, e, 0, args[1]);
    else process.nextTick(cb, e);
    return;
  }
  if (shape === 'count-and-data') process.nextTick(cb, null, value, args[1]);
  else if (value === undefined) process.nextTick(cb, null);
  else process.nextTick(cb, null, value);
}

/** The callback and the sync call's arguments, found as Node finds them for the row's place. */
function placeCallback(row: CallbackRow, args: unknown[]): { cb: unknown; args: unknown[] } {
  const { arity } = row;
  switch (row.place) {
    case 'fixed':
      return { cb: args[arity - 1], args: args.slice(0, arity - 1) };
    case 'optional':
      if (typeof args[arity - 2] === 'function') return { cb: args[arity - 2], args: args.slice(0, arity - 2) };
      return { cb: args[arity - 1], args: args.slice(0, arity - 1) };
    case 'loose':
      if (args[arity - 1]) return { cb: args[arity - 1], args: args.slice(0, arity - 1) };
      return { cb: args[arity - 2], args: args.slice(0, arity - 2) };
    case 'last': {
      // symlink(target, path, type_, callback_): a type that is not a string is null.
      const [target, path, type] = args;
      return { cb: args[args.length - 1], args: [target, path, typeof type === 'string' ? type : undefined] };
    }
  }
}

/** The callback form of one row's sync call. */
export function callbackCall(row: CallbackRow, sync: SyncCall): Callback {
  const shape = row.result ?? 'value';
  return function (...given: unknown[]): void {
    const placed = placeCallback(row, given);
    row.before?.(placed.args);
    let cb = placed.cb;
    if (row.optionalCallback && cb === undefined) cb = rethrowLater;
    const callback = checkedCallback(cb, row.callbackName);
    row.checks?.(placed.args);
    settle(sync, placed.args, callback, shape, row.checks !== undefined);
  };
}

/**
 * Node's fs.open(path, [flags, [mode]], cb): fewer than 3 arguments make the second the
 * callback; a function third is the callback; path, mode and flags are checked before it.
 */
export function openCallback(openSync: SyncCall): Callback {
  return function open(...args: unknown[]): void {
    const path = args[0];
    pathArg(path);
    let cb: unknown;
    let syncArgs: unknown[];
    if (args.length < 3) [cb, syncArgs] = [args[1], [path]];
    else if (typeof args[2] === 'function') [cb, syncArgs] = [args[2], [path, args[1]]];
    else {
      parseFileMode(args[2], 'mode', 0o666);
      [cb, syncArgs] = [args[3], [path, args[1], args[2]]];
    }
    stringToFlags(syncArgs[1]);
    settle(openSync, syncArgs, checkedCallback(cb), 'value');
  };
}

/**
 * Node's fs.write: `(fd, buffer, [offset, [length, [position]]], cb)` (or `(fd, buffer,
 * options, cb)`) takes `callback ||= position || length || offset`; `(fd, string, [position,
 * [encoding]], cb)` takes the callback after what is given (lib/fs.js write). The
 * descriptor is checked first, the callback next, the rest in writeSync.
 */
export function writeCallback(writeSync: SyncCall): Callback {
  return function write(...args: unknown[]): void {
    const fd = validatedFd(args[0]);
    const buffer = args[1];
    let [, , offset, length, position, callback] = args;
    if (ArrayBuffer.isView(buffer)) {
      callback ||= position || length || offset;
      const cb = checkedCallback(callback);
      if (typeof offset === 'object') {
        ({ offset = 0, length = buffer.byteLength - (offset as unknown as number), position = null } = (offset ?? {}) as Record<string, unknown>);
      }
      if (offset === null || offset === undefined || typeof offset === 'function') offset = 0;
      if (typeof length !== 'number') length = buffer.byteLength - (offset as number);
      if (typeof position !== 'number') position = null;
      settle(writeSync, [fd, buffer, offset, length, position], cb, 'count-and-data');
      return;
    }
    // Data that is neither bytes nor a string is refused before the callback is looked at:
    // writeSync throws Node's error for it (validateStringAfterArrayBufferView).
    if (typeof buffer !== 'string') writeSync(fd, buffer);
    if (typeof position !== 'function') {
      if (typeof offset === 'function') [position, offset] = [offset, null];
      else position = length;
      length = 'utf8';
    }
    if (typeof length === 'string') validateEncodingFor(buffer as string, length);
    settle(writeSync, [fd, buffer, offset, length], checkedCallback(position), 'count-and-data');
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
export type CallbackName = Extract<keyof typeof NodeFsModule, 'exists' | 'read' | 'open' | 'write' | (typeof CALLBACK_ROWS)[number]['name']>;
