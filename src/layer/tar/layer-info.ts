import type { Compression } from '../../tar/decompress.js';
import type { LayerBuilder } from '../layer-builder.js';

/** What reading the tarball measured: the digests an image's manifest and config name it by. */
export interface TarLayerInfo {
  compression: Compression;
  /** sha256 of the bytes as given (compressed): the layer's digest in a manifest. */
  digest: string;
  /** sha256 of the uncompressed tar: the config's `rootfs.diff_ids` entry. */
  diffId: string;
  compressedSize: number;
  size: number;
  entryCount: number;
  /** File content is read from the tar on disk by offset (not held in memory). */
  contentOnDisk: boolean;
  /** Bytes of file content in the layer's private spill file (0: none was made). */
  spilledBytes: number;
}

/** What a pass over the tar (the header walk or the stream) gives a TarLayer: its index, built, and what was measured. */
export interface IndexedTar {
  built: ReturnType<LayerBuilder['build']>;
  info: TarLayerInfo;
}
