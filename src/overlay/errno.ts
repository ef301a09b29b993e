/**
 * The overlay tier's errors: an errno name, raised where a rule decides it (path in, errno
 * out), before the fs facade knows the caller's syscall and path; src/fs/errors.ts turns it
 * into the error Node's fs throws. Internal: users see OverlayFsError.
 */

/** The errno names layerfs can raise; every one is a real Linux errno. */
export type ErrnoCode =
  | 'ENOENT' | 'EEXIST' | 'ENOTDIR' | 'EISDIR' | 'ENOTEMPTY' | 'EXDEV' | 'EINVAL'
  | 'ELOOP' | 'EPERM' | 'EBADF' | 'EBUSY' | 'ENAMETOOLONG' | 'ENOTSUP' | 'EACCES' | 'EFBIG' | 'EIO' | 'ENODATA';

/**
 * An errno signalled by the engine before the facade knows the caller's syscall and path.
 * Operations made of several system calls (rm -r, mkdir -p) name the step that failed in `at`.
 */
export class Errno extends Error {
  readonly code: ErrnoCode;
  readonly hint: string | undefined;
  readonly at: { syscall: string; path: string } | undefined;

  constructor(code: ErrnoCode, hint?: string, at?: { syscall: string; path: string }) {
    // No stack: an Errno never reaches a caller (the facade throws an OverlayFsError with its
    // own), and capturing one is most of what a missing name costs statSync with
    // throwIfNoEntry: false, or existsSync.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(code);
    Error.stackTraceLimit = limit;
    this.code = code;
    this.hint = hint;
    this.at = at;
  }
}

export function fail(code: ErrnoCode, hint?: string): never {
  throw new Errno(code, hint);
}

/** Runs one step of a compound operation: its errno names that step's system call and path. */
export function step<T>(syscall: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Errno && !e.at) throw new Errno(e.code, e.hint, { syscall, path });
    throw e;
  }
}
