import type { TarLayer } from '../layer/tar/tar-layer.js';

/** The parts of an image config (config.md) tools ask for. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  config?: { Env?: string[]; Cmd?: string[]; Entrypoint?: string[]; WorkingDir?: string; User?: string; Labels?: Record<string, string> };
  rootfs: { type: string; diff_ids: string[] };
  history?: Array<{ created?: string; created_by?: string; empty_layer?: boolean; comment?: string }>;
}

/** A layer as the manifest and config describe it, before (or without) reading its blob. */
export interface LayerDescriptor {
  /** Digest of the blob as stored (compressed); for docker save, of the layer tar. */
  digest: string;
  /** Digest of the uncompressed tar (config rootfs.diff_ids). */
  diffId: string;
  size: number;
  mediaType: string;
}

/** The `created_by` of layer `i`'s history entry (history also lists steps that made no layer). */
export function historyCreatedBy(config: ImageConfig, i: number): string | undefined {
  return config.history?.filter((h) => !h.empty_layer)[i]?.created_by;
}

export interface ImageLayer extends LayerDescriptor {
  layer: TarLayer;
  /**
   * Set when the blob is an uncompressed tar under a compressed media type (`…tar+gzip`,
   * `…tar+zstd`, Docker `…tar.gzip`): read as the tar it is (the digest matched, and a plain
   * tar has one reading), as dockerd and containerd read such layers. Other mismatches are
   * refused.
   */
  mediaTypeMismatch?: { says: 'gzip' | 'zstd'; blob: 'none' };
}

/** What the reader of one format (OCI layout, docker save) hands openImage, verified: an Image is built from it. */
export interface ImageParts {
  /** The manifest read (an OCI manifest, or the docker manifest.json entry). */
  manifest: unknown;
  config: ImageConfig;
  /** Bottom to top. */
  layers: ImageLayer[];
  /** Each layer's blob, as a path of the image's files (Image.layerBlob reads an archive's copy by it). */
  blobPaths: string[];
  /** The digest of the manifest blob (an OCI layout or archive); undefined for a docker save archive, which has no manifest blob. */
  manifestDigest?: string;
}
