import type { LowerNode } from './lower-index.js';
import type { MemfsLink } from '../util/memfs-types.js';
import type { OverlayState } from './overlay-state.js';
import { Obj } from './resolve.js';

/**
 * One step of lookup in the merged view, as the kernel's ovl_lookup (fs/overlayfs/namei.c):
 * the upper layer first, then the merged lower directories beneath it.
 */

/** The merged root: the upper root, merged with the lower root when there are lower layers. */
export function rootOf(s: OverlayState): Obj {
  return new Obj('/', undefined, '', s.upper.root, s.lower.layers.length > 0 ? s.lower.root : undefined);
}

/** The child `name` of directory `dir` in the merged view (overlayfs.rst "Directories"). */
export function childOf(s: OverlayState, dir: Obj, name: string): Obj | undefined {
  const path = dir.childPath(name);
  if (dir.upper) {
    const link = s.upper.child(dir.upper, name);
    if (link) {
      const node = link.getNode();
      return new Obj(path, dir, name, link, node.isDirectory() ? lowerBeneath(s, dir, name, link) : undefined);
    }
    if (s.upper.hasWhiteout(dir.upper, name)) return undefined;
  }
  const lower = dir.lower?.children?.get(name);
  return lower ? new Obj(path, dir, name, undefined, lower) : undefined;
}

/** The lower directory an upper directory merges with: none if opaque, the redirect target if renamed. */
function lowerBeneath(s: OverlayState, dir: Obj, name: string, link: MemfsLink): LowerNode | undefined {
  if (s.upper.isOpaque(link)) return undefined;
  const redirect = s.upper.redirects.get(link.getNode());
  const lower = redirect !== undefined ? s.lower.get(redirect) : dir.lower?.children?.get(name);
  return lower?.children ? lower : undefined;
}
