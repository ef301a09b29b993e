import { LayerfsError } from '../util/errors.js';

/**
 * A layer's definition is wrong (a hard link to nothing, a name that cannot exist...). `reason`
 * is the message without the layer and entry. `code` is `ERR_LAYER` here; the subclasses
 * (TarLayerError, LayerContentError) have their own.
 */
export class LayerError extends LayerfsError {
  constructor(readonly layer: string, readonly entry: string, readonly reason: string, code = 'ERR_LAYER') {
    super(code, `layer ${layer}: ${entry}: ${reason}`);
    this.name = 'LayerError';
  }
}
