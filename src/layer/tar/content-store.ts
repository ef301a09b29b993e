import type { Readable } from 'node:stream';
import type { ContentRef } from '../entry.js';
import type { ContentFile } from '../content-file.js';
import { ContentViews } from './content-views.js';
import { Spill } from './spill.js';
import { TarLayerError } from './errors.js';

export interface ContentStoreOptions {
  /** The layer's name, for errors. */
  name: string;
  /** Content bytes held in memory before the rest goes to the spill file (Infinity: never spill). */
  memoryBytes: number;
  /** Where the spill file is made. */
  spillDir: string;
  /**
   * The chunks belong to this layer (decompressor output): with no memory bound (content:
   * 'memory'), files may stay views of them.
   */
  ownChunks: boolean;
  /** Called when the spill file is made (the layer holds it, and closes it if the open fails). */
  onSpillFile: (file: ContentFile) => void;
}

const EMPTY = Buffer.alloc(0);

/**
 * Where a streaming pass puts file content it cannot leave in the layer file (inflated
 * content; a Buffer or stream given): in memory while the layer's content so far fits
 * `memoryBytes`, then in a private spill file (spill.ts). An entry goes wholly to one or the
 * other, decided by its header's size before any of it is read. So an opened layer's memory
 * is its index plus at most `memoryBytes` of content, whatever its size: a decompression bomb
 * costs disk up to maxBytes, not memory.
 *
 * Files are views of the decompressor's chunks (content-views.ts) only when all content is
 * held (content: 'memory'), where copying all of it cost a tenth of the open. Under a memory
 * bound they are copied: a view keeps its whole 1 MiB chunk alive until the open ends, and
 * the chunks of the first 4 MiB of small files held up to twice that, per layer (an image's
 * layers open side by side): a Debian-like 7-layer image peaked about 15 MiB higher for it.
 */
export class ContentStore {
  private held = 0;
  private spill: Spill | undefined;
  private readonly views: ContentViews | undefined;

  constructor(private readonly options: ContentStoreOptions) {
    this.views = options.ownChunks && options.memoryBytes === Number.POSITIVE_INFINITY ? new ContentViews() : undefined;
  }

  /** Reads one entry's data (`size` bytes by its header) into memory or the spill file. */
  collect(stream: Readable, size: number): Promise<Buffer | ContentRef> {
    if (size > 0 && this.held + size > this.options.memoryBytes) return this.toSpill(stream);
    this.held += size;
    return collectInMemory(stream, this.views);
  }

  /** Bytes of content in the spill file so far. */
  get spilledBytes(): number {
    return this.spill?.offset ?? 0;
  }

  /**
   * Once every entry is in: waits for the spill writes (a failure, such as ENOSPC, is a
   * TarLayerError naming the directory) and frees chunks mostly unreferenced by views.
   */
  async finish(content: Map<number, Buffer | ContentRef>): Promise<void> {
    this.views?.compact(content);
    try {
      await this.spill?.finish();
    } catch (e) {
      throw this.spillError(e);
    }
  }

  /** After a failed pass: resolves once no spill write is in flight (the file can then be closed). */
  async settled(): Promise<void> {
    await this.spill?.settled();
  }

  private toSpill(stream: Readable): Promise<ContentRef> {
    if (!this.spill) {
      try {
        this.spill = Spill.create(this.options.spillDir, this.options.name);
        this.options.onSpillFile(this.spill.file);
      } catch (e) {
        throw this.spillError(e);
      }
    }
    const spill = this.spill;
    const offset = spill.offset;
    return new Promise((resolve, reject) => {
      stream.on('data', (c: Buffer) => {
        // A write that failed (ENOSPC) ends the pass now, not after the rest of the layer.
        if (spill.failed) {
          stream.destroy();
          return reject(this.spillError(spill.failed));
        }
        spill.append(c);
        if (spill.congested) {
          stream.pause();
          void spill.drained().then(() => stream.resume());
        }
      });
      stream.once('error', reject);
      stream.once('end', () => resolve({ file: spill.file, offset, size: spill.offset - offset }));
    });
  }

  private spillError(e: unknown): TarLayerError {
    const err = new TarLayerError(this.options.name, `the spill file in ${this.options.spillDir}`,
      `inflated content could not be written there (${(e as Error).message}); give another spillDir, or content: 'memory' to hold it in memory`);
    err.cause = e;
    return err;
  }
}

/** Reads an entry's data (events, not an async iterator: this runs once per entry). */
function collectInMemory(stream: Readable, views: ContentViews | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    stream.on('data', (c: Buffer) => {
      chunks.push(c);
      length += c.length;
    });
    stream.once('error', reject);
    // Without `views`, concat copies even a single chunk: it may be a caller's buffer.
    stream.once('end', () => resolve(length === 0 ? EMPTY : views ? views.take(chunks, length) : Buffer.concat(chunks, length)));
    // No 'close' listener: with one, streamx emits a close event per entry, which made a
    // 20,000-entry gzip layer open 35% slower. An entry ends or errors: the extract stream
    // destroys its entry with the error that stopped it.
  });
}
