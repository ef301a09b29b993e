import type { Layer } from '../layer/layer.js';
import { LayerBuilder } from '../layer/layer-builder.js';
import { MemoryLayer } from '../layer/memory-layer.js';
import { layerEntries } from '../export/layer-entries.js';

/** One entry of a layer as the teaching page receives it (JSON; content in base64). */
export interface PageEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo' | 'hardlink';
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  linkTarget?: string;
  rdev?: number;
  data?: string;
  xattrs?: Record<string, string>;
}

/** An image as the teaching page receives it: its lower layers bottom first, as OCI changesets. */
export interface PageImage {
  name: string;
  layers: Array<{ label: string; entries: PageEntry[] }>;
}

/**
 * Writes layers in the form the page rebuilds them from: each layer's own OCI entries
 * (whiteouts and opaque markers included), so the browser's layers are the server's, entry
 * for entry, and the page keeps all state itself.
 */
export function toPageImage(name: string, layers: readonly Layer[]): PageImage {
  return {
    name,
    layers: layers.map((layer) => ({
      label: layer.name,
      entries: [...layerEntries(layer)].map((e) => ({
        path: e.path,
        type: e.type,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        mtimeMs: e.mtimeMs,
        ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
        ...(e.rdev !== undefined ? { rdev: e.rdev } : {}),
        ...(e.data !== undefined ? { data: e.data.toString('base64') } : {}),
        ...(e.xattrs && e.xattrs.size > 0 ? { xattrs: Object.fromEntries([...e.xattrs].map(([k, v]) => [k, v.toString('base64')])) } : {}),
      })),
    })),
  };
}

/** Rebuilds the layers of a {@link PageImage} (in the browser, or anywhere). */
export function fromPageImage(image: PageImage): MemoryLayer[] {
  return image.layers.map(({ label, entries }) => {
    const b = new LayerBuilder(label);
    for (const e of entries) {
      if (e.type === 'hardlink') {
        b.addHardLink(e.path, e.linkTarget!);
        continue;
      }
      b.add(e.path, {
        type: e.type,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        mtimeMs: e.mtimeMs,
        ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
        ...(e.rdev !== undefined ? { rdev: e.rdev } : {}),
        ...(e.data !== undefined ? { content: Buffer.from(e.data, 'base64') } : {}),
        ...(e.xattrs ? { xattrs: Object.fromEntries(Object.entries(e.xattrs).map(([k, v]) => [k, Buffer.from(v, 'base64')])) } : {}),
      });
    }
    return MemoryLayer.fromBuilder(b);
  });
}
