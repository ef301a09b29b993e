import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, type Stats } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK } = constants;

/** A name a directory handle refuses: empty, `.`, `..`, or holding `/` or NUL. */
export class UnsafeNameError extends Error {
  constructor(readonly dir: string, readonly entry: string) {
    super(`${dir}: ${JSON.stringify(entry)} is not a single path component`);
    this.name = 'UnsafeNameError';
  }
}

/**
 * A directory on the host, held open by descriptor, in which names are created and opened
 * relative to the descriptor, never through a path that could be changed underneath.
 *
 * Node has no openat(2)/mkdirat(2). On Linux, `/proc/self/fd/N` is a "magic link": following
 * it jumps to the open file itself, whatever has happened to its path since (proc(5),
 * /proc/pid/fd), so `/proc/self/fd/N/name` is resolved inside this directory's inode, as
 * `openat(N, "name")` would be. The last component is then one name, never followed where
 * the call is told not to (O_NOFOLLOW, mkdir, symlink, link, rename, lchown, lutimes: none
 * follow a final symlink). A racing process that swaps a directory on the path for a symlink
 * cannot redirect a write, and the path given to the kernel stays short, so a tree deeper
 * than PATH_MAX can still be written.
 */
export class DirHandle {
  private closed = false;

  private constructor(readonly fd: number, readonly label: string, readonly dev: number, readonly ino: number) {}

  /**
   * Opens a directory by path; a symlink at its last component is refused (ELOOP/ENOTDIR from
   * the kernel), whatever the path ends in. open(2) would follow one despite O_NOFOLLOW when the
   * path ends in `/` or `/.` (path_resolution(7): a trailing slash or a final `.` resolves
   * through the link), so the path is resolved lexically (path.resolve: `a/b/..` is `a`), its
   * parent opened (the caller's own path, followed), and the last component opened inside it.
   * Errors name `path`, as open(2)'s would.
   */
  static open(path: string): DirHandle {
    const full = resolve(path);
    if (full === '/') return DirHandle.adopt(openSync(full, O_RDONLY | O_DIRECTORY), path);
    const { parent, name } = DirHandle.openParent(full);
    const inside = parent.at(name);
    try {
      return DirHandle.adopt(openSync(inside, O_RDONLY | O_DIRECTORY | O_NOFOLLOW), path);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (typeof err.message === 'string') err.message = err.message.replace(inside, path);
      if (err.path === inside) err.path = path;
      throw err;
    } finally {
      parent.close();
    }
  }

  /**
   * The directory holding `path`'s last component (path.resolve'd; the parent path is
   * followed like any path the caller gives), and that component: to open or make inside it
   * without following. `name` is empty for `/`, which no handle opens as a child.
   */
  static openParent(path: string): { parent: DirHandle; name: string } {
    const full = resolve(path);
    const dir = dirname(full);
    return { parent: DirHandle.adopt(openSync(dir, O_RDONLY | O_DIRECTORY), dir), name: basename(full) };
  }

  private static adopt(fd: number, label: string): DirHandle {
    let st: Stats;
    try {
      st = fstatSync(fd);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return new DirHandle(fd, label, st.dev, st.ino);
  }

  /** Whether `/proc/self/fd` works here (Linux with /proc mounted). */
  static supported(): boolean {
    try {
      return lstatSync('/proc/self/fd').isDirectory();
    } catch {
      return false;
    }
  }

  /** The path of `name` inside this directory, through the descriptor. */
  at(name: string): string {
    if (this.closed) throw new Error(`${this.label}: directory handle used after close`);
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) throw new UnsafeNameError(this.label, name);
    return `/proc/self/fd/${this.fd}/${name}`;
  }

  /** A label for messages: the directory's path as opened, and the name. */
  labelOf(name: string): string {
    return this.label.endsWith('/') ? `${this.label}${name}` : `${this.label}/${name}`;
  }

  /** lstat of a name in this directory (the name itself, never followed); undefined if absent. */
  lstat(name: string): Stats | undefined {
    return lstatSync(this.at(name), { throwIfNoEntry: false });
  }

  /** Opens an existing child directory without following a symlink there. */
  openDir(name: string): DirHandle {
    return DirHandle.adopt(openSync(this.at(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW), this.labelOf(name));
  }

  /** The path of this directory itself, through the descriptor. */
  self(): string {
    if (this.closed) throw new Error(`${this.label}: directory handle used after close`);
    return `/proc/self/fd/${this.fd}`;
  }

  /** The names in this directory (not `.` and `..`). */
  names(): string[] {
    return readdirSync(this.self());
  }

  /**
   * Makes a new child directory and opens it. Between the mkdir and the open another process
   * could replace the name (where it may write this directory): the opened directory must be
   * owned by this process's user and still have its new mode, or it is not the one made here.
   */
  makeDir(name: string, mode = 0o700): DirHandle {
    mkdirSync(this.at(name), mode);
    const dir = this.openDir(name);
    const st = fstatSync(dir.fd);
    const uid = process.geteuid?.();
    // S_ISGID is inherited from a set-group-ID parent (mkdir(2)), not a sign of replacement.
    if ((uid !== undefined && st.uid !== uid) || (st.mode & 0o5777 & ~mode) !== 0) {
      dir.close();
      throw new ReplacedError(this.labelOf(name));
    }
    return dir;
  }

  /** Creates a new file for writing: an existing name (a symlink included) is EEXIST, never opened. */
  createFile(name: string, mode = 0o600): number {
    return openSync(this.at(name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  }

  /**
   * Opens an existing file for reading, refusing a symlink there (ELOOP). `nonBlocking` opens
   * it O_NONBLOCK, so a FIFO or device found under the name cannot stall the open (open(2));
   * a regular file reads as it would without.
   */
  openFile(name: string, options: { nonBlocking?: boolean } = {}): number {
    return openSync(this.at(name), O_RDONLY | O_NOFOLLOW | (options.nonBlocking ? O_NONBLOCK : 0));
  }

  /** unlink(2) of a name here (a symlink is removed itself). */
  unlink(name: string): void {
    unlinkSync(this.at(name));
  }

  /** rename(2) of a name here to a name in `to` (neither final component is followed). */
  rename(name: string, to: DirHandle, toName: string): void {
    renameSync(this.at(name), to.at(toName));
  }

  /** Whether `name` here is still the directory `child` (same device and inode, not a symlink). */
  holds(name: string, child: DirHandle): boolean {
    const st = this.lstat(name);
    return st !== undefined && st.isDirectory() && st.dev === child.dev && st.ino === child.ino;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/** A directory made by this process was replaced by another before it could be opened. */
export class ReplacedError extends Error {
  readonly code = 'EREPLACED';

  constructor(readonly path: string) {
    super(`${path}: replaced by another process right after it was made`);
    this.name = 'ReplacedError';
  }
}
