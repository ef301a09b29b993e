import { LayerfsError } from '../util/errors.js';

/**
 * Compressing or decompressing a tar failed in the tar tier itself (not on a layer's
 * content, which TarLayerError names). Stable codes:
 * - `ERR_ZSTD_UNAVAILABLE`: zstd-napi's native binding could not be loaded;
 * - `ERR_ZSTD_TRUNCATED`: a zstd stream ends inside a frame;
 * - `ERR_ZSTD_TOO_LARGE`: a tar to compress with zstd is larger than the WebAssembly
 *   compressor holds.
 * A layer being read wraps these in its TarLayerError; saveImage in SaveImageError
 * `ERR_LAYER_WRITE` (the cause).
 */
export type TarErrorCode = 'ERR_ZSTD_UNAVAILABLE' | 'ERR_ZSTD_TRUNCATED' | 'ERR_ZSTD_TOO_LARGE';

export class TarError extends LayerfsError {
  declare readonly code: TarErrorCode;

  constructor(code: TarErrorCode, message: string) {
    super(code, message);
    this.name = 'TarError';
  }
}
