import { availableParallelism } from 'node:os';
import { LayerError } from '../layer/layer-builder.js';
import { TarLayer } from '../layer/tar/tar-layer.js';
import { LowerIndex } from '../overlay/lower-index.js';
import { DirectorySource, INCOMPLETE, type FileSource } from './blob-source.js';
import { ImageError, systemReason } from './errors.js';
import type { ImageLayer } from './image-parts.js';
import type { OpenImageOptions } from './image-options.js';

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
  if (failed) for (const r of results) if (r?.ok) r.value.layer.close();
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
export function closedOnFailure<R>(layer: TarLayer, check: () => R): R {
  try {
    return check();
  } catch (e) {
    layer.close();
    throw e;
  }
}

/** Reads a layer blob; a blob that does not parse is reported as the image's error, naming the blob. */
export async function readLayer(source: FileSource, path: string, name: string, where: string, options: OpenImageOptions): Promise<TarLayer> {
  try {
    // From a directory, a layer is read by path, so an uncompressed one is indexed in place.
    const input = source instanceof DirectorySource ? source.at(path) : await source.read(path);
    return await TarLayer.from(input, { ...options, name });
  } catch (e) {
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
    for (const l of layers) l.layer.close();
    if (e instanceof LayerError) throw new ImageError(`${label}: layer ${e.layer}`, `corrupt layer (${e.entry}: ${e.reason})`, { cause: e });
    throw e;
  }
}
