import { LayerfsError } from '../util/errors.js';

/** An image is malformed, fails verification, or lacks what was asked (a platform, a tag). Names the blob or file. `code` is `ERR_IMAGE`. */
export class ImageError extends LayerfsError {
  constructor(readonly where: string, reason: string, options?: { cause?: unknown }) {
    super('ERR_IMAGE', `${where}: ${reason}`, options);
    this.name = 'ImageError';
  }
}
