import { constants as bufferConstants } from 'node:buffer';
import type { ContentRef, LayerEntry } from './entry.js';
import { LayerContentError } from './content-error.js';
import type { ContentFile } from './content-file.js';
import type { FileRange, Layer } from './layer.js';
import { addDispose } from '../util/disposable.js';
import { LayerError, type BuiltLayer } from './layer-builder.js';

/** Content this layer reads from a file it holds. */
type HeldRef = ContentRef & { file: ContentFile };

/** A layer whose index and content a LayerBuilder produced; memory and tar layers share it. */
export class IndexedLayer implements Layer {
  readonly entries: ReadonlyMap<string, LayerEntry>;
  readonly whiteouts: ReadonlySet<string>;
  readonly opaqueDirs: ReadonlySet<string>;
  readonly lowerLinks: ReadonlyMap<string, string>;
  private content: ReadonlyMap<number, Buffer | ContentRef>;
  private closed = false;

  /** `files`: the descriptors the content is read through, closed by close(). */
  protected constructor(readonly name: string, built: BuiltLayer, private readonly files: readonly ContentFile[] = []) {
    this.entries = built.entries;
    this.whiteouts = built.whiteouts;
    this.opaqueDirs = built.opaqueDirs;
    this.lowerLinks = built.lowerLinks;
    this.content = built.content;
  }

  read(entry: LayerEntry): Buffer {
    const data = this.contentOf(entry);
    if (Buffer.isBuffer(data)) return data;
    if (data.size > bufferConstants.MAX_LENGTH) {
      throw new LayerError(this.name, this.pathOf(entry), `a file of ${data.size} bytes is larger than a Buffer can hold (read it by position: readAt)`);
    }
    const out = Buffer.allocUnsafe(data.size);
    this.readRef(entry, data, out, 0, data.size, 0);
    return out;
  }

  readAt(entry: LayerEntry, buffer: Uint8Array, offset: number, length: number, position: number): number {
    const data = this.contentOf(entry);
    // Any whole position: content is shorter than 2^53, so one past that reads nothing.
    if (!Number.isInteger(position) || position < 0) throw new RangeError(`position must be a whole number of 0 or more, not ${position}`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > buffer.byteLength) {
      throw new RangeError(`offset ${offset} and length ${length} do not fit a buffer of ${buffer.byteLength} bytes`);
    }
    const size = Buffer.isBuffer(data) ? data.length : data.size;
    const n = Math.max(0, Math.min(length, size - position));
    if (n === 0) return 0;
    if (Buffer.isBuffer(data)) data.copy(buffer, offset, position, position + n);
    else this.readRef(entry, data, buffer, offset, n, position);
    return n;
  }

  contentSource(entry: LayerEntry): Buffer | FileRange {
    const data = this.contentOf(entry);
    if (Buffer.isBuffer(data)) return data;
    const range = this.named(entry, () => data.file.range(data.offset, data.size));
    return { fd: range.fd, offset: range.offset, size: range.size, confirm: (attempt, whole) => this.named(entry, () => range.confirm(attempt, whole)) };
  }

  /**
   * Closes the descriptors this layer reads content through (its layer file, its spill
   * file) and lets go of the content it holds in memory; reads then fail with
   * ERR_LAYER_CLOSED, whichever kind of content they were of. Not needed for correctness: a
   * layer that is never closed has them closed when it is collected. Idempotent.
   */
  close(): void {
    this.closed = true;
    this.content = new Map();
    for (const f of this.files) f.close();
  }

  /**
   * Whether every file the layer reads content through is still the one verified (an fstat
   * each; a changed one is hashed again: content-file.ts): a cache hands out a shared layer
   * only then, and an image opened afresh finds the change itself.
   */
  filesUnchanged(): boolean {
    try {
      for (const f of this.files) f.check();
      return !this.closed;
    } catch {
      return false;
    }
  }

  private contentOf(entry: LayerEntry): Buffer | HeldRef {
    if (this.closed) throw new LayerContentError(this.name, this.pathOf(entry), 'ERR_LAYER_CLOSED', 'the layer was closed');
    const data = this.content.get(entry.inode);
    if (!data || entry.type !== 'file') throw new LayerError(this.name, String(entry.inode), 'not a file');
    // Every file of an index-only layer, an empty one too: its size is known, its bytes are not.
    if (!Buffer.isBuffer(data) && data.file === undefined) {
      throw new LayerContentError(this.name, this.pathOf(entry), 'ERR_LAYER_NO_CONTENT', "the layer keeps no file content (it was opened with content: 'none', its index only)");
    }
    return data as Buffer | HeldRef;
  }

  private readRef(entry: LayerEntry, ref: HeldRef, buffer: Uint8Array, offset: number, length: number, position: number): void {
    this.named(entry, () => ref.file.readAt(buffer, offset, length, ref.offset + position));
  }

  /** Runs `f` on the content file of `entry`: its errors name the entry too. */
  private named<T>(entry: LayerEntry, f: () => T): T {
    try {
      return f();
    } catch (e) {
      // The file names itself; the error names the entry too (found only now: entries do not
      // carry their path).
      if (e instanceof LayerContentError) throw new LayerContentError(this.name, this.pathOf(entry), e.code, e.reason, { path: e.path, cause: e.cause });
      throw e;
    }
  }

  private pathOf(entry: LayerEntry): string {
    return firstPathOf(this.entries, entry);
  }
}

/** The first path of an entry's inode (for messages: a scan of the index, on errors only). */
export function firstPathOf(entries: ReadonlyMap<string, LayerEntry>, entry: LayerEntry): string {
  for (const [path, e] of entries) if (e.inode === entry.inode) return path;
  return `inode ${entry.inode}`;
}

addDispose(IndexedLayer.prototype);
export interface IndexedLayer {
  /** layer.close(), for `using` (where the runtime has Symbol.dispose: Node 20.4 and later). */
  [Symbol.dispose](): void;
}
