// Reading `docker save`'s classic format without its layers: manifest.json's entry, the config
// verified by its file name, the layers as they are described (read-docker-archive.ts reads
// them). No layer code is imported here: `inspect` loads only this.

import type { FileSource } from './blob-source.js';
import { checkDiffIds } from './diff-ids.js';
import { digestOf, verifyBlob } from './digest.js';
import { normalDockerRef } from './docker-reference.js';
import { ImageError } from './errors.js';
import type { ImageConfig, LayerDescriptor } from './image-parts.js';
import type { OpenImageOptions } from './image-options.js';
import { parseJson, readJson } from './json.js';

/** One image of a `docker save` manifest.json. */
export interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** The entry of manifest.json asked for by ref (a RepoTag, in either spelling: normalDockerRef), or its only one. */
async function chooseEntry(source: FileSource, options: OpenImageOptions): Promise<DockerManifestEntry> {
  const entries = (await readJson(source, 'manifest.json')) as DockerManifestEntry[];
  if (!Array.isArray(entries) || entries.length === 0) throw new ImageError(`${source.label}: manifest.json`, 'lists no images');
  for (const e of entries) {
    if (!e || typeof e.Config !== 'string' || !Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')) {
      throw new ImageError(`${source.label}: manifest.json`, 'an entry lacks Config or Layers');
    }
  }
  if (options.ref !== undefined) {
    const want = normalDockerRef(options.ref);
    const found = entries.find((e) => e.RepoTags?.some((t) => typeof t === 'string' && normalDockerRef(t) === want));
    if (!found) throw new ImageError(`${source.label}: manifest.json`, `no image tagged ${options.ref}; tags: ${entries.flatMap((e) => e.RepoTags ?? []).join(', ') || '(none)'}`);
    return found;
  }
  if (entries.length > 1) throw new ImageError(`${source.label}: manifest.json`, `holds ${entries.length} images; choose one with ref`);
  return entries[0]!;
}

/** A docker save image's manifest.json entry and config, the config verified by its file name. */
export interface DockerManifestParts {
  entry: DockerManifestEntry;
  config: ImageConfig;
  /** The config's digest (Docker's image ID): its bytes', which its file name, when a digest, must be. */
  configDigest: string;
  diffIds: string[];
}

/** Reads the manifest.json entry ref chooses and its config (verified against the digest its file name is). */
export async function readDockerManifest(source: FileSource, options: OpenImageOptions): Promise<DockerManifestParts> {
  const entry = await chooseEntry(source, options);
  const configData = await source.read(entry.Config);
  // The config's file name is its digest (<hex>.json or blobs/sha256/<hex>).
  const hex = /([a-f0-9]{64})(\.json)?$/.exec(entry.Config)?.[1];
  if (hex) verifyBlob(configData, `sha256:${hex}`, undefined, `${source.label}: ${entry.Config}`);
  const config = parseJson(configData, `${source.label}: ${entry.Config}`) as ImageConfig;
  const diffIds = checkDiffIds(config, entry.Layers.length, `${source.label}: ${entry.Config}`);
  return { entry, config, configDigest: hex ? `sha256:${hex}` : digestOf(configData), diffIds };
}

/**
 * The layers as manifest.json and the config describe them, none indexed. manifest.json names
 * each layer by path, not digest, so the stored file is hashed for its digest and size (what
 * opening the image reports); it is neither decompressed nor checked against its diff_id.
 */
export async function describeDockerLayers(source: FileSource, parts: DockerManifestParts): Promise<LayerDescriptor[]> {
  return Promise.all(parts.entry.Layers.map(async (path, i): Promise<LayerDescriptor> => {
    const { digest, bytes } = await source.digest(path);
    return { digest, diffId: parts.diffIds[i]!, size: bytes, mediaType: DOCKER_LAYER_TYPE };
  }));
}

/** What a docker save layer is reported as: a layer tar (docker load also takes it compressed). */
export const DOCKER_LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar';

