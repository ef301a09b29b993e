import type { EntryType, LayerEntry } from '../layer/entry.js';
import type { Layer } from '../layer/layer.js';
import { OPAQUE_MARKER, whitedOutName } from '../oci/oci-names.js';
import type { OverlayEngine } from './engine.js';
import { mergedFromOf, providerOf, type LayerRef } from './provenance.js';
import { basename, dirname } from '../util/path.js';
import { fail } from './errno.js';

/**
 * What one layer holds under a name, and what became of it in the merged view:
 * - `wins`: the merged view shows this version;
 * - `merged`: a directory whose content shows through a merged directory above it;
 * - `shadowed`: a version the merged view does not show (a layer above has the name, or
 *   whites it out, or its directory is hidden).
 */
export interface StackCell {
  name: string;
  kind: EntryType | 'whiteout';
  role: 'wins' | 'merged' | 'shadowed';
}

/** One layer's slice of a directory, as the textbook diagram draws it. */
export interface StackBand {
  layer: LayerRef;
  /** The layer's label (its digest or name; `upper` for the writable layer). */
  label: string;
  /** The layer has this directory (or whiteouts in it). */
  present: boolean;
  /** The layer marks this directory opaque (`.wh..wh..opq`): nothing below it shows. */
  opaque: boolean;
  /** The layer's content of this directory does not reach the merged view (an opaque directory or a non-directory above hides it). */
  hidden: boolean;
  cells: StackCell[];
}

export interface StackView {
  /** The directory's merged path. */
  dir: string;
  /** The writable layer first, then the lower layers top-down. */
  bands: StackBand[];
  /** The merged directory, with the layer providing each entry. */
  merged: Array<{ name: string; type: EntryType; provider: LayerRef }>;
}

/** Names a layer holds directly under each of its directories (built once per layer, keyed by its entries as stacked). */
const childIndex = new WeakMap<ReadonlyMap<string, LayerEntry>, Map<string, Map<string, EntryType | 'whiteout'>>>();

function childrenOf(layer: Layer, entries: ReadonlyMap<string, LayerEntry>, dir: string): Map<string, EntryType | 'whiteout'> | undefined {
  let index = childIndex.get(entries);
  if (!index) {
    index = new Map();
    const put = (path: string, kind: EntryType | 'whiteout') => {
      if (path === '/') return;
      const parent = dirname(path);
      let names = index!.get(parent);
      if (!names) index!.set(parent, (names = new Map()));
      // A layer that both whites out a name and holds it (delete then re-create) shows the entry.
      if (kind !== 'whiteout' || !names.has(basename(path))) names.set(basename(path), kind);
    };
    for (const p of layer.whiteouts) put(p, 'whiteout');
    for (const [p, e] of entries) put(p, e.type);
    childIndex.set(entries, index);
  }
  return index.get(dir);
}

/**
 * The overlay stack as textbooks draw it, for one directory: each layer's entries in it, top
 * first, marked with what the merged view makes of them (overlayfs.rst "Directories",
 * "whiteouts and opaque directories"). For teaching pages and image analysers; it scans every
 * layer, so it costs O(depth), unlike a lookup.
 */
export function stackView(engine: OverlayEngine, dir: string): StackView {
  const r = engine.resolve(dir, true);
  const obj = r.obj;
  if (!obj) fail('ENOENT');
  if (!obj.isDir) fail('ENOTDIR');

  const merged: StackView['merged'] = [];
  const providers = new Map<string, LayerRef>();
  const mergedLayersOf = new Map<string, Set<LayerRef>>();
  for (const name of engine.list(obj)) {
    const child = engine.child(obj, name)!;
    const provider = providerOf(child);
    providers.set(name, provider);
    merged.push({ name, type: child.type, provider });
    if (child.isDir) mergedLayersOf.set(name, new Set(mergedFromOf(child)));
  }
  const roleOf = (layer: LayerRef, name: string, kind: StackCell['kind']): StackCell['role'] => {
    if (kind === 'whiteout' || providers.get(name) === undefined) return 'shadowed';
    if (providers.get(name) === layer) return 'wins';
    return mergedLayersOf.get(name)?.has(layer) && kind === 'directory' ? 'merged' : 'shadowed';
  };

  const bands: StackBand[] = [];
  const upper = obj.upper;
  const upperCells: StackCell[] = [];
  if (upper) {
    for (const name of upper.children.keys()) {
      if (name === '.' || name === '..' || name === OPAQUE_MARKER) continue;
      const hidden = whitedOutName(name);
      if (hidden !== undefined) upperCells.push({ name: hidden, kind: 'whiteout', role: 'shadowed' });
      else {
        const kind = engine.child(obj, name)!.type;
        upperCells.push({ name, kind, role: roleOf('upper', name, kind) });
      }
    }
  }
  const upperOpaque = upper ? engine.upper.isOpaque(upper) : false;
  bands.push({ layer: 'upper', label: 'upper', present: upper !== undefined, opaque: upperOpaque, hidden: false, cells: sortCells(upperCells) });

  // The lower layers are read under the lower path the merged directory stands for (a
  // redirected directory merges with its old name).
  const lowerPath = obj.lower?.path ?? r.resolved;
  const showing = new Set(obj.lower?.dirLayers ?? []);
  const layers = engine.lower.layers;
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i]!;
    const entries = engine.lower.entriesOf(i); // with what hard links to lower files put there
    const own = childrenOf(layer, entries, lowerPath);
    const hidden = !showing.has(i);
    const cells: StackCell[] = [];
    for (const [name, kind] of own ?? []) cells.push({ name, kind, role: hidden ? 'shadowed' : roleOf(i, name, kind) });
    bands.push({
      layer: i,
      label: layer.name,
      present: entries.get(lowerPath)?.type === 'directory' || own !== undefined,
      opaque: layer.opaqueDirs.has(lowerPath),
      hidden,
      cells: sortCells(cells),
    });
  }
  return { dir: r.resolved, bands, merged };
}

function sortCells(cells: StackCell[]): StackCell[] {
  return cells.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
