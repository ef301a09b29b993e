import { LayerError } from './layer-builder.js';

/**
 * Why content a layer serves from disk cannot be served. Stable strings, for code that tells
 * the cases apart (the message says more).
 * - `ERR_LAYER_CHANGED`: the file the layer verified when it was opened has changed since
 *   (overwritten, truncated, grown): its bytes are no longer the verified ones.
 * - `ERR_LAYER_CLOSED`: the layer was closed (`layer.close()`).
 * - `ERR_LAYER_IO`: the read itself failed (EIO from the disk and the like).
 * - `ERR_LAYER_NO_CONTENT`: the layer keeps its index only (opened with `content: 'none'`):
 *   it knows each file's size, not its bytes.
 */
export type LayerContentCode = 'ERR_LAYER_CHANGED' | 'ERR_LAYER_CLOSED' | 'ERR_LAYER_IO' | 'ERR_LAYER_NO_CONTENT';

/**
 * A layer cannot serve a file's content as it was verified. `layer` names the layer, `entry`
 * the path in it (when a file of the layer was read; else the layer file itself), `path` the
 * file on disk the content comes from (the layer file; undefined for the spill file), `code`
 * the case. The message names each once: the layer file's path stands for the layer when it
 * already names it (a blob named by the layer's digest, a layer named by its path).
 */
export class LayerContentError extends LayerError {
  readonly path: string | undefined;

  declare readonly code: LayerContentCode;

  constructor(layer: string, entry: string | undefined, code: LayerContentCode, reason: string, options: { path?: string | undefined; cause?: unknown } = {}) {
    super(layer, entry ?? options.path ?? layer, reason, code);
    this.name = 'LayerContentError';
    this.path = options.path;
    if (options.cause !== undefined) this.cause = options.cause;
    this.message = `${fileOf(layer, options.path)}: ${entry !== undefined ? `${entry}: ` : ''}${reason}`;
  }
}

/** The layer file where it names the layer (its path is the name, or holds the digest's hex), else the layer and the file. */
function fileOf(layer: string, path: string | undefined): string {
  if (path === undefined) return `layer ${layer}`;
  const hex = /^[a-z0-9]+:([0-9a-f]{32,})$/.exec(layer)?.[1];
  return path === layer || (hex !== undefined && path.includes(hex)) ? path : `layer ${layer} (${path})`;
}
