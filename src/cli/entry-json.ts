import type { Overlay } from '../export/overlay.js';
import type { Provenance } from '../overlay/provenance.js';
import { layerJson } from './verb.js';

/**
 * One path of the merged view as every verb's JSON gives it (docs/cli.md "JSON"): the same
 * fields with the same types in ls, stat and tree.
 */
export interface EntryJson {
  path: string;
  type: string | null;
  /** Permission and special bits, four octal digits (`0755`), as `stat -c %04a`. */
  mode: string;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  mtime: string;
  /** The layer of the visible entry: a lower layer's index (0 = bottom), "upper", or null. */
  layer: number | 'upper' | null;
  /** Lower layers whose version of the path the visible one hides, top first. */
  shadowed: number[];
  /** A symlink's target; null for anything else. */
  target: string | null;
}

export function entryJson(ov: Overlay, path: string): EntryJson {
  return entryWithProvenance(ov, path).entry;
}

/** The entry's JSON and the whereIs it was made from (tree reads more of it: one lookup, not two). */
export function entryWithProvenance(ov: Overlay, path: string): { entry: EntryJson; where: Provenance } {
  const st = ov.lstatSync(path);
  const w = ov.whereIs(path);
  const entry: EntryJson = {
    path: w.path,
    type: w.type ?? null,
    mode: (st.mode & 0o7777).toString(8).padStart(4, '0'),
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    nlink: st.nlink,
    mtime: st.mtime.toISOString(),
    layer: layerJson(w.provider),
    shadowed: w.shadowed,
    target: st.isSymbolicLink() ? String(ov.readlinkSync(path)) : null,
  };
  return { entry, where: w };
}

/** The name as ls and tree print it: `dir/`, `link -> target`. */
export function displayName(name: string, e: Pick<EntryJson, 'type' | 'target'>): string {
  if (e.type === 'directory') return `${name}/`;
  if (e.target !== null) return `${name} -> ${e.target}`;
  return name;
}
