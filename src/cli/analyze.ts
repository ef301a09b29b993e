import type { Image } from '../image/image.js';
import { engineOf } from '../fs/overlay-fs.js';

export interface Analysis {
  totalBytes: number;
  wastedBytes: number;
  /** File bytes of the layers above the base (layer 0), as dive's UserSizeBytes. */
  userBytes: number;
  /** wastedBytes / userBytes, as dive's WastedUserPercent (a fraction, 0 when no user bytes). */
  userWastedPercent: number;
  /** 1 - wasted / total: the share of layer bytes that reach the final filesystem. */
  efficiency: number;
  /** Files whose bytes are in the image but not in its filesystem (overwritten or deleted later). */
  wasted: Array<{ path: string; layer: number; size: number; reason: 'overwritten' | 'deleted' }>;
  largest: Array<{ path: string; layer: number; size: number }>;
}

/**
 * Wasted bytes in the manner of dive: every file a layer ships whose content a later layer
 * overwrites or deletes still costs its bytes in the image. A file counts as visible when the
 * merged view shows that layer's version of it (at the path the layer gives it).
 */
export function analyze(image: Image, top = 10): Analysis {
  const merged = engineOf(image.overlay()).lower;
  const wasted: Analysis['wasted'] = [];
  const all: Analysis['largest'] = [];
  let totalBytes = 0;
  let userBytes = 0;
  image.layers.forEach(({ layer }, i) => {
    const seen = new Set<number>();
    for (const [p, e] of layer.entries) {
      if (e.type !== 'file' || seen.has(e.inode)) continue;
      seen.add(e.inode);
      totalBytes += e.size;
      if (i > 0) userBytes += e.size;
      all.push({ path: p, layer: i, size: e.size });
      // Visible when the merged view shows this very entry at this path (a symlinked parent
      // elsewhere does not count), found in O(1) in the merged index.
      const shown = merged.get(p);
      if (shown?.layer === i && shown.entry.inode === e.inode) continue;
      wasted.push({ path: p, layer: i, size: e.size, reason: shown === undefined ? 'deleted' : 'overwritten' });
    }
  });
  const wastedBytes = wasted.reduce((n, w) => n + w.size, 0);
  return {
    totalBytes,
    wastedBytes,
    userBytes,
    userWastedPercent: userBytes === 0 ? 0 : wastedBytes / userBytes,
    efficiency: totalBytes === 0 ? 1 : 1 - wastedBytes / totalBytes,
    wasted: wasted.sort((a, b) => b.size - a.size),
    largest: all.sort((a, b) => b.size - a.size).slice(0, top),
  };
}
