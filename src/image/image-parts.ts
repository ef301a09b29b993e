import type { TarLayer } from '../layer/tar/tar-layer.js';

/** The parts of an image config (config.md) tools ask for. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  config?: { Env?: string[]; Cmd?: string[]; Entrypoint?: string[]; WorkingDir?: string; User?: string; Labels?: Record<string, string> };
  rootfs: { type: string; diff_ids: string[] };
  history?: Array<{ created?: string; created_by?: string; empty_layer?: boolean; comment?: string }>;
}

export interface ImageLayer {
  /** Digest of the blob as stored (compressed); for docker save, of the layer tar. */
  digest: string;
  /** Digest of the uncompressed tar (config rootfs.diff_ids). */
  diffId: string;
  size: number;
  mediaType: string;
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
}
