import type { Volume } from 'memfs';
import type { EntrySpec } from './entry.js';
import { typeFromMode } from './entry.js';
import { IndexedLayer } from './indexed-layer.js';
import { LayerBuilder, LayerError } from './layer-builder.js';
import { join } from '../util/path.js';
import { preorder } from '../util/preorder.js';
import { InodeNames } from '../tar/changeset.js';
import type { MemfsLink } from '../util/memfs-types.js';

/** A JSON description of a layer: `string`/`Buffer` is a file, `null` a directory, or a full spec. */
export type LayerJSON = Record<string, string | Buffer | null | EntrySpec | { type: 'hardlink'; target: string }>;

/**
 * A read-only layer held in memory, built from a JSON map or a memfs Volume. Whiteouts and
 * opaque markers are written the OCI way in both: a name `.wh.x` removes `x` from the layers
 * below, a file `.wh..wh..opq` makes its directory opaque.
 */
export class MemoryLayer extends IndexedLayer {
  /** Builds a layer from entries added to a {@link LayerBuilder} (hard links in any order, etc.). */
  static fromBuilder(builder: LayerBuilder): MemoryLayer {
    return new MemoryLayer(builder.layerName, builder.build());
  }

  /** Builds a layer from `{ path: content }`; see {@link LayerJSON}. */
  static fromJSON(json: LayerJSON, name = 'memory'): MemoryLayer {
    const b = new LayerBuilder(name);
    for (const [path, value] of Object.entries(json)) {
      if (value === null) b.add(path, { type: 'directory' });
      else if (typeof value === 'string' || Buffer.isBuffer(value)) b.add(path, { type: 'file', content: value });
      else if (value.type === 'hardlink') b.addHardLink(path, (value as { target: string }).target);
      else b.add(path, value as EntrySpec);
    }
    return new MemoryLayer(name, b.build());
  }

  /** Builds a layer from a whole memfs Volume, keeping modes, owners, times and hard links. */
  static fromVolume(volume: Volume, name = 'volume'): MemoryLayer {
    const b = new LayerBuilder(name);
    const names = new InodeNames<number>();
    const childrenOf = ({ link, path }: { link: MemfsLink; path: string }) => {
      const out: Array<{ link: MemfsLink; path: string }> = [];
      for (const [childName, child] of link.children) if (childName !== '.' && childName !== '..' && child) out.push({ link: child, path: join(path, childName) });
      return out;
    };
    for (const { link, path } of preorder({ link: volume._core.root, path: '/' }, childrenOf)) {
      const node = link.getNode();
      const type = typeFromMode(node.mode);
      if (!type) throw new LayerError(name, path, `unsupported file type ${(node.mode >>> 12).toString(8)}`);
      const meta = { mode: node.mode & 0o7777, uid: node.uid, gid: node.gid, mtimeMs: node.mtime.getTime(), atimeMs: node.atime.getTime() };
      const first = type !== 'directory' ? names.linkTarget(node.ino, path) : undefined;
      if (first !== undefined) b.addHardLink(path, first);
      else if (type === 'file') b.add(path, { type, ...meta, content: Buffer.from(node.getBuffer()) });
      else if (type === 'symlink') b.add(path, { type, ...meta, linkTarget: node.symlink });
      else b.add(path, { type, ...meta, rdev: node.rdev });
    }
    return new MemoryLayer(name, b.build());
  }
}
