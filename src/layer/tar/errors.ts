import { LayerError } from '../layer-builder.js';

/**
 * A layer tarball is broken or hostile: truncated, corrupt, over a size bound, or with an
 * entry that could reach outside the root. Names the layer and the entry (or byte offset).
 * `code` is `ERR_TAR_LAYER`.
 */
export class TarLayerError extends LayerError {
  constructor(layer: string, entry: string, reason: string) {
    super(layer, entry, reason, 'ERR_TAR_LAYER');
    this.name = 'TarLayerError';
  }
}
