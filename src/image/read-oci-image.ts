import type { FileSource } from './blob-source.js';
import { ImageError } from './errors.js';
import type { ImageLayer, ImageParts } from './image-parts.js';
import type { OpenImageOptions } from './image-options.js';
import { layerKey, useLayer } from './layer-cache.js';
import { checkStack, closedOnFailure, holdUse, openLayersInOrder, readLayer } from './open-layers.js';
import { blobPath, foreignLayerMissing, readOciManifest } from './read-oci-manifest.js';

// Reading an OCI image layout (image-layout.md), a directory or a tar of one: its manifest and
// config (read-oci-manifest.ts), then the layers, every blob verified against its descriptor.

/** Reads and verifies the image an OCI layout (a directory or an OCI archive) holds. */
export async function readOciImage(source: FileSource, options: OpenImageOptions): Promise<ImageParts> {
  const { desc, manifest, diffIds, types, config } = await readOciManifest(source, options);
  const layers = await openLayersInOrder(manifest.layers, async (d, i): Promise<ImageLayer> => {
    const where = `${source.label}: layer ${d.digest}`;
    const path = blobPath(d.digest, where);
    const type = types[i]!;
    if (type.foreign && !(await source.has(path))) throw foreignLayerMissing(d, where);
    // One TarLayer per digest per process and source (layer-cache.ts): a layer this process
    // has open already from these files is shared, and one whose bytes are not the digest is
    // never cached.
    const use = await useLayer(layerKey(source.label, d.digest, options), async () => {
      const opened = await readLayer(source, path, d.digest, where, options);
      return closedOnFailure(opened, () => {
        if (opened.info.digest !== d.digest) throw new ImageError(where, `digest mismatch: got ${opened.info.digest}`);
        return opened;
      });
    });
    const { layer } = use;
    return closedOnFailure(use, () => {
      if (layer.info.compressedSize !== d.size) throw new ImageError(where, `size mismatch: descriptor says ${d.size}, blob has ${layer.info.compressedSize} bytes`);
      // The bytes are authentic (the digest matched), so the manifest is inconsistent. A plain tar
      // under a compressed type (podman#2013: `podman push` wrote such images) has one
      // reading, and dockerd and containerd apply it (they sniff the magic bytes): read, and
      // recorded. Any other mismatch is refused: the blob could be read as the type says or as
      // its bytes say, and tools disagree (umoci trusts the type and fails).
      const mismatch = layer.info.compression !== type.compression;
      if (mismatch && (layer.info.compression !== 'none' || type.compression === 'none')) {
        throw new ImageError(where, `mediaType ${d.mediaType} says ${type.compression === 'none' ? 'uncompressed' : type.compression}, the blob is ${layer.info.compression === 'none' ? 'not compressed' : layer.info.compression}`);
      }
      if (layer.info.diffId !== diffIds[i]) throw new ImageError(where, `diff_id mismatch: config says ${diffIds[i]}, uncompressed layer is ${layer.info.diffId}`);
      const said = type.compression as 'gzip' | 'zstd';
      return holdUse({ digest: d.digest, diffId: layer.info.diffId, size: d.size, mediaType: d.mediaType ?? '', layer, ...(mismatch ? { mediaTypeMismatch: { says: said, blob: 'none' as const } } : {}) }, use);
    });
  });
  checkStack(layers, source.label);
  return { manifest, config, layers, blobPaths: manifest.layers.map((d) => blobPath(d.digest, source.label)), manifestDigest: desc.digest };
}
