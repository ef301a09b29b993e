import { type Duplex, Transform, type TransformCallback, type TransformOptions } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import type { Compression } from '../oci/media-types.js';
import { zstdDecoder } from './zstd.js';

export type { Compression };

/**
 * Layer media types name the compression, but files get renamed: the magic bytes decide (an
 * image's media type must then agree, image/read-oci-image.ts). zstd: a frame (`28 b5 2f fd`) or a skippable
 * frame (`5?` `2a 4d 18`, RFC 8878 section 3.1.2), which may come first.
 */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (head.length >= 4 && (head[0]! & 0xf0) === 0x50 && head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18) return 'zstd';
  return 'none';
}

export function decompressor(kind: Compression): Duplex | undefined {
  // Up to 64 MiB inflated ahead of the parse: zlib stops inflating once its output buffer
  // holds highWaterMark bytes, and with the default (one chunk) every pause of this thread
  // (a collection, a burst of small entries) stopped it too. Inflated chunks become the
  // layer's content (content-views.ts). The input side has room for 4 MiB of compressed
  // bytes: with the default 16 KiB, each 1 MiB read waited until zlib had used up the last
  // one, and inflating waited for the read; with 64 MiB, compressed bytes piled up too.
  // maxBytes still stops a bomb, at most 64 MiB later. (Node passes these options on to the
  // Transform; @types/node omits them.)
  if (kind === 'gzip') {
    return createGunzip({ chunkSize: 1 << 20, readableHighWaterMark: 64 << 20, writableHighWaterMark: 4 << 20 } as ZlibOptions & TransformOptions);
  }
  if (kind === 'zstd') return zstdDecoder();
  return undefined;
}

/**
 * Passes each chunk on in a later turn of the event loop (setImmediate). Node's zlib pushes an
 * inflated chunk before it asks the thread pool for the next one, and a push runs the stages
 * after it synchronously (the hash, the tar parse): without a hand-off, inflating waits for
 * all of that on every chunk. A microtask is not enough once zlib runs ahead: the chunks it
 * has buffered would be parsed in one unbroken run of microtasks, and zlib's completion
 * callbacks, which start its next step, wait behind them. A turn of the loop per chunk lets
 * them in.
 */
export class HandOff extends Transform {
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    setImmediate(() => cb(null, chunk));
  }
}

/**
 * Passes bytes through, counting them, and failing once more than `limit` have gone by
 * (decompression bombs). Without a limit it only counts.
 */
export class ByteLimit extends Transform {
  bytes = 0;

  constructor(private readonly limit = Number.POSITIVE_INFINITY, private readonly onExceed?: () => Error) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return cb(this.onExceed?.() ?? new Error(`more than ${this.limit} bytes`));
    cb(null, chunk);
  }
}
