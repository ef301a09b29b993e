import type { Layer } from '../layer/layer.js';
import { LayerBuilder } from '../layer/layer-builder.js';
import { MemoryLayer } from '../layer/memory-layer.js';
import { layerEntries } from '../layer/layer-entries.js';
import { addChangesetEntry } from '../layer/add-changeset-entry.js';
import type { TarEntry } from '../tar/changeset.js';

/** One entry of a layer as the teaching page receives it: a tar entry in JSON, binary in base64. */
export type PageEntry = Omit<TarEntry, 'data' | 'xattrs'> & { data?: string; xattrs?: Record<string, string> };

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
      entries: [...layerEntries(layer)].map(({ data, xattrs, ...meta }): PageEntry => ({
        ...meta,
        ...(data !== undefined ? { data: data.toString('base64') } : {}),
        ...(xattrs && xattrs.size > 0 ? { xattrs: Object.fromEntries([...xattrs].map(([k, v]) => [k, v.toString('base64')])) } : {}),
      })),
    })),
  };
}

/** Rebuilds the layers of a {@link PageImage} (in the browser, or anywhere). */
export function fromPageImage(image: PageImage): MemoryLayer[] {
  return image.layers.map(({ label, entries }) => {
    const b = new LayerBuilder(label);
    for (const { data, xattrs, ...meta } of entries) {
      addChangesetEntry(b, {
        ...meta,
        ...(data !== undefined ? { data: Buffer.from(data, 'base64') } : {}),
        ...(xattrs ? { xattrs: new Map(Object.entries(xattrs).map(([k, v]) => [k, Buffer.from(v, 'base64')])) } : {}),
      });
    }
    return MemoryLayer.fromBuilder(b);
  });
}
