import type { EntryType } from '../layer/entry.js';
import type { LowerIndex } from './lower-index.js';
import type { Upper } from './upper.js';

/** What the overlay reports as it changes the upper layer (the teaching page animates these). */
export type OverlayEvent =
  | { type: 'copy-up'; path: string; entryType: EntryType; fromLayer: number }
  | { type: 'whiteout'; path: string }
  | { type: 'opaque'; path: string };

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
}
