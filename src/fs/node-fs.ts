import * as nodeFs from 'node:fs';
import type { OverlayFs } from './overlay-fs.js';
import { Stats, Dirent } from './stats.js';
import { Dir } from './dir.js';
import { CALLBACK_ROWS, callbackCall, existsCallback, openCallback, readCallback, writeCallback } from './callback-api.js';
import { SURFACE } from './surface-types.js';

type NodeFsModule = typeof nodeFs;

/**
 * `ov.fs`: the overlay as a module shaped like `node:fs`, for libraries that take an `fs`
 * (fast-glob's and glob's `fs` option, isomorphic-git, archiver, memfs' createFsFromVolume
 * does the same for a Volume). Every member is an own, enumerable property, bound to the
 * overlay: libraries copy the object (`{ ...fs }`), destructure it or pass its methods on,
 * and a member on a prototype would be lost and the host's fs used instead, silently.
 */

/** Node's sync calls and the other calls that return at once, given when the overlay has them. */
const DIRECT_NAMES = [
  'accessSync', 'appendFileSync', 'chmodSync', 'chownSync', 'closeSync', 'copyFileSync', 'cpSync', 'existsSync',
  'fchmodSync', 'fchownSync', 'fdatasyncSync', 'fstatSync', 'fsyncSync', 'ftruncateSync', 'futimesSync',
  'lchmodSync', 'lchownSync', 'linkSync', 'lstatSync', 'lutimesSync', 'mkdirSync', 'mkdtempSync', 'openSync',
  'opendirSync', 'readdirSync', 'readSync', 'readvSync', 'readFileSync', 'readlinkSync', 'realpathSync',
  'renameSync', 'rmSync', 'rmdirSync', 'statSync', 'statfsSync', 'symlinkSync', 'truncateSync', 'unlinkSync',
  'utimesSync', 'writeFileSync', 'writeSync', 'writevSync', 'watch', 'watchFile', 'unwatchFile', 'openAsBlob',
] as const satisfies ReadonlyArray<keyof NodeFsModule>;

/**
 * Node's names that OverlayFs implements under the same name, with Node's signatures: the
 * type check holds them to @types/node's (`satisfies` in makeNodeFs). The streams are
 * typed by ov.fs's own createReadStream/createWriteStream; promises by OverlayPromises.
 */
type OwnName = Exclude<Extract<keyof NodeFsModule, keyof OverlayFs>, 'promises' | 'createReadStream' | 'createWriteStream' | 'realpathSync'>;

/**
 * The same for the promises, but the calls that give or take a FileHandle: the overlay's is its
 * own class (a host FileHandle given to the overlay's readFile would be refused: it is
 * another file), so they are typed by it.
 */
type OwnPromiseName = Exclude<Extract<keyof NodeFsModule['promises'], keyof OverlayFs['promises']>, 'open' | 'readFile' | 'writeFile' | 'appendFile'>;

/** The callback calls whose sync call the overlay has (CALLBACK_ROWS), typed as Node's. */
type Row = (typeof CALLBACK_ROWS)[number];
type CallbackName = Extract<Extract<Row, { sync: keyof OverlayFs }>['name'], keyof NodeFsModule> | 'exists' | 'read';

export type OverlayNodeFs = Pick<OverlayFs, OwnName> &
  Pick<NodeFsModule, CallbackName | 'createReadStream' | 'createWriteStream' | 'realpathSync' | 'constants'> & {
    /** Constructible as in Node (`new fs.ReadStream(path, options)`, which @types/node does not declare). */
    ReadStream: NodeFsModule['ReadStream'] & (new (path: nodeFs.PathLike, options?: Parameters<NodeFsModule['createReadStream']>[1]) => nodeFs.ReadStream);
    WriteStream: NodeFsModule['WriteStream'] & (new (path: nodeFs.PathLike, options?: Parameters<NodeFsModule['createWriteStream']>[1]) => nodeFs.WriteStream);
    /** fs.constants' access modes, also on the module (Node has them; @types/node does not). */
    F_OK: number;
    R_OK: number;
    W_OK: number;
    X_OK: number;
    /** Node's older names of ReadStream and WriteStream (not in @types/node). */
    FileReadStream: OverlayNodeFs['ReadStream'];
    FileWriteStream: OverlayNodeFs['WriteStream'];
    promises: OverlayFs['promises'] & { constants: NodeFsModule['constants'] };
    Stats: typeof Stats;
    Dirent: typeof Dirent;
    /** What opendir gives (fs.Dir); as Node's, not meant to be constructed by callers. */
    Dir: typeof Dir;
  };

type StreamName = 'createReadStream' | 'createWriteStream' | 'ReadStream' | 'WriteStream';

type AnyCall = (...args: unknown[]) => unknown;

/** A call of the overlay by Node's name (`realpathSync.native` for a member of a call), bound to it; undefined when it has none. */
function overlayCall(ov: OverlayFs, path: string): AnyCall | undefined {
  const [name, member] = path.split('.') as [string, string | undefined];
  const method = (ov as unknown as Record<string, unknown>)[name];
  if (typeof method !== 'function') return undefined;
  if (member === undefined) return (method as AnyCall).bind(ov);
  const inner = (method as unknown as Record<string, unknown>)[member];
  return typeof inner === 'function' ? (inner as AnyCall).bind(ov) : undefined;
}

