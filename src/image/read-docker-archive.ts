import type { FileSource } from './blob-source.js';
import { ImageError } from './errors.js';
import type { ImageLayer, ImageParts } from './image-parts.js';
import type { OpenImageOptions } from './image-options.js';
import { checkStack, closedOnFailure, openLayersInOrder, readLayer } from './open-layers.js';
import { DOCKER_LAYER_TYPE, readDockerManifest } from './read-docker-manifest.js';

/** Reads and verifies `docker save`'s classic format: manifest.json names the config and each layer tar by path. */
export async function readDockerArchive(source: FileSource, options: OpenImageOptions): Promise<ImageParts> {
  const { entry, config, diffIds } = await readDockerManifest(source, options);
  const layers = await openLayersInOrder(entry.Layers, async (path, i): Promise<ImageLayer> => {
    const where = `${source.label}: ${path}`;
    const layer = await readLayer(source, path, path, where, options);
    return closedOnFailure(layer, () => {
      if (layer.info.diffId !== diffIds[i]) throw new ImageError(where, `diff_id mismatch: config says ${diffIds[i]}, layer is ${layer.info.diffId}`);
      return { digest: layer.info.digest, diffId: layer.info.diffId, size: layer.info.compressedSize, mediaType: DOCKER_LAYER_TYPE, layer };
    });
  });
  checkStack(layers, source.label);
  return { manifest: entry, config, layers, blobPaths: entry.Layers };
}
