import { LayerfsError } from '../util/errors.js';

/** An image is malformed, fails verification, or lacks what was asked (a platform, a tag). Names the blob or file. `code` is `ERR_IMAGE`. */
export class ImageError extends LayerfsError {
  constructor(readonly where: string, reason: string, options?: { cause?: unknown }) {
    super('ERR_IMAGE', `${where}: ${reason}`, options);
    this.name = 'ImageError';
  }
}

/** A system error of reading an image's file in the user's words: what failed, and its errno. */
export function systemReason(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES':
    case 'EPERM': return `cannot be read: permission denied (${e.code})`;
    case 'ENOTDIR': return 'not a directory (a path component is a file)';
    default: return `cannot be read (${e.code ?? e.message})`;
  }
}
