import { constants as bufferConstants } from 'node:buffer';
import { Readable } from 'node:stream';
import type { Volume } from 'memfs';
import type { OverlayOptions } from '../fs/overlay-fs.js';
import { Overlay } from '../export/overlay.js';
import { addDispose } from '../util/disposable.js';
import { DirectorySource, type FileSource } from './blob-source.js';
import { ImageError } from './errors.js';
import { historyCreatedBy, type ImageConfig, type ImageLayer } from './image-parts.js';
import { checkOpenImageOptions, type OpenImageOptions } from './image-options.js';
import { imageFiles, type ImageFormat } from './image-manifest.js';
import { readDockerArchive } from './read-docker-archive.js';
import { dropLayer } from './open-layers.js';
import { readOciImage } from './read-oci-image.js';

/** An image opened and verified: its manifest, config and layers, bottom to top. */
export class Image {
  constructor(
    readonly source: string,
    readonly format: ImageFormat,
    readonly manifest: unknown,
    readonly config: ImageConfig,
    readonly layers: ImageLayer[],
    private readonly files: FileSource,
    private readonly blobPaths: string[],
    /** The digest of the manifest blob (an OCI layout or archive); undefined for a docker save archive, which has no manifest blob. */
    readonly manifestDigest?: string,
  ) {}

  /** The `created_by` of layer `i`'s history entry (history also lists steps that made no layer). */
  createdBy(i: number): string | undefined {
    return historyCreatedBy(this.config, i);
  }

  /**
   * The stored bytes of layer `i`, as verified when the image was opened: read through the
   * descriptor the layer holds, so a blob replaced since (renamed over, deleted) still gives
   * the verified bytes, and one changed in place gives a LayerContentError
   * (`ERR_LAYER_CHANGED`), never other bytes. From an archive, the copy read at open.
   */
  async layerBlob(i: number): Promise<Buffer> {
    const layer = this.layers[i]!;
    const stream = layer.layer.sourceStream();
    if (!stream) return this.files.read(this.blobPaths[i]!);
    if (layer.layer.info.compressedSize > bufferConstants.MAX_LENGTH) {
      stream.destroy();
      throw new ImageError(`${this.source}: layer ${layer.digest}`, `${layer.layer.info.compressedSize} bytes: larger than a Buffer can hold (use layerBlobStream)`);
    }
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** The stored bytes of layer `i` as a stream (blobs may be larger than a Buffer can hold), as layerBlob checks them. */
  async layerBlobStream(i: number): Promise<Readable> {
    return this.layers[i]!.layer.sourceStream() ?? Readable.from([await this.files.read(this.blobPaths[i]!)]);
  }

  /**
   * The host files an image in a directory reads its layers from (a tar layer's content is
   * read from there by position as long as the image is open); none for an archive, whose
   * files were read whole when it was opened.
   */
  layerFiles(): string[] {
    const files = this.files;
    return files instanceof DirectorySource ? this.blobPaths.map((p) => files.at(p)) : [];
  }

  /**
   * Closes the files the layers hold (each layer's blob and spill file); reads through the
   * image's layers then fail (ERR_LAYER_CLOSED, EIO through an overlay). A layer shared with
   * another image still open in this process (one TarLayer per digest: layer-cache.ts) stays
   * open for it, and is closed with the last image that uses it. Optional: files of an image
   * that is never closed are closed when its layers are collected. Idempotent.
   */
  close(): void {
    for (const l of this.layers) dropLayer(l);
  }

  /** An overlay over the image's layers with a fresh (or the given) upper layer. */
  overlay(options: Omit<OverlayOptions, 'lower'> & { upper?: Volume } = {}): Overlay {
    return new Overlay({ ...options, lower: this.layers.map((l) => l.layer) });
  }
}

addDispose(Image.prototype);
export interface Image {
  /** image.close(), for `using` (where the runtime has Symbol.dispose: Node 20.4 and later). */
  [Symbol.dispose](): void;
}

/**
 * Opens an OCI image layout directory, an OCI archive (a tar of one), or a `docker save`
 * archive (classic manifest.json, or the newer one with an embedded OCI layout, which is
 * read as OCI). Every blob is verified against its digest before it is trusted, every layer
 * against its diff_id, sizes against descriptors.
 */
export async function openImage(path: string, given: OpenImageOptions = {}): Promise<Image> {
  const options = checkOpenImageOptions(given);
  const { source, format } = await imageFiles(path, options.format);
  return openImageFiles(source, format, options);
}

/** Opens the image of files already found (a path's, or a content store's: store-source.ts), options checked. */
export async function openImageFiles(source: FileSource, format: ImageFormat, options: OpenImageOptions): Promise<Image> {
  const parts = format === 'docker-archive' ? await readDockerArchive(source, options) : await readOciImage(source, options);
  return new Image(source.label, format, parts.manifest, parts.config, parts.layers, source, parts.blobPaths, parts.manifestDigest);
}
