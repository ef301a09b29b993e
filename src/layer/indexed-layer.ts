import type { LayerEntry } from './entry.js';
import type { Layer } from './layer.js';
import { LayerError, type BuiltLayer } from './layer-builder.js';

/** A layer whose index and content a LayerBuilder produced; memory and tar layers share it. */
export class IndexedLayer implements Layer {
  readonly entries: ReadonlyMap<string, LayerEntry>;
  readonly whiteouts: ReadonlySet<string>;
  readonly opaqueDirs: ReadonlySet<string>;
  private readonly content: ReadonlyMap<number, Buffer>;

  protected constructor(readonly name: string, built: BuiltLayer) {
    this.entries = built.entries;
    this.whiteouts = built.whiteouts;
    this.opaqueDirs = built.opaqueDirs;
    this.content = built.content;
  }

  read(entry: LayerEntry): Buffer {
    const data = this.content.get(entry.inode);
    if (!data || entry.type !== 'file') throw new LayerError(this.name, String(entry.inode), 'not a file');
    return data;
  }
}
