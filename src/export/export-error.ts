import { getSystemErrorMap } from 'node:util';
import { MountPointError, ReplacedError, UnsafeNameError } from '../host/dir-errors.js';
import { LayerfsError } from '../util/errors.js';

/**
 * The codes of an ExportError that are not an errno (docs/export.md):
 * - `ERR_NOT_EMPTY`: the target has entries and neither allowNonEmpty nor overwrite was given;
 * - `ERR_TARGET_CHANGED`: the target, a directory made, or a name written was moved or
 *   replaced by another process (with overwrite, a name made again after it was removed);
 * - `ERR_MOUNT_POINT`: overwrite found a mount point where it would remove or refill;
 * - `ERR_NEEDS_PROC`: /proc/self/fd, through which every write goes, is not there;
 * - `ERR_UNSAFE_NAME`: an entry name that is not one path component (layers refuse these);
 * - `ERR_INTERNAL`: an error that is neither a system call's nor one of the above (a bug).
 */
export type ExportErrorCode = 'ERR_NOT_EMPTY' | 'ERR_TARGET_CHANGED' | 'ERR_MOUNT_POINT' | 'ERR_NEEDS_PROC' | 'ERR_UNSAFE_NAME' | 'ERR_INTERNAL';

/** Writing the rootfs would leave the target directory, the target is not usable, or a system call failed. */
export class ExportError extends LayerfsError {
  /**
   * Stable: the errno code of the system call that failed (`ENOSPC`, `EROFS`, `EACCES`,
   * `EEXIST`, `ENOENT`, `ELOOP`...), or one of ExportErrorCode.
   */
  declare readonly code: string;

  constructor(readonly path: string, reason: string, options: { code?: ExportErrorCode; cause?: unknown } = {}) {
    super(options.code ?? errnoCode(options.cause) ?? 'ERR_INTERNAL', `${path}: ${reason}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ExportError';
  }
}

/** The errno code of a failed system call (Node's fs errors and the addon's carry errno and syscall). */
function errnoCode(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  return typeof e?.code === 'string' && typeof e.errno === 'number' ? e.code : undefined;
}

/**
 * A system call's failure in words, from its code, errno and syscall alone ("ENOSPC: no space
 * left on device, write"), never from its message: Node's names the /proc/self/fd path the
 * call was given, which is no path of the caller's.
 */
function describe(e: NodeJS.ErrnoException): string {
  const text = getSystemErrorMap().get(e.errno!)?.[1];
  return `${e.code}${text ? `: ${text}` : ''}${e.syscall ? `, ${e.syscall}` : ''}`;
}

/**
 * An ExportError naming `path` for any error of writing it (ENOSPC, EROFS, a replaced name...).
 * With `overwrite`, EEXIST means another process made the name again after overwrite removed it.
 */
export function toExportError(path: string, err: unknown, options: { overwrite?: boolean } = {}): ExportError {
  if (err instanceof ExportError) return err;
  if (err instanceof ReplacedError) return new ExportError(path, 'replaced by another process while exporting', { code: 'ERR_TARGET_CHANGED', cause: err });
  // The mount point itself, which may be below the entry being written (removed, or filled).
  if (err instanceof MountPointError) return new ExportError(err.path, 'a mount point (another filesystem or a bind mount) is in the way: overwrite neither removes nor fills what is mounted in the target', { code: 'ERR_MOUNT_POINT', cause: err });
  if (err instanceof UnsafeNameError) return new ExportError(path, 'not a safe name', { code: 'ERR_UNSAFE_NAME', cause: err });
  const e = err as NodeJS.ErrnoException;
  if (errnoCode(e) === undefined) return new ExportError(path, e?.message ?? String(err), { cause: err });
  if (e.code === 'EEXIST' && options.overwrite) {
    return new ExportError(path, `made again by another process after overwrite removed it (${describe(e)})`, { code: 'ERR_TARGET_CHANGED', cause: err });
  }
  const hint = e.code === 'EEXIST' ? ' (already in the target: pass overwrite to replace it)' : '';
  return new ExportError(path, describe(e) + hint, { cause: err });
}
