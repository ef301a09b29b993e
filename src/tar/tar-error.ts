import { LayerfsError } from '../util/errors.js';

/**
 * Compressing or decompressing a tar failed in the tar tier itself (not on a layer's
 * content, which TarLayerError names). Stable codes:
 * - `ERR_ZSTD_UNAVAILABLE`: zstd-napi's native binding could not be loaded (ZstdUnavailable);
 * - `ERR_ZSTD_STREAM`: libzstd refused a zstd stream, or it ends inside a frame
 *   (ZstdStreamError, naming the frame and its compressed offset).
 * A layer being read wraps these in its TarLayerError; saveImage in SaveImageError
 * `ERR_LAYER_WRITE` (the cause).
 */
export type TarErrorCode = 'ERR_ZSTD_UNAVAILABLE' | 'ERR_ZSTD_STREAM';

export class TarError extends LayerfsError {
  declare readonly code: TarErrorCode;

  constructor(code: TarErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'TarError';
  }
}
