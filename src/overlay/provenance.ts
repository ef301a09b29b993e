import type { EntryType } from '../layer/entry.js';
import type { OverlayEngine } from './engine.js';
import type { Obj, Resolution } from './resolve.js';
import { Errno, fail } from './errno.js';
import { basename, join, normalize } from '../util/path.js';

/** `'upper'` or the index of a lower layer (0 = bottom, as in the image manifest). */
export type LayerRef = 'upper' | number;

export interface LayerVersion {
  layer: LayerRef;
  /** An object of that layer, a whiteout of the name, or an opaque marker on the directory. */
  kind: 'entry' | 'whiteout' | 'opaque';
  type?: EntryType;
}

/** Where a path comes from: the teaching and image-analysis view of one lookup. */
export interface Provenance {
  path: string;
  /** The layer providing the visible entry (for a directory, its metadata); undefined if not visible. */
  provider?: LayerRef;
  type?: EntryType;
  /** For a merged directory: every layer whose content shows through, top first. */
  mergedFrom: LayerRef[];
  /** Lower layers holding a version of this path that the visible one hides, top first. */
  shadowed: number[];
  /** Layers whose whiteout of this name (or opaque marker above it) hides lower versions. */
  hiddenBy: LayerVersion[];
  /** Every layer's say about this path, top first. */
  versions: LayerVersion[];
}

/**
 * Explains a path: which layer wins and what it shadows. The per-layer scan costs O(depth);
 * it is for explaining, while lookups use the merged index.
 */
export function whereIs(engine: OverlayEngine, path: string): Provenance {
  // An empty path names nothing (getname): it is no place a missing parent hides.
  if (path === '') fail('ENOENT');
  let r: Resolution;
  try {
    r = engine.resolve(path, false);
  } catch (e) {
    // A parent that is missing, a non-directory or a symlink loop hides the path: nothing is
    // visible there, but the layers may still hold versions of it.
    if (!(e instanceof Errno)) throw e;
    // A relative path names a place under the working directory (which must be there).
    const p = normalize(path.charCodeAt(0) === 47 ? path : join(engine.cwdPath(), path));
    r = { parent: undefined, name: basename(p), obj: undefined, path, resolved: p };
  }
  const obj = r.obj;
  const p = r.resolved;
  const layers = engine.lower.layers;
  const versions: LayerVersion[] = [];
  const parentUpper = r.parent?.upper;
  if (obj?.upper) versions.push({ layer: 'upper', kind: 'entry', type: obj.type });
  if (parentUpper && engine.upper.hasWhiteout(parentUpper, r.name)) versions.push({ layer: 'upper', kind: 'whiteout' });
  if (obj?.upper && obj.isDir && engine.upper.isOpaque(obj.upper)) versions.push({ layer: 'upper', kind: 'opaque' });
  // Lower versions live under the lower path: a redirected directory's children differ from
  // `p`, and a copied-up file no longer points at its lower object, so ask its parent.
  const parentLower = r.parent?.lower?.path;
  const lowerPath = obj?.lower?.path ?? (parentLower !== undefined ? join(parentLower, r.name) : p);
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i]!;
    const e = engine.lower.entriesOf(i).get(lowerPath); // with what hard links to lower files put there
    if (e) versions.push({ layer: i, kind: 'entry', type: e.type });
    if (layer.whiteouts.has(lowerPath)) versions.push({ layer: i, kind: 'whiteout' });
    if (layer.opaqueDirs.has(lowerPath)) versions.push({ layer: i, kind: 'opaque' });
  }
  const provider = obj ? providerOf(obj) : undefined;
  const mergedFrom = obj ? mergedFromOf(obj) : [];
  const visibleLower = new Set(mergedFrom);
  const shadowed = versions
    .filter((v): v is LayerVersion & { layer: number } => v.kind === 'entry' && typeof v.layer === 'number' && v.layer !== provider && !visibleLower.has(v.layer))
    .map((v) => v.layer);
  const hiddenBy = versions.filter((v) => v.kind !== 'entry');
  return {
    path: p,
    ...(provider !== undefined ? { provider, type: obj!.type } : {}),
    mergedFrom,
    shadowed,
    hiddenBy,
    versions,
  };
}

/** The layer a visible object comes from (for a directory, the layer of its metadata). */
export function providerOf(obj: Obj): LayerRef {
  return obj.upper ? 'upper' : obj.lower!.layer;
}

/** For a merged directory: every layer whose content shows through, top first; none otherwise. */
export function mergedFromOf(obj: Obj): LayerRef[] {
  if (!obj.isDir) return [];
  const from: LayerRef[] = obj.upper ? ['upper'] : [];
  const lower = obj.lower?.dirLayers ?? [];
  for (let i = lower.length - 1; i >= 0; i--) from.push(lower[i]!);
  return from;
}

/** How reports name a layer: `upper`, or `L0` for the bottom lower layer. */
export function layerLabel(layer: LayerRef): string {
  return layer === 'upper' ? 'upper' : `L${layer}`;
}
