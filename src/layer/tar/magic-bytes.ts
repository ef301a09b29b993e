import { Readable } from 'node:stream';
import type { ContentFile } from '../content-file.js';
import { changedWhileOpening } from './errors.js';

// A layer's first bytes, enough for detectCompression: from the file it holds, by position,
// or from a stream's first chunk, the stream given back whole.

/**
 * A layer file's first bytes. The file was opened before the first wait of the open
 * (extractChecksWork): a change since is the whole file's, as in unchangedSinceOpen.
 */
export function magicBytes(file: ContentFile, name: string): Buffer {
  const head = Buffer.alloc(Math.min(4, file.size));
  try {
    file.readAt(head, 0, head.length, 0);
  } catch (e) {
    throw changedWhileOpening(name, e);
  }
  return head;
}

/** Reads the first chunk (for the magic bytes) and gives back a stream of everything. */
export async function peek(input: Readable): Promise<{ head: Buffer; rest: Readable }> {
  const it = input[Symbol.asyncIterator]();
  const first = await it.next();
  const asBuffer = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array)); // no copy for Buffers
  const head: Buffer = first.done ? Buffer.alloc(0) : asBuffer(first.value);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield asBuffer(n.value);
    }
  }
  return { head, rest: Readable.from(all(), { objectMode: false }) };
}
