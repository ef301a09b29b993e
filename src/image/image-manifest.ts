import { access, constants, stat } from 'node:fs/promises';
import { ArchiveSource, DirectorySource, type FileSource } from './blob-source.js';
import { ImageError, systemReason } from './errors.js';
import { historyCreatedBy, type ImageConfig, type LayerDescriptor } from './image-parts.js';
import { FORMAT_NAMES, type ImageFormat } from './image-format.js';
import { checkOpenImageOptions, type OpenImageOptions } from './image-options.js';
import { describeDockerLayers, readDockerManifest } from './read-docker-manifest.js';
import { describeOciLayers, readOciManifest } from './read-oci-manifest.js';

// An image's manifest and config without its layers: what `skopeo inspect` reads. This module
// imports no layer or overlay code, so a process that only inspects does not load it.

export type { ImageFormat };

/**
 * An image's files and the format they are in, or an ImageError naming the path. `want` (a
 * transport) picks the format when the files hold two (a docker save archive with an OCI
 * layout embedded), and refuses files of another.
 */
export async function imageFiles(path: string, want?: ImageFormat): Promise<{ source: FileSource; format: ImageFormat }> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new ImageError(path, systemReason(e));
  });
  const source: FileSource = st.isDirectory() ? new DirectorySource(path) : await ArchiveSource.open(path);
  const oci = (await source.has('oci-layout')) && (await source.has('index.json'));
  const docker = await source.has('manifest.json');
  if (want === 'docker-archive' && docker) return { source, format: want };
  const format: ImageFormat | undefined = oci ? (st.isDirectory() ? 'oci-layout' : 'oci-archive') : docker ? 'docker-archive' : undefined;
  if (format !== undefined && want !== undefined && format !== want) throw new ImageError(path, `is ${FORMAT_NAMES[format]}, not ${FORMAT_NAMES[want]}`);
  if (format !== undefined) return { source, format };
  // A directory that cannot be searched hides its files: said as such, not as a wrong format.
  if (st.isDirectory()) await access(path, constants.R_OK | constants.X_OK).catch((e: NodeJS.ErrnoException) => {
    throw new ImageError(path, systemReason(e));
  });
  throw new ImageError(path, 'neither an OCI image layout (oci-layout, index.json) nor a docker save archive (manifest.json)');
}

/**
 * An image's manifest and config, verified as openImage verifies them, and its layers as
 * they describe them: no layer is decompressed or indexed, and layer blobs are not hashed
 * (an OCI layer's blob is checked present; a docker save layer, named by path, is hashed for
 * its digest). A layer that is corrupt is found by openImage, not here.
 */
export class ImageManifest {
  constructor(
    readonly source: string,
    readonly format: ImageFormat,
    readonly manifest: unknown,
    readonly config: ImageConfig,
    /** Bottom to top. */
    readonly layers: LayerDescriptor[],
    /** The config's digest, verified (Docker's image ID). */
    readonly configDigest: string,
    /** The digest of the manifest blob (an OCI layout or archive); undefined for a docker save archive, which has no manifest blob. */
    readonly manifestDigest?: string,
  ) {}

  /** The `created_by` of layer `i`'s history entry (history also lists steps that made no layer). */
  createdBy(i: number): string | undefined {
    return historyCreatedBy(this.config, i);
  }
}

/** Opens an image's manifest and config as openImage would choose them (its `ref`, `platform`), reading no layer. */
export async function openImageManifest(path: string, given: OpenImageOptions = {}): Promise<ImageManifest> {
  const options = checkOpenImageOptions(given);
  const { source, format } = await imageFiles(path, options.format);
  return openManifestFiles(source, format, options);
}

/** openImageManifest of files already found (a path's, a content store's, a registry's: store-source.ts), options checked. */
export async function openManifestFiles(source: FileSource, format: ImageFormat, options: OpenImageOptions): Promise<ImageManifest> {
  if (format === 'docker-archive') {
    const parts = await readDockerManifest(source, options);
    return new ImageManifest(source.label, format, parts.entry, parts.config, await describeDockerLayers(source, parts), parts.configDigest);
  }
  const parts = await readOciManifest(source, options);
  return new ImageManifest(source.label, format, parts.manifest, parts.config, await describeOciLayers(source, parts), parts.manifest.config.digest, parts.desc.digest);
}
