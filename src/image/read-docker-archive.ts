import type { FileSource } from './blob-source.js';
import { verifyBlob } from './digest.js';
import { ImageError } from './errors.js';
import type { ImageConfig, ImageLayer, ImageParts } from './image-parts.js';
import type { OpenImageOptions } from './image-options.js';
import { parseJson, readJson } from './json.js';
import { checkDiffIds, checkStack, closedOnFailure, openLayersInOrder, readLayer } from './open-layers.js';

/** One image of a `docker save` manifest.json. */
interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** The entry of manifest.json asked for by ref (a RepoTag), or its only one. */
async function chooseEntry(source: FileSource, options: OpenImageOptions): Promise<DockerManifestEntry> {
  const entries = (await readJson(source, 'manifest.json')) as DockerManifestEntry[];
  if (!Array.isArray(entries) || entries.length === 0) throw new ImageError(`${source.label}: manifest.json`, 'lists no images');
  for (const e of entries) {
    if (!e || typeof e.Config !== 'string' || !Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')) {
      throw new ImageError(`${source.label}: manifest.json`, 'an entry lacks Config or Layers');
    }
  }
  if (options.ref !== undefined) {
    const found = entries.find((e) => e.RepoTags?.includes(options.ref!));
    if (!found) throw new ImageError(`${source.label}: manifest.json`, `no image tagged ${options.ref}; tags: ${entries.flatMap((e) => e.RepoTags ?? []).join(', ') || '(none)'}`);
    return found;
  }
  if (entries.length > 1) throw new ImageError(`${source.label}: manifest.json`, `holds ${entries.length} images; choose one with ref`);
  return entries[0]!;
}

/** Reads and verifies `docker save`'s classic format: manifest.json names the config and each layer tar by path. */
export async function readDockerArchive(source: FileSource, options: OpenImageOptions): Promise<ImageParts> {
  const entry = await chooseEntry(source, options);
  const configData = await source.read(entry.Config);
  // The config's file name is its digest (<hex>.json or blobs/sha256/<hex>).
  const hex = /([a-f0-9]{64})(\.json)?$/.exec(entry.Config)?.[1];
  if (hex) verifyBlob(configData, `sha256:${hex}`, undefined, `${source.label}: ${entry.Config}`);
  const config = parseJson(configData, `${source.label}: ${entry.Config}`) as ImageConfig;
  const diffIds = checkDiffIds(config, entry.Layers.length, `${source.label}: ${entry.Config}`);
  const layers = await openLayersInOrder(entry.Layers, async (path, i): Promise<ImageLayer> => {
    const where = `${source.label}: ${path}`;
    const layer = await readLayer(source, path, path, where, options);
    return closedOnFailure(layer, () => {
      if (layer.info.diffId !== diffIds[i]) throw new ImageError(where, `diff_id mismatch: config says ${diffIds[i]}, layer is ${layer.info.diffId}`);
      return { digest: layer.info.digest, diffId: layer.info.diffId, size: layer.info.compressedSize, mediaType: 'application/vnd.oci.image.layer.v1.tar', layer };
    });
  });
  checkStack(layers, source.label);
  return { manifest: entry, config, layers, blobPaths: entry.Layers };
}
