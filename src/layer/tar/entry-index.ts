import { printable } from '../../tar/entry-name.js';
import { entryTypeOf, type TarHeader } from '../../tar/tar-header.js';
import type { ContentFile } from '../content-file.js';
import type { ContentRef } from '../entry.js';
import { LayerBuilder } from '../layer-builder.js';
import { addEntry } from './entry-from-header.js';
import { TarLayerError } from './errors.js';

/** The content of every entry without any: a layer of many empty files keeps one shared buffer. */
export const EMPTY = Buffer.alloc(0);

/** An entry's name for messages: the PAX path, or the header name shown byte-safe. */
export function displayName(h: TarHeader): string {
  return h.pax?.path ?? printable(h.name);
}

/** A layer's entries as a pass (the header walk or the stream) reads them, their number bounded by maxEntries. */
export class EntryIndex {
  readonly builder: LayerBuilder;
  count = 0;

  constructor(private readonly name: string, private readonly maxEntries: number) {
    this.builder = new LayerBuilder(name, { ordered: true });
  }

  /** Counts the next entry, refusing one past maxEntries (before its content is read). */
  next(h: TarHeader): this {
    if (++this.count > this.maxEntries) throw new TarLayerError(this.name, displayName(h), `more than ${this.maxEntries} entries (maxEntries)`);
    return this;
  }

  add(h: TarHeader, data: Buffer | ContentRef): void {
    addEntry(this.builder, this.name, h, data);
  }

  /** An entry whose content stays in the uncompressed tar `file`: where it starts, and its size. */
  addOnDisk(h: TarHeader, file: ContentFile): void {
    // No content, no reference to it (a hard link has no data of its own).
    this.add(h, entryTypeOf(h.type) !== 'hardlink' && (h.size ?? 0) > 0 ? { file, offset: h.byteOffset!, size: h.size! } : EMPTY);
  }
}
