import { Transform, type TransformCallback, type TransformOptions } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';

export type Compression = 'gzip' | 'zstd' | 'none';

/** Layer media types name the compression, but files get renamed: the magic bytes decide. */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** zstd through fzstd (pure JavaScript: nothing to download or build at install). */
class ZstdStream extends Transform {
  private readonly z = new ZstdDecompress((chunk) => void this.push(Buffer.from(chunk)));

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.z.push(chunk);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.z.push(new Uint8Array(0), true);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }
}

export function decompressor(kind: Compression): Transform | undefined {
  // Up to 64 MiB inflated ahead of the parse: zlib stops inflating once its output buffer
  // holds highWaterMark bytes, and with the default (one chunk) every pause of this thread
  // (a collection, a burst of small entries) stopped it too. 166 MiB layer: 808 -> 673-740 ms
  // here. Inflated chunks become the layer's content (content-views.ts). The input side has
  // room for 4 MiB of compressed bytes: with the default 16 KiB, each 1 MiB read waited until
  // zlib had used up the last one, and inflating waited for the read (a 166 MiB layer,
  // alternating builds: 907/803 -> 774/737 ms); with 64 MiB, compressed bytes piled up too.
  // maxBytes still stops a bomb, at most 64 MiB later. (Node passes these options on to the
  // Transform; @types/node omits them.)
  if (kind === 'gzip') {
    return createGunzip({ chunkSize: 1 << 20, readableHighWaterMark: 64 << 20, writableHighWaterMark: 4 << 20 } as ZlibOptions & TransformOptions);
  }
  if (kind === 'zstd') return new ZstdStream();
  return undefined;
}

/**
 * Passes each chunk on in a later turn of the event loop (setImmediate). Node's zlib pushes an
 * inflated chunk before it asks the thread pool for the next one, and a push runs the stages
 * after it synchronously (the hash, the tar parse): without a hand-off, inflating waits for
 * all of that on every chunk (a 166 MiB gzip layer: gunzip plus sha256 of the output 610 ->
 * 540 ms here; gunzip alone 520 ms). A microtask was not enough once zlib could run ahead:
 * the chunks it had buffered were then parsed in one unbroken run of microtasks, and zlib's
 * completion callbacks, which start its next step, waited behind them. A turn of the loop
 * per chunk lets them in (alternating builds, medians of 8 and 10: 903/819/834 -> 800/778/769 ms).
 */
export class HandOff extends Transform {
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    setImmediate(() => cb(null, chunk));
  }
}

/**
 * Cuts chunks into slices of at most `size` bytes, for a decoder that inflates all it is given
 * at once, synchronously (fzstd): Node's backpressure acts between writes, so a decoder fed
 * 1 MiB of a bomb put out over a gigabyte before anything could wait (an RLE block is 4 bytes
 * for 128 KiB, RFC 8878 3.1.1.2). Fed 1 KiB at a time, it holds at most one slice's output
 * (32 MiB at that ratio) past its high-water mark. The slices are views, never copies.
 */
export class InputSlices extends Transform {
  constructor(private readonly size = 1024) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    for (let at = 0; at < chunk.length; at += this.size) this.push(chunk.subarray(at, at + this.size));
    cb();
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
