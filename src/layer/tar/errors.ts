import type { PaxHeaderSeen } from '../../tar/extract-checks.js';
import { printable } from '../../tar/entry-name.js';
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

/** A header GNU tar and Go would not read alike (header-fields.ts): named by its ustar name and offset. */
export function malformedHeader(layer: string, entry: string, at: number, fault: string): TarLayerError {
  return new TarLayerError(layer, `${printable(entry)} (header at byte ${at})`, `malformed tar header: ${fault}`);
}

/** A PAX header GNU tar would refuse: named by its own ustar name and offset (the entry it is for may be the name it fails to give). */
export function malformedPax(layer: string, pax: PaxHeaderSeen, fault: string): TarLayerError {
  const which = pax.global ? `global PAX header at byte ${pax.byteOffset - 512}` : `PAX header at byte ${pax.byteOffset - 512}, for the entry after it`;
  return new TarLayerError(layer, `${printable(pax.name)} (${which})`, `malformed PAX extended header: ${fault}`);
}

/** A change of the layer file found while it was being opened: the whole file's. */
export function changedWhileOpening(name: string, e: unknown): TarLayerError {
  return new TarLayerError(name, 'the whole file', e instanceof LayerError ? e.reason : (e as Error).message);
}
