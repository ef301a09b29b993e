import { ReplacedError, UnsafeNameError } from '../host/dir-handle.js';

/** Writing the rootfs would leave the target directory, the target is not usable, or a system call failed. */
export class ExportError extends Error {
  /** The errno code (`ENOSPC`, `EROFS`, `EEXIST`...) when a system call failed. */
  readonly code?: string;

  constructor(readonly path: string, reason: string, options?: { cause?: unknown }) {
    super(`${path}: ${reason}`, options);
    this.name = 'ExportError';
    const code = (options?.cause as NodeJS.ErrnoException | undefined)?.code;
    if (typeof code === 'string') this.code = code;
  }
}

/** An ExportError naming `path` for any error of writing it (ENOSPC, EROFS, a replaced name...). */
export function toExportError(path: string, err: unknown): ExportError {
  if (err instanceof ExportError) return err;
  if (err instanceof ReplacedError) return new ExportError(path, 'replaced by another process while exporting', { cause: err });
  if (err instanceof UnsafeNameError) return new ExportError(path, 'not a safe name', { cause: err });
  const e = err as NodeJS.ErrnoException;
  // Node's message ends with the /proc/self/fd path used; the entry's own path is given instead.
  const reason = (e.message ?? String(err)).replace(/ '\/proc\/self\/fd\/[^']*'( -> '[^']*')?$/, '');
  const hint = e.code === 'EEXIST' ? ' (already in the target: pass overwrite to replace it)' : '';
  return new ExportError(path, reason + hint, { cause: err });
}
