import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { asText } from '../util/names.js';
import { LayerContentError } from '../layer/content-error.js';
import { Errno, type ErrnoCode } from '../overlay/errno.js';

export type { ErrnoCode };

const systemErrors = getSystemErrorMap();

/**
 * An error shaped exactly like the ones Node's `fs` throws: `code`, negative `errno`,
 * `syscall`, `path` (and `dest` for two-path calls), and the message format
 * `ENOENT: no such file or directory, stat '/x'`. Code written for `fs` that inspects
 * `err.code` works unchanged.
 */
export class OverlayFsError extends Error {
  // Node's own properties in Node's order; `path` and `dest` only when given, `name` the prototype's.
  readonly errno: number;
  readonly code: ErrnoCode;
  readonly syscall: string;
  declare readonly path?: string;
  declare readonly dest?: string;

  constructor(code: ErrnoCode, syscall: string, path?: string, dest?: string, hint?: string) {
    const errno = -(constants.errno as Record<string, number>)[code]!;
    const description = systemErrors.get(errno)?.[1] ?? code.toLowerCase();
    let message = `${code}: ${description}, ${syscall}`;
    if (path !== undefined) message += ` '${path}'`;
    if (dest !== undefined) message += ` -> '${dest}'`;
    if (hint) message += ` (${hint})`;
    super(message);
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
    if (dest !== undefined) this.dest = dest;
  }
}

/** An engine errno as the error Node's fs throws for `syscall` on `path` (names shown as text); anything else as it is. */
export function asNodeError(e: unknown, syscall: string, path?: string, dest?: string): unknown {
  // A layer that cannot serve the verified content (its file changed after it was opened, or
  // was closed): an I/O error, as a disk that fails a read gives, never the changed bytes.
  // The layer's error is the cause.
  if (e instanceof LayerContentError) {
    const io = new OverlayFsError('EIO', syscall, path === undefined ? undefined : asText(path), dest === undefined ? undefined : asText(dest), e.message);
    io.cause = e;
    return io;
  }
  if (!(e instanceof Errno)) return e;
  if (e.at) return new OverlayFsError(e.code, e.at.syscall, asText(e.at.path), undefined, e.hint);
  return new OverlayFsError(e.code, syscall, path === undefined ? undefined : asText(path), dest === undefined ? undefined : asText(dest), e.hint);
}

/**
 * Node's `SystemError` for errors its JavaScript raises itself, such as rm of a directory
 * without `recursive` (ERR_FS_EISDIR): `code` is the Node code, `errno` is positive, `info`
 * holds the system error.
 */
export class SystemError extends Error {
  readonly code: string;
  readonly info: { code: string; message: string; path: string; syscall: string; errno: number };
  readonly errno: number;
  readonly syscall: string;
  readonly path: string;

  /** `errnoOf` names the errno when Node gives another than `info.code`'s (cp-sync.js's ERR_FS_EISDIR carries EINVAL). */
  constructor(code: string, prefix: string, info: { code: ErrnoCode; message: string; path: string; syscall: string }, errnoOf: ErrnoCode = info.code) {
    const errno = (constants.errno as Record<string, number>)[errnoOf]!;
    super(`${prefix}: ${info.syscall} returned ${info.code} (${info.message}) ${info.path}`);
    this.name = 'SystemError';
    this.code = code;
    this.info = { ...info, errno };
    this.errno = errno;
    this.syscall = info.syscall;
    this.path = info.path;
  }

  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}
