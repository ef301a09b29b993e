/** How a layer blob is compressed, as its media type says (and tar/decompress.ts detects). */
export type Compression = 'gzip' | 'zstd' | 'none';

/** Media types (image-spec media-types.md, and Docker's distribution manifests). */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const IMAGE_CONFIGS = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

export function isIndex(mediaType: string | undefined): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_LIST;
}

export function isManifest(mediaType: string | undefined): boolean {
  return mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST;
}

export function isImageConfig(mediaType: string | undefined): boolean {
  return mediaType !== undefined && IMAGE_CONFIGS.has(mediaType);
}

/** What a layer media type says: how the blob is compressed, and whether it is non-distributable. */
export interface LayerType {
  compression: Compression;
  /** layer.md "Non-distributable layers" / Docker's foreign layers: the blob may live only at the descriptor's `urls`. */
  foreign: boolean;
}

/**
 * The filesystem layer types (image-spec media-types.md, layer.md; Docker's image manifest v2
 * schema 2). The non-distributable OCI types are deprecated in image-spec 1.1 but still read.
 * `application/vnd.docker.image.rootfs.diff.tar` (uncompressed) is what containers/image
 * writes for an uncompressed Docker layer.
 */
const LAYER_TYPES: ReadonlyMap<string, LayerType> = new Map<string, LayerType>([
  ['application/vnd.oci.image.layer.v1.tar', { compression: 'none', foreign: false }],
  ['application/vnd.oci.image.layer.v1.tar+gzip', { compression: 'gzip', foreign: false }],
  ['application/vnd.oci.image.layer.v1.tar+zstd', { compression: 'zstd', foreign: false }],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar', { compression: 'none', foreign: true }],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', { compression: 'gzip', foreign: true }],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar+zstd', { compression: 'zstd', foreign: true }],
  ['application/vnd.docker.image.rootfs.diff.tar', { compression: 'none', foreign: false }],
  ['application/vnd.docker.image.rootfs.diff.tar.gzip', { compression: 'gzip', foreign: false }],
  ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', { compression: 'gzip', foreign: true }],
]);

/**
 * What a manifest's layer descriptor type means, or why it is not a layer layerfs applies. A
 * blob of another type (a Helm chart, an artifact, an encrypted layer, a vendor's format) is
 * never applied by sniffing its bytes: a tarball that is not a filesystem changeset would
 * become files of the root filesystem.
 */
export function layerType(mediaType: string | undefined): LayerType | { refused: string } {
  if (mediaType === undefined) return { refused: 'the layer descriptor has no mediaType (descriptor.md: REQUIRED)' };
  const known = LAYER_TYPES.get(mediaType);
  if (known) return known;
  if (mediaType.endsWith('+encrypted')) return { refused: `an encrypted layer (${mediaType}, ocicrypt): decrypt the image first (skopeo copy --decryption-key); layerfs does not decrypt` };
  return { refused: `not a filesystem layer (mediaType ${mediaType}): layerfs applies OCI and Docker layer types only, never another blob by sniffing its bytes` };
}
