import { readSync } from 'node:fs';

/**
 * Receives a file's bytes in order, each byte once, in the chunks a SequentialReader read them
 * in, once the reader is done with each (a view of the reader's buffer, reused for the next).
 */
export interface ChunkSink {
  take(chunk: Buffer): void;
}

/** The default chunk: large reads in file order, which the kernel's readahead serves. */
export const CHUNK_BYTES = 2 ** 20;

/**
 * Reads a file front to back in large chunks by position (pread, so another reader of the
 * descriptor does not move it), up to `limit` bytes, for a pass that asks for ranges in file
 * order (the header walk, header-walk.ts). A range inside the current chunk is a view of it; a
 * range that spans chunks is copied. Every chunk, content skipped included, is handed to the
 * sink in order (the layer's digest is taken of those very bytes): each byte is read once, in
 * order, instead of a read per header plus a second read of the whole file to hash it.
 */
export class SequentialReader {
  private readonly buffer: Buffer;
  /** File position of the current chunk's first byte, and how many bytes it holds. */
  private start = 0;
  private length = 0;
  /** File position of the next read. */
  private next = 0;

  constructor(private readonly fd: number, private readonly limit: number, private readonly sink: ChunkSink | undefined, chunkBytes = CHUNK_BYTES) {
    this.buffer = Buffer.allocUnsafeSlow(chunkBytes);
  }

  /** The bytes `[at, at + length)` as a view of the current chunk, or undefined when it does not hold them all. */
  view(at: number, length: number): Buffer | undefined {
    const offset = at - this.start;
    return offset >= 0 && offset + length <= this.length ? this.buffer.subarray(offset, offset + length) : undefined;
  }

  /**
   * The bytes `[at, at + length)`, reading on to them (`at` is never before a range asked for
   * earlier); undefined when the file ends first.
   */
  load(at: number, length: number): Buffer | undefined {
    if (at < this.start) throw new RangeError(`a read at ${at}, before the current chunk at ${this.start}: the reader only goes forward`);
    let out: Buffer | undefined;
    let filled = 0;
    for (;;) {
      const offset = at + filled - this.start;
      if (offset < this.length) {
        const n = Math.min(this.length - offset, length - filled);
        if (out === undefined && n === length) return this.buffer.subarray(offset, offset + n);
        out ??= Buffer.allocUnsafe(length);
        this.buffer.copy(out, filled, offset, offset + n);
        filled += n;
        if (filled === length) return out;
      }
      if (!this.advance()) return undefined;
    }
  }

  /** Reads to the end of the file (or `limit`), every chunk handed to the sink: the number of bytes read in all. */
  finish(): number {
    while (this.advance());
    return this.next;
  }

  /** Hands the current chunk on and reads the next; false at the end of the file. */
  private advance(): boolean {
    if (this.length > 0) this.sink?.take(this.buffer.subarray(0, this.length));
    this.start = this.next;
    this.length = 0;
    const want = Math.min(this.buffer.length, this.limit - this.next);
    while (this.length < want) {
      const n = readSync(this.fd, this.buffer, this.length, want - this.length, this.next + this.length);
      if (n === 0) break;
      this.length += n;
    }
    this.next += this.length;
    return this.length > 0;
  }
}
