import { LayerfsError } from '../util/errors.js';

/**
 * saveImage could not write the layout, or would have written a wrong one. `path` names the
 * file or directory concerned; `code` is stable:
 * - a system errno when a call on the target failed (`ENOSPC`, `EROFS`, `EACCES`, `EDQUOT`,
 *   `EIO`, `EEXIST`...), and `ELOOP` for a symlink where the layout needs a file or a
 *   directory (a link in the layout is never followed);
 * - `ERR_BASE_BLOB`: a blob of the base image is no longer the one openImage verified
 *   (changed, truncated, deleted, unreadable); nothing references it in the output;
 * - `ERR_BLOB_MISMATCH`: the bytes written for a layer are not the ones measured for it;
 * - `ERR_LAYER_WRITE`: writing a layer failed in the writer, not on the target (the zstd
 *   compressor failed, a lower layer that cannot be read): the
 *   writer's error is the `cause`;
 * - `ERR_NOT_A_LAYOUT`: the target holds something other than an OCI image layout;
 * - `ERR_NEEDS_PROC`: no /proc/self/fd here (not Linux, or /proc not mounted); nothing written;
 * - `ERR_TARGET_CHANGED`: a directory or temporary of the layout was moved or replaced by
 *   another process while saving.
 * - `ERR_UNSAFE_LAYOUT`: an existing `blobs` or `blobs/<alg>` another user may write (not
 *   owned by this user or root, or writable by group or others).
 */
export class SaveImageError extends LayerfsError {
  constructor(code: string, readonly path: string, reason: string, options?: { cause?: unknown }) {
    super(code, `${path}: ${reason}`, options);
    this.name = 'SaveImageError';
  }
}

/**
 * A failed system call on `path` as a SaveImageError carrying its errno. The call's own
 * message ends in the path it was given, which for a name in a held directory is
 * `/proc/self/fd/N/name` (src/host/dir-handle.ts): only its errno and description are kept,
 * and `path` names the file.
 */
export function systemError(e: unknown, path: string, doing: string): SaveImageError {
  if (e instanceof SaveImageError) return e;
  const err = e as NodeJS.ErrnoException | undefined;
  const code = err?.code;
  let message = err?.message ?? String(e);
  // Node's form: "EACCES: permission denied, lstat '/proc/self/fd/21/blobs'" (-> 'dest').
  if (typeof err?.syscall === 'string') {
    const at = message.indexOf(`, ${err.syscall}`);
    if (at >= 0) message = message.slice(0, at);
  }
  return new SaveImageError(typeof code === 'string' ? code : 'EIO', path, `${doing}: ${message}`, { cause: e });
}

/** A symlink where the layout needs a file or a directory: refused, never followed. */
export const linkRefused = (path: string, what: 'file' | 'directory', cause?: unknown) =>
  new SaveImageError('ELOOP', path, `is a symlink; a ${what} of the layout is never followed`, { cause });
