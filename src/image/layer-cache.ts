import { resolve } from 'node:path';
import type { TarLayer } from '../layer/tar/tar-layer.js';
import type { TarLayerOptions } from '../layer/tar/layer-options.js';

/**
 * One TarLayer per layer digest per process (issue 18): images that share layers (ten images
 * on one base, in one store or layout) share the opened layer, its index and its
 * descriptors, instead of each holding a copy. A layer is keyed by the directory or archive
 * it is read from, its digest, and the options that shape what it holds (content,
 * memoryBytes, spillDir, and the bounds it was checked against), so a layer opened with
 * `content: 'none'` is never handed to an image that reads content, and an image always
 * reads its layers from its own files (a damaged copy in another directory is its own error).
 *
 * Each image holds a use of each of its layers; the layer is closed, and dropped from the
 * cache, when its last use is released (Image.close()). A failed open is not cached: callers
 * waiting for it open the layer themselves (their blob may be a good copy of it), and a
 * layer someone closed directly is opened afresh by the next caller.
 */

export interface LayerUse {
  layer: TarLayer;
  /** Lets go of this use (idempotent): the last one closes the layer. */
  release(): void;
}

interface Slot {
  /** While the layer opens; then let go of (it would keep the layer reachable). */
  opening: Promise<TarLayer> | undefined;
  /**
   * The layer once open, weakly: the images using it keep it alive, the cache does not, so the
   * layers of images dropped without close() are collected (their files closed) as before.
   */
  layer: WeakRef<TarLayer> | undefined;
  users: number;
}

const slots = new Map<string, Slot>();
/** A collected layer's slot is removed (if it is still that layer's). */
const collected = new FinalizationRegistry<{ key: string; slot: Slot }>(({ key, slot }) => {
  if (slots.get(key) === slot) slots.delete(key);
});

/** The cache key of a layer: where it is read from (a directory or archive), its digest, and the options that decide what the open keeps. */
export function layerKey(source: string, digest: string, o: TarLayerOptions): string {
  return JSON.stringify([resolve(source), digest, o.content ?? 'disk', o.memoryBytes ?? null, o.spillDir ?? null, o.maxBytes ?? null, o.maxEntries ?? null]);
}

/** A use of the layer `key`: the one already open (or opening) in this process, else `open()`'s. */
export async function useLayer(key: string, open: () => Promise<TarLayer>): Promise<LayerUse> {
  for (;;) {
    let slot = slots.get(key);
    const cached = slot?.layer?.deref();
    // Not handed out: a layer collected, closed, or whose files changed since they were
    // verified (its users keep it; this caller opens the files afresh, and finds the change).
    if (slot && !slot.opening && (!cached || !cached.filesUnchanged())) {
      slots.delete(key);
      slot = undefined;
    }
    const mine = slot === undefined;
    if (!slot) {
      const opening = open();
      const fresh: Slot = { opening, layer: undefined, users: 0 };
      opening.then((l) => {
        fresh.layer = new WeakRef(l);
        fresh.opening = undefined;
        collected.register(l, { key, slot: fresh });
      }, () => {});
      slots.set(key, fresh);
      slot = fresh;
    }
    slot.users++;
    let layer: TarLayer;
    try {
      layer = slot.opening ? await slot.opening : cached!;
    } catch (e) {
      slot.users--;
      if (slots.get(key) === slot) slots.delete(key);
      if (mine) throw e;
      continue; // another caller's open failed: try with this caller's own
    }
    let released = false;
    const held = slot;
    return {
      layer,
      release: () => {
        if (released) return;
        released = true;
        if (--held.users > 0) return;
        if (slots.get(key) === held) slots.delete(key);
        layer.close();
      },
    };
  }
}

/** Layers open in the cache (for tests: none is left once every image is closed). */
export function cachedLayerCount(): number {
  return slots.size;
}