/** A SURFACE call as promises.ts makes it (its errors named as the asynchronous binding's), `(path, options?)`. */
function promisedCall(ov: OverlayFs, name: 'opendir' | 'mkdtemp'): AnyCall {
  return (path, options) => ov[SURFACE][name](path as never, options, true);
}

/** Own enumerable properties of `source`, each function bound to `source` (so a copy works). */
function boundCopy<T extends object>(source: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(source)) out[k] = typeof v === 'function' ? (v as AnyCall).bind(source) : v;
  return out as T;
}

/**
 * Node's fs.ReadStream and fs.WriteStream over the overlay, constructible (`new
 * fs.ReadStream(path, options)`, which lib/fs.js allows too): what the overlay's
 * createReadStream/createWriteStream make, given this class's prototype (which extends
 * Node's), so `instanceof` holds for this class, a subclass and Node's own.
 */
function streamClasses(ov: OverlayFs) {
  return {
    ReadStream: streamClass('ReadStream', nodeFs.ReadStream, (path, options) => ov.createReadStream(path, options as never)) as OverlayNodeFs['ReadStream'],
    WriteStream: streamClass('WriteStream', nodeFs.WriteStream, (path, options) => ov.createWriteStream(path, options as never)) as OverlayNodeFs['WriteStream'],
  };
}

/** A constructor (callable without `new`, as Node's) whose instances are what `make` returns, under this constructor's prototype. */
function streamClass<C extends abstract new (...args: never[]) => object>(name: string, base: C, make: (path: nodeFs.PathLike, options: unknown) => object): C {
  const ctor = function (this: unknown, path: nodeFs.PathLike, options?: unknown): object {
    const stream = make(path, options);
    // Only Node's own stream takes this prototype (it only adds the class to Node's chain);
    // a stream of another class keeps its own.
    if (Object.getPrototypeOf(stream) === base.prototype) Object.setPrototypeOf(stream, (new.target ?? ctor).prototype as object);
    return stream;
  };
  Object.defineProperty(ctor, 'name', { value: name });
  ctor.prototype = Object.create(base.prototype as object, { constructor: { value: ctor, writable: true, configurable: true } });
  Object.setPrototypeOf(ctor, base);
  return ctor as unknown as C;
}

export function makeNodeFs(ov: OverlayFs): OverlayNodeFs {
  const out: Record<string, unknown> = {};
  for (const name of DIRECT_NAMES) {
    const call = overlayCall(ov, name);
    // Node's own module has some names without a value on Linux (lchmod): so does this.
    if (call || name in nodeFs) out[name] = call;
  }
  // realpathSync.native is a member of realpathSync, as in Node.
  out.realpathSync = Object.assign(ov.realpathSync.bind(ov), {
    native: overlayCall(ov, 'realpathSync.native') as unknown as NodeFsModule['realpathSync']['native'],
  }) satisfies NodeFsModule['realpathSync'];
  for (const row of CALLBACK_ROWS) {
    const sync = 'asPromised' in row ? promisedCall(ov, row.asPromised) : overlayCall(ov, row.sync);
    const [name, member] = row.name.split('.') as [string, string | undefined];
    if (member === undefined) {
      if (sync) out[name] = callbackCall(row, sync);
      else if (name in nodeFs) out[name] = undefined;
    } else if (sync && typeof out[name] === 'function') {
      (out[name] as unknown as Record<string, unknown>)[member] = callbackCall(row, sync);
    }
  }
  out.read = readCallback(out.readSync as AnyCall);
  out.open = openCallback(out.openSync as AnyCall);
  out.write = writeCallback(out.writeSync as AnyCall);
  out.exists = existsCallback(out.existsSync as (path: never) => boolean);

  const { ReadStream, WriteStream } = streamClasses(ov);
  const streams = {
    ReadStream,
    WriteStream,
    createReadStream: (path, options) => new ReadStream(path, options),
    createWriteStream: (path, options) => new WriteStream(path, options),
  } satisfies Pick<NodeFsModule, StreamName>;

  const { constants } = nodeFs;
  const own = Object.fromEntries(Object.keys(out).filter((k) => k in ov).map((k) => [k, out[k]])) as Pick<OverlayFs, OwnName>;
  // The type check: each of the overlay's calls has @types/node's overloads.
  own satisfies Pick<NodeFsModule, OwnName>;
  const promises = Object.assign(boundCopy(ov.promises), { constants });
  promises satisfies Pick<NodeFsModule['promises'], OwnPromiseName>;
  withEveryName(promises, nodeFs.promises);
  Object.assign(out, streams, {
    FileReadStream: ReadStream,
    FileWriteStream: WriteStream,
    promises,
    constants,
    F_OK: constants.F_OK,
    R_OK: constants.R_OK,
    W_OK: constants.W_OK,
    X_OK: constants.X_OK,
    Stats,
    Dirent,
    Dir,
  });
  withEveryName(out, nodeFs);
  return out as OverlayNodeFs;
}

/**
 * Gives `target` each of Node's names it lacks, as an own property without a value.
 * Libraries merge the fs they are handed over Node's (`{ ...fs, ...options.fs }`, path-scurry
 * does so for `promises`): a name left out would silently be the host's call.
 */
function withEveryName(target: object, node: object): void {
  for (const k of Object.keys(node)) if (k !== 'default' && !(k in target)) (target as Record<string, unknown>)[k] = undefined;
}
