// The errors of calls relative to a directory descriptor (dir-handle.ts and the calls built on it).

/** A name a directory handle refuses: empty, `.`, `..`, or holding `/` or NUL. */
export class UnsafeNameError extends Error {
  constructor(readonly dir: string, readonly entry: string) {
    super(`${dir}: ${JSON.stringify(entry)} is not a single path component`);
    this.name = 'UnsafeNameError';
  }
}

/** A name is a mount point (another filesystem, or a bind mount): not removed, not gone into. */
export class MountPointError extends Error {
  readonly code = 'ERR_MOUNT_POINT';

  constructor(readonly path: string) {
    super(`${path}: a mount point (another filesystem or a bind mount); not removed or written into`);
    this.name = 'MountPointError';
  }
}

/** A directory made by this process was replaced by another before it could be opened. */
export class ReplacedError extends Error {
  readonly code = 'EREPLACED';

  constructor(readonly path: string) {
    super(`${path}: replaced by another process right after it was made`);
    this.name = 'ReplacedError';
  }
}
