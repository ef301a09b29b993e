import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

/** The errno names layerfs can raise; every one is a real Linux errno. */
export type ErrnoCode =
  | 'ENOENT' | 'EEXIST' | 'ENOTDIR' | 'EISDIR' | 'ENOTEMPTY' | 'EXDEV' | 'EINVAL'
  | 'ELOOP' | 'EPERM' | 'EBADF' | 'EBUSY' | 'ENAMETOOLONG' | 'EOPNOTSUPP' | 'EACCES' | 'EIO';

const systemErrors = getSystemErrorMap();

/**
 * An error shaped exactly like the ones Node's `fs` throws: `code`, negative `errno`,
 * `syscall`, `path` (and `dest` for two-path calls), and the message format
 * `ENOENT: no such file or directory, stat '/x'`. Code written for `fs` that inspects
 * `err.code` works unchanged.
 */
export class OverlayFsError extends Error {
  readonly code: ErrnoCode;
  readonly errno: number;
  readonly syscall: string;
  readonly path?: string;
  readonly dest?: string;

  constructor(code: ErrnoCode, syscall: string, path?: string, dest?: string, hint?: string) {
    const errno = -(constants.errno as Record<string, number>)[code]!;
    const description = systemErrors.get(errno)?.[1] ?? code.toLowerCase();
    let message = `${code}: ${description}, ${syscall}`;
    if (path !== undefined) message += ` '${path}'`;
    if (dest !== undefined) message += ` -> '${dest}'`;
    if (hint) message += ` (${hint})`;
    super(message);
    this.name = 'Error';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
    if (dest !== undefined) this.dest = dest;
  }
}

/** An errno signalled by the engine before the facade knows the caller's syscall and path. */
export class Errno extends Error {
  constructor(readonly code: ErrnoCode, readonly hint?: string) {
    super(code);
  }
}

export function fail(code: ErrnoCode, hint?: string): never {
  throw new Errno(code, hint);
}
