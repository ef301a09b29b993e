import { createHash, type Hash } from 'node:crypto';
import type { Descriptor } from '../image/descriptor.js';
import { algorithmOf } from '../image/digest.js';
import { RegistryError } from './errors.js';

/**
 * A blob read from a push's source, hashed and counted as it is read, and handed out in runs
 * of bytes (a monolithic PUT takes the whole, each chunked PATCH its part). One byte past the
 * descriptor's size is an error at once. The chunk that completes the blob is handed out only
 * after the whole has hashed to the digest and the source has ended: a blob whose bytes do not
 * match is never sent whole, so no registry can be given it (and the upload is cancelled).
 */
export class SourceBlob {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private readonly hash: Hash;
  private pending: Uint8Array | undefined;
  private read = 0;
  private verified = false;
  private done = false;

  constructor(private readonly target: string, private readonly desc: Descriptor, chunks: AsyncIterable<Uint8Array>) {
    this.iterator = chunks[Symbol.asyncIterator]();
    this.hash = createHash(algorithmOf(desc.digest));
  }

  private error(code: 'ERR_SIZE' | 'ERR_DIGEST' | 'ERR_SOURCE', reason: string, cause?: unknown): RegistryError {
    return new RegistryError(code, this.target, reason, this.desc.digest, cause === undefined ? undefined : { cause });
  }

  private async next(): Promise<Uint8Array | undefined> {
    let step: IteratorResult<Uint8Array>;
    try {
      step = await this.iterator.next();
    } catch (e) {
      this.done = true;
      if (e instanceof RegistryError) throw e;
      throw this.error('ERR_SOURCE', `reading the blob from the source failed after ${this.read} bytes: ${(e as Error)?.message ?? String(e)}`, e);
    }
    if (step.done) {
      this.done = true;
      return undefined;
    }
    if (!(step.value instanceof Uint8Array)) throw this.error('ERR_SOURCE', 'the source gave a chunk that is not bytes');
    this.read += step.value.length;
    if (this.read > this.desc.size) throw this.error('ERR_SIZE', `the source's blob runs past its descriptor's ${this.desc.size} bytes`);
    this.hash.update(step.value);
    return step.value;
  }

  /** Checks the whole blob: the source ended at exactly the size, and the bytes hash to the digest. */
  async finish(): Promise<void> {
    if (this.verified) return;
    while (!this.done) {
      const extra = await this.next();
      if (extra && extra.length > 0) throw this.error('ERR_SIZE', `the source's blob runs past its descriptor's ${this.desc.size} bytes`);
    }
    if (this.read !== this.desc.size) throw this.error('ERR_SIZE', `the source's blob ended after ${this.read} of its descriptor's ${this.desc.size} bytes`);
    const actual = `${algorithmOf(this.desc.digest)}:${this.hash.digest('hex')}`;
    if (actual !== this.desc.digest) throw this.error('ERR_DIGEST', `the source's bytes hash to ${actual}, not to the blob's digest: not pushed`);
    this.verified = true;
  }

  /** The next `n` bytes of the blob, as runs of the source's chunks. */
  async *take(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      let chunk = this.pending;
      this.pending = undefined;
      if (!chunk) {
        chunk = await this.next();
        if (!chunk) throw this.error('ERR_SIZE', `the source's blob ended after ${this.read} of its descriptor's ${this.desc.size} bytes`);
      }
      if (chunk.length > left) {
        this.pending = chunk.subarray(left);
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.length;
      // The blob's last bytes wait for the check of the whole.
      if (this.read === this.desc.size && this.pending === undefined) await this.finish();
      if (chunk.length > 0) yield chunk;
    }
  }

  /** Ends the read of the source (a file closed), whether or not it was read to the end. */
  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.iterator.return?.(undefined).catch(() => undefined);
    }
  }
}
