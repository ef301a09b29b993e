import type { EntryType } from '../layer/entry.js';
import type { LowerIndex, LowerNode } from './lower-index.js';
import type { MemfsLink, MemfsNode } from '../util/memfs-types.js';
import type { Upper } from './upper.js';

/** What the overlay reports as it changes the upper layer (the teaching page animates these). */
export type OverlayEvent =
  | { type: 'copy-up'; path: string; entryType: EntryType; fromLayer: number }
  | { type: 'whiteout'; path: string }
  /**
   * A directory marked opaque (trusted.overlay.opaque), and why: made where the upper layer
   * had a whiteout (`whiteout`), made in a merged directory under redirect_dir=on
   * (`redirect-dir`), or an upper-only directory moved into a merged directory (`moved`).
   */
  | { type: 'opaque'; path: string; reason: 'whiteout' | 'redirect-dir' | 'moved' }
  /**
   * A directory with lower content renamed under redirect_dir=on: it keeps merging with
   * `lowerPath` through trusted.overlay.redirect on the upper directory. `sameDir`: it stayed
   * in its parent; `renamedBefore`: it already had a redirect.
   */
  | { type: 'redirect'; path: string; from: string; lowerPath: string; sameDir: boolean; renamedBefore: boolean };

/**
 * The state every rule of the overlay tier works on, as a kernel overlayfs superblock holds
 * it (struct ovl_fs): the merged lower layers, the upper layer, the mount options that change
 * the rules, and where events go. OverlayEngine is one; the modules beside it (lookup,
 * path-walk, inode, readdir, copy-up, dir-ops) take it as their first argument.
 */
export interface OverlayState {
  readonly lower: LowerIndex;
  readonly upper: Upper;
  /** redirect_dir=on (overlayfs.rst "Redirect dir"). */
  readonly redirectDir: boolean;
  readonly emit: (event: OverlayEvent) => void;
  /**
   * The upper copy each lower object was copied up to (copy-up.ts): the overlay
   * inode's upper, which every open file of it then reads (ovl_real_fdget_meta). Keyed by
   * the lower object of one merged path, an overlay inode without index=on: the other names
   * of a lower hard link are other overlay inodes.
   */
  readonly copies: WeakMap<LowerNode, MemfsLink>;
  /**
   * What lets a removed copy go (copy-up.ts releaseCopy): the lower object each copied-up
   * file's upper inode came from, and how many read-only descriptors are open on each lower
   * object (open-file.ts). A copy whose last upper name goes is dropped from `copies` at once
   * when no such descriptor is open, else at the last one's close (`removedCopies` until
   * then), as the kernel frees an unlinked inode at its last close.
   */
  readonly copiedFrom: WeakMap<MemfsNode, LowerNode>;
  readonly lowerReaders: Map<LowerNode, number>;
  readonly removedCopies: Set<LowerNode>;
}
