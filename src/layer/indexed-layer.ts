import { closeSync, openSync, readSync } from 'node:fs';
import type { ContentRef, LayerEntry } from './entry.js';
import type { Layer } from './layer.js';
import { LayerError, type BuiltLayer } from './layer-builder.js';

/** A layer whose index and content a LayerBuilder produced; memory and tar layers share it. */
export class IndexedLayer implements Layer {
  readonly entries: ReadonlyMap<string, LayerEntry>;
  readonly whiteouts: ReadonlySet<string>;
  readonly opaqueDirs: ReadonlySet<string>;
  readonly lowerLinks: ReadonlyMap<string, string>;
  private readonly content: ReadonlyMap<number, Buffer | ContentRef>;

  protected constructor(readonly name: string, built: BuiltLayer) {
    this.entries = built.entries;
    this.whiteouts = built.whiteouts;
    this.opaqueDirs = built.opaqueDirs;
    this.lowerLinks = built.lowerLinks;
    this.content = built.content;
  }

  read(entry: LayerEntry): Buffer {
    const data = this.content.get(entry.inode);
    if (!data || entry.type !== 'file') throw new LayerError(this.name, String(entry.inode), 'not a file');
    return Buffer.isBuffer(data) ? data : readRange(data, this.name);
  }
}

/** Reads content an on-disk layer left in place (layers are immutable: the file must not change). */
function readRange(ref: ContentRef, layer: string): Buffer {
  const out = Buffer.allocUnsafe(ref.size);
  const fd = openSync(ref.file, 'r');
  try {
    let done = 0;
    while (done < ref.size) {
      const n = readSync(fd, out, done, ref.size - done, ref.offset + done);
      if (n === 0) throw new LayerError(layer, `${ref.file}@${ref.offset}`, 'the layer file is shorter than when it was indexed');
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}
