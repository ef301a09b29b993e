import { parseDigest } from './digest.js';
import { ImageError } from './errors.js';
import type { ImageConfig } from './image-parts.js';

/** The config's rootfs.diff_ids (config.md), one per layer of the manifest, each a digest. */
export function checkDiffIds(config: ImageConfig, count: number, where: string): string[] {
  if (!config || typeof config !== 'object') throw new ImageError(where, 'the config is not a JSON object');
  // config.md: rootfs.type "MUST be set to layers".
  if (config.rootfs?.type !== 'layers') throw new ImageError(where, `rootfs.type is ${JSON.stringify(config.rootfs?.type) ?? '(none)'}, not "layers"`);
  const ids = config.rootfs?.diff_ids;
  if (!Array.isArray(ids) || ids.length !== count) throw new ImageError(where, `rootfs.diff_ids lists ${Array.isArray(ids) ? ids.length : 'no'} layers, the manifest ${count}`);
  for (const id of ids) parseDigest(id, where);
  return ids;
}
