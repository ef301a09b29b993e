import { init as initZstd, compress as zstdCompress } from '@bokuweb/zstd-wasm';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { createGzip } from 'node:zlib';
import { TarError } from './tar-error.js';

/** How a written layer is stored (image-spec layer.md, "Distributable Format"). */
export type OutputCompression = 'gzip' | 'zstd' | 'none';

/** The layer media type for each compression (image-spec media-types.md). */
export const LAYER_MEDIA_TYPE: Record<OutputCompression, string> = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

/**
 * The WebAssembly module's memory stops at 2 GiB and must hold the tar, its compressed copy
 * and zstd's tables: larger tars are refused with an error instead of failing inside it.
 */
export const ZSTD_MAX_BYTES = 768 * 2 ** 20;

/** zstd's own default level, as the `zstd` command uses. */
const ZSTD_LEVEL = 3;

/**
 * The WebAssembly module is loaded once: the package's `init()` instantiates a fresh module on
 * every call, and a second call while a compression runs left that compression reading zeroes.
 */
let zstdReady: Promise<void> | undefined;
const loadZstd = () => (zstdReady ??= initZstd());

/**
 * A stream that compresses what goes through it. Node 20's zlib has no zstd compressor, so
 * zstd runs in WebAssembly over the whole tar at the end: the tar is held in memory once
 * (it is the upper layer, already in memory) and written as a single zstd frame.
 */
export function compressor(compression: OutputCompression, zstdMaxBytes = ZSTD_MAX_BYTES): Transform {
  if (compression === 'gzip') return createGzip({ level: 6 });
  if (compression === 'none') return new PassThrough();
  const chunks: Buffer[] = [];
  let length = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      length += chunk.length;
      if (length > zstdMaxBytes) {
        done(new TarError('ERR_ZSTD_TOO_LARGE', `zstd output: the tar is larger than ${zstdMaxBytes} bytes, which the WebAssembly compressor cannot hold; use gzip`));
        return;
      }
      chunks.push(chunk);
      done();
    },
    flush(done: TransformCallback) {
      loadZstd()
        .then(() => Buffer.from(zstdCompress(Buffer.concat(chunks, length), ZSTD_LEVEL)))
        .then((out) => done(null, out), (e: unknown) => done(e as Error));
    },
  });
}
