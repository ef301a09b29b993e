import { PassThrough, type Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import { zstdEncoder } from './zstd.js';

/** How a written layer is stored (image-spec layer.md, "Distributable Format"). */
export type OutputCompression = 'gzip' | 'zstd' | 'none';

/** The layer media type for each compression (image-spec media-types.md). */
export const LAYER_MEDIA_TYPE: Record<OutputCompression, string> = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

/** zstd's own default level, as the `zstd` command uses. */
const ZSTD_LEVEL = 3;

/**
 * A stream that compresses what goes through it. Node 20's zlib has no zstd, so zstd is
 * libzstd's streaming compressor (zstd.ts, the layers' decoder's library):
 * one frame with a content checksum, written as the tar streams through, in 1 MiB chunks.
 * Without the binding the stream fails at once, with the error saying how to install it.
 */
export function compressor(compression: OutputCompression): Transform {
  if (compression === 'gzip') return createGzip({ level: 6 });
  if (compression === 'none') return new PassThrough();
  try {
    return zstdEncoder(ZSTD_LEVEL);
  } catch (e) {
    const failed = new PassThrough();
    process.nextTick(() => failed.destroy(e as Error));
    return failed;
  }
}
