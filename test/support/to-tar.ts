import type { Layer } from '../../src/index.js';
import { collectStream } from '../../src/index.js';
import { layerEntries } from '../../src/export/layer-entries.js';
import { writeTar } from '../../src/export/tar-writer.js';

/**
 * Writes a layer as an uncompressed OCI layer tarball (markers first, then entries parents
 * first, hard links as typeflag 1), for tests that hold the tar path to the same oracle as
 * memory layers.
 */
export async function layerToTar(layer: Layer): Promise<Buffer> {
  return collectStream(writeTar(layerEntries(layer), { compression: 'none' }).stream);
}
