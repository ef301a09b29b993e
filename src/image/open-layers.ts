import { availableParallelism } from 'node:os';
import { LayerError } from '../layer/layer-builder.js';
import { TarLayer } from '../layer/tar/tar-layer.js';
import type { TarLayerOptions } from '../layer/tar/layer-options.js';
import { StoreError } from '../store/errors.js';
import { openStoredLayer } from '../store/layer-index.js';
import { LowerIndex } from '../overlay/lower-index.js';
import { DirectorySource, INCOMPLETE, type FileSource } from './blob-source.js';
import { ImageError, systemReason } from './errors.js';
import type { ImageLayer } from './image-parts.js';
import type { OpenImageOptions } from './image-options.js';
import type { LayerUse } from './layer-cache.js';

/**
 * The uses of the layer cache (layer-cache.ts) the layers of an image hold, by the object
 * that holds the layer (an ImageLayer): dropping one releases its use, so a layer shared with
 * another image stays open for it; a layer not from the cache is closed.
 */
const uses = new WeakMap<object, LayerUse>();

/** Records that `holder`'s layer is the cache's `use`. */
export function holdUse<T extends object>(holder: T, use: LayerUse): T {
  uses.set(holder, use);
  return holder;
}

/** Lets go of `holder`'s layer: its cache use released, or the layer closed. */
export function dropLayer(holder: { layer: TarLayer }): void {
  const use = uses.get(holder);
  if (use) use.release();
  else holder.layer.close();
}

// Opening an image's layers, for every format alike: each blob read as a TarLayer, several at a time, closed when refused, and the stack's hard links checked.

/**
 * Opens an image's layers as many at a time as the machine has cores: a gzip layer inflates on
 * the thread pool while this thread parses and hashes it, so one layer at a time left a core
 * idle. Results keep manifest order, and a failure is reported as the first failing layer in
 * that order (every earlier layer was started, so all of them settle); no new layer is
 * started once one has failed, and the layers that did open are closed.
 */
export async function openLayersInOrder<T, R extends { layer: TarLayer }>(items: readonly T[], open: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results: Array<{ ok: true; value: R } | { ok: false; error: unknown }> = [];
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = { ok: true, value: await open(items[i]!, i) };
      } catch (error) {
        results[i] = { ok: false, error };
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(availableParallelism(), items.length) }, lane));
  if (failed) for (const r of results) if (r?.ok) dropLayer(r.value);
  return results.map((r) => {
    if (!r.ok) throw r.error;
    return r.value;
  });
}

/**
 * `check()`'s result for a layer just opened, or the layer closed before its error goes on: a
 * layer refused after it was read (digest, size, diff_id) must not keep its blob and spill
 * file open until it is collected (a bomb's spill file can hold gigabytes of disk).
 */
export function closedOnFailure<R>(layer: TarLayer | LayerUse, check: () => R): R {
  try {
    return check();
  } catch (e) {
    if ('release' in layer) layer.release();
    else layer.close();
    throw e;
  }
}

/**
 * Reads a layer blob; a blob that does not parse is reported as the image's error, naming the
 * blob. From a content store (a layout with the store's `.layerfs/`), a layer is opened by its
 * digest through the store's saved index (store/layer-index.ts: verify once), which the first
 * open saves.
 */
export async function readLayer(source: FileSource, path: string, name: string, where: string, options: OpenImageOptions): Promise<TarLayer> {
  try {
    if (source instanceof DirectorySource && source.fromStore) {
      const opened = await openStoredLayer({ dir: source.label }, name, layerOptions(options));
      return opened.layer;
    }
    // From a directory, a layer is read by path, so an uncompressed one is indexed in place.
    const input = source instanceof DirectorySource ? source.at(path) : await source.read(path);
    return await TarLayer.from(input, { ...options, name });
  } catch (e) {
    if (e instanceof StoreError && e.code === 'ERR_STORE_DIGEST_MISMATCH') throw new ImageError(where, `digest mismatch: ${e.message}`, { cause: e });
    // `where` names the layer already: the error's entry and reason say the rest.
    if (e instanceof LayerError) throw new ImageError(where, `corrupt layer (${e.entry}: ${e.reason})`, { cause: e });
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ImageError(where, INCOMPLETE, { cause: e });
    // The layer is opened through /proc/self/fd (open-regular-file.ts): its errno is named here, with the layer.
    if ((e as NodeJS.ErrnoException).code === 'EACCES' || (e as NodeJS.ErrnoException).code === 'EPERM') throw new ImageError(where, systemReason(e as NodeJS.ErrnoException), { cause: e });
    throw e;
  }
}

/**
 * A layer's hard links to files of the layers below resolve only on the stack (lower-index.ts):
 * stacked once here when a layer has any, so that an image whose link names nothing fails
 * to open, naming the layer, instead of failing at its first overlay (its layers closed).
 */
export function checkStack(layers: ImageLayer[], label: string): void {
  if (!layers.some((l) => (l.layer.lowerLinks?.size ?? 0) > 0)) return;
  try {
    new LowerIndex(layers.map((l) => l.layer));
  } catch (e) {
    for (const l of layers) dropLayer(l);
    if (e instanceof LayerError) throw new ImageError(`${label}: layer ${e.layer}`, `corrupt layer (${e.entry}: ${e.reason})`, { cause: e });
    throw e;
  }
}

/** The options of openImage that are a TarLayer's (platform, ref and format are the image's). */
export function layerOptions(options: OpenImageOptions): TarLayerOptions {
  const { platform: _p, ref: _r, format: _f, ...layer } = options;
  return layer;
}
