import type { Image } from '../image/image.js';
import { LowerIndex } from '../overlay/lower-index.js';

export interface LayerChange {
  path: string;
  kind: 'added' | 'changed' | 'deleted' | 'opaque';
  type?: string;
  size: number;
}

/**
 * What each layer does to the layers below it: paths it adds, paths it changes (replaces or
 * re-describes), whiteouts (deleted) and opaque markers, as `docker history` with the files.
 * Implicit parents are not changes.
 */
export function layerChanges(image: Image): LayerChange[][] {
  const below = new LowerIndex([]);
  return image.layers.map(({ layer }) => {
    const out: LayerChange[] = [];
    for (const d of layer.opaqueDirs) out.push({ path: d, kind: 'opaque', size: 0 });
    for (const w of layer.whiteouts) if (below.get(w)) out.push({ path: w, kind: 'deleted', size: 0 });
    for (const [p, e] of layer.entries) {
      if (e.implicit || p === '/') continue;
      out.push({ path: p, kind: below.get(p) ? 'changed' : 'added', type: e.type, size: e.type === 'file' ? e.size : 0 });
    }
    below.add(layer);
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  });
}
