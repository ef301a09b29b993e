import type { EntryType } from '../layer/entry.js';
import { typeFromMode } from '../layer/entry.js';
import type { LowerNode } from './lower-index.js';
import type { MemfsLink } from '../util/memfs-types.js';
import { join } from '../util/path.js';

/**
 * One object of the merged view, as a lookup found it: its upper link, the lower object
 * beneath it, and its parent. Short-lived: it describes the overlay at one moment.
 */
export class Obj {
  constructor(
    readonly path: string,
    readonly parent: Obj | undefined,
    readonly name: string,
    public upper: MemfsLink | undefined,
    /** For a directory: the lower directory merged beneath it (none if opaque). Otherwise the lower object it came from. */
    public lower: LowerNode | undefined,
  ) {}

  get type(): EntryType {
    if (this.upper) return typeFromMode(this.upper.getNode().mode) ?? 'file';
    return this.lower!.entry.type;
  }

  get isDir(): boolean {
    return this.type === 'directory';
  }

  /** A lower layer still provides this name, so removing it needs a whiteout (ovl_lower_positive). */
  get lowerPositive(): boolean {
    return this.parent?.lower?.children?.has(this.name) ?? false;
  }

  childPath(name: string): string {
    return join(this.path, name);
  }

  /**
   * Where it is now: an open file's object may have been renamed since its lookup, and inotify
   * reports a change made through the descriptor at the file's current name (fsnotify_change
   * and fsnotify_modify take the open file's dentry). Its upper link moves with it
   * (Upper.move), and the merged view names what the upper names; a lower object not copied
   * up has not moved (a rename copies it up). Unlinked, the name it had last.
   */
  currentPath(): string {
    return this.upper ? this.upper.getPath() || '/' : this.path;
  }
}

/** Where a path leads: the parent directory, the final name, and the object if it exists. */
export interface Resolution {
  parent: Obj | undefined;
  name: string;
  obj: Obj | undefined;
  /** The path the caller gave, for messages. */
  path: string;
  /** The canonical path of the final name (symlinks resolved). */
  resolved: string;
  /** The path ended in a slash (only reported by parent lookups, see OverlayEngine.resolveEntry). */
  trailingSlash?: boolean;
  /** The last name was `.` or `..` (the kernel's LAST_DOT, LAST_DOTDOT): no name to create or remove. */
  lastDot?: '.' | '..';
}
