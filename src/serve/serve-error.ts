import { LayerfsError } from '../util/errors.js';

/**
 * The teaching server cannot start. Stable codes:
 * - `ERR_PAGE_NOT_BUILT`: the bundled page is not where the server looks (run `npm run build`);
 * - `ERR_IMAGE_TOO_LARGE`: the image's layers are more than the page takes (`maxBytes`).
 */
export type ServeErrorCode = 'ERR_PAGE_NOT_BUILT' | 'ERR_IMAGE_TOO_LARGE';

export class ServeError extends LayerfsError {
  declare readonly code: ServeErrorCode;

  constructor(code: ServeErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ServeError';
  }
}
