/**
 * What the overlay tells its watchers as it changes the merged view: the fsnotify hooks of the
 * kernel's VFS (include/linux/fsnotify.h), one notice per hook, named by the inotify(7) event
 * it raises. `path` is the canonical merged path of the object the event is about; the fs
 * facade (fs/watch.ts) turns notices into inotify events of the watched directories and
 * files, as the kernel reports a child's event to its parent's watch and to its own.
 * Copy-up raises none: it changes the upper layer, not the merged view's objects.
 */
export type NoticeKind =
  /** IN_CREATE: a name made (open O_CREAT of a new file, mkdir, mknod, symlink, link). */
  | 'create'
  /** IN_DELETE: a name removed (unlink, rmdir); the object's own watch sees IN_DELETE_SELF. */
  | 'delete'
  /** IN_MODIFY: a file's data written or truncated (write(2) of at least one byte, ftruncate, open O_TRUNC of an existing file). */
  | 'modify'
  /** IN_ATTRIB of notify_change (chmod, chown, utimes): reported to the object's watch and its parent's. */
  | 'attrib'
  /** IN_ATTRIB of fsnotify_link_count (link, unlink): reported to the object's own watch only. */
  | 'link_count'
  /** IN_MOVED_FROM at the old name (the object's own watch sees IN_MOVE_SELF). */
  | 'moved_from'
  /** IN_MOVED_TO at the new name; `from` is the old path (whose own watch then sees IN_MOVE_SELF). */
  | 'moved_to';

export interface FsNotice {
  kind: NoticeKind;
  /** The canonical merged path of the object. */
  path: string;
  isDir: boolean;
  /** moved_to: where the object was. */
  from?: string;
  /**
   * moved_to over an existing object (another inode): what it was. Its link count changes
   * (IN_ATTRIB); when that was its last name the inode goes (IN_DELETE_SELF, IN_IGNORED).
   */
  replaced?: { isDir: boolean; lastLink: boolean };
}

/**
 * Who hears the notices (the facade's inotify, fs/watch.ts). While `watching` is false no
 * watch is set and no notice is made: a write, a chmod or a rename costs nothing more.
 */
export interface Watchers {
  readonly watching: boolean;
  notice(notice: FsNotice): void;
}

/** No watchers: an engine made without the facade's. */
export const NO_WATCHERS: Watchers = { watching: false, notice: () => {} };
