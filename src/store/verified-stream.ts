import { createHash } from 'node:crypto';
import type { BlobBody, ExpectedBlob } from './content-store.js';
import type { ParsedDigest } from './digest.js';
import { StoreError } from './errors.js';

/**
 * Reads `body` into `write`, hashing and counting as it streams: past `expected.size` the
 * read stops at that chunk (the body's iterator is returned, which destroys a Node stream
 * and cancels a web one), so an endless or oversized body costs at most one chunk more than
 * the blob. Resolves only when the bytes are exactly `expected.size` long and hash to its
 * digest; otherwise a StoreError naming the digest, and the caller discards what was written.
 */
export async function streamVerified(expected: ExpectedBlob, parsed: ParsedDigest, body: BlobBody, where: string, write: (chunk: Uint8Array) => Promise<void> | void): Promise<void> {
  const hash = createHash(parsed.algorithm);
  let size = 0;
  let iterator: AsyncIterator<Uint8Array> | undefined;
  try {
    iterator = body[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } catch (e) {
        iterator = undefined; // a failed iterator is done
        throw new StoreError('ERR_STORE_BODY', where, `reading the body failed after ${size} bytes: ${(e as Error)?.message ?? String(e)}`, expected.digest, { cause: e });
      }
      if (next.done) {
        iterator = undefined;
        break;
      }
      const chunk = next.value;
      if (!(chunk instanceof Uint8Array)) throw new StoreError('ERR_STORE_BODY', where, 'the body gave a chunk that is not bytes', expected.digest);
      size += chunk.length;
      if (size > expected.size) throw new StoreError('ERR_STORE_OVERSIZED', where, `the body runs past the expected ${expected.size} bytes (stopped at ${size})`, expected.digest);
      hash.update(chunk);
      await write(chunk);
    }
  } finally {
    if (iterator) await iterator.return?.().catch(() => {});
  }
  if (size !== expected.size) throw new StoreError('ERR_STORE_SIZE_MISMATCH', where, `the body ended after ${size} bytes, not the expected ${expected.size}`, expected.digest);
  const actual = `${parsed.algorithm}:${hash.digest('hex')}`;
  if (actual !== expected.digest) throw new StoreError('ERR_STORE_DIGEST_MISMATCH', where, `the bytes hash to ${actual}: not the blob expected`, expected.digest);
}
