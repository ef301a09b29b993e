// Over 300 lines: every single host system call made relative to a directory descriptor, a
// method each, behind one class so that none resolves a path on its own. The calls built from
// several (write-file-at.ts, remove-tree-at.ts) and the errors (dir-errors.ts) are beside it.
import { chmodSync, closeSync, constants, fstatSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, symlinkSync, unlinkSync, type Stats } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { MountPointError, ReplacedError, UnsafeNameError } from './dir-errors.js';
import { hostCalls } from './native.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK } = constants;
const S_ISGID = 0o2000;
/**
 * open(2)'s O_PATH (010000000 on Linux's generic ABI: x86-64, arm64), which Node's constants
 * lack: a descriptor that only names an inode, opened without read permission on it and, with
 * O_NOFOLLOW, on a symlink itself.
 */
const O_PATH = 0o10000000;

/**
 * open(2)'s O_TMPFILE (__O_TMPFILE 020000000 with O_DIRECTORY, so 020200000, on Linux's
 * generic ABI: x86-64, arm64), which Node's constants lack; Node passes the number through to
 * open(2). An unnamed regular file in the directory opened, gone when closed unless linked.
 */
const O_TMPFILE = 0o20000000 | O_DIRECTORY;

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
/** The id of the mount the descriptor `fd` is on (`mnt_id` of /proc/self/fdinfo/N, proc(5)), or -1 where the kernel does not say. */
export function mountIdOf(fd: number): number {
  const m = /^mnt_id:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'));
  return m ? Number(m[1]) : -1;
}

export class DirHandle {
  private closed = false;
  private mount: number | undefined;

  private constructor(readonly fd: number, readonly label: string, readonly dev: number, readonly ino: number, readonly mode: number, readonly uid: number) {}

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
    return new DirHandle(fd, label, st.dev, st.ino, st.mode, st.uid);
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
    return `/proc/self/fd/${this.fd}/${this.component(name)}`;
  }

  /** `name`, once checked to be one component, for calls relative to `fd` itself (the native addon's *at calls). */
  component(name: string): string {
    if (this.closed) throw new Error(`${this.label}: directory handle used after close`);
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) throw new UnsafeNameError(this.label, name);
    return name;
  }

  /** A label for messages: the directory's path as opened, and the name. */
  labelOf(name: string): string {
    return this.label.endsWith('/') ? `${this.label}${name}` : `${this.label}/${name}`;
  }

  /** lstat of a name in this directory (the name itself, never followed); undefined if absent. */
  lstat(name: string): Stats | undefined {
    return lstatSync(this.at(name), { throwIfNoEntry: false });
  }

  /**
   * Opens an existing child directory without following a symlink there. `pathOnly` opens it
   * O_PATH: enough to hold it, stat it and reach names inside it (search permission only),
   * not to list it.
   */
  openDir(name: string, options: { pathOnly?: boolean } = {}): DirHandle {
    return DirHandle.adopt(openSync(this.at(name), (options.pathOnly ? O_PATH : O_RDONLY) | O_DIRECTORY | O_NOFOLLOW), this.labelOf(name));
  }

  /**
   * Opens an existing child directory to go into it: it must be on this directory's mount
   * (sameMount). With `makePrivate`, it is first given mode 0700 through an O_PATH descriptor
   * (which needs no permission on it), so a directory of this user's with mode 000 or 0555
   * can be listed and written; the caller sets its final mode afterwards. The directory
   * opened is the one checked and chmod'ed: it is reopened through that descriptor's
   * /proc/self/fd link.
   */
  enterDir(name: string, options: { makePrivate?: boolean } = {}): DirHandle {
    const held = this.openDir(name, { pathOnly: options.makePrivate });
    if (!options.makePrivate) {
      try {
        this.sameMount(name, { child: held });
      } catch (e) {
        held.close();
        throw e;
      }
      return held;
    }
    try {
      this.sameMount(name, { child: held });
      chmodSync(held.self(), 0o700);
      return DirHandle.adopt(openSync(held.self(), O_RDONLY | O_DIRECTORY), this.labelOf(name));
    } finally {
      held.close();
    }
  }

  /**
   * Opens a directory by path (a final symlink refused, as open does) after giving it mode
   * 0700 through an O_PATH descriptor: for a directory of this user's that its mode (000)
   * keeps from being opened. The directory opened is the one chmod'ed.
   */
  static openPrivate(path: string): DirHandle {
    // As open does: the last component opened inside its parent, so a trailing / or /. cannot
    // make it follow a symlink there.
    const full = resolve(path);
    let held: DirHandle;
    if (full === '/') {
      held = DirHandle.adopt(openSync(full, O_PATH | O_DIRECTORY), path);
    } else {
      const { parent, name } = DirHandle.openParent(full);
      try {
        held = parent.openDir(name, { pathOnly: true });
      } finally {
        parent.close();
      }
    }
    try {
      chmodSync(held.self(), 0o700);
      return DirHandle.adopt(openSync(held.self(), O_RDONLY | O_DIRECTORY), path);
    } finally {
      held.close();
    }
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
    const uid = process.geteuid?.();
    // S_ISGID is inherited from a set-group-ID parent (mkdir(2)), not a sign of replacement;
    // only a parent that has it passes it on.
    const inherited = this.mode & S_ISGID;
    if ((uid !== undefined && dir.uid !== uid) || (dir.mode & 0o7777 & ~(mode | inherited)) !== 0) {
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
   * Opens a new unnamed regular file in this directory for writing (O_TMPFILE through the
   * descriptor's /proc/self/fd path): no name shows it until it is linked (src/host/publish.ts),
   * and it is gone when closed otherwise. EOPNOTSUPP (or EISDIR from an old kernel) where the
   * filesystem has no O_TMPFILE.
   */
  createUnnamed(mode = 0o600): number {
    return openSync(this.self(), O_TMPFILE | O_WRONLY, mode);
  }

  /** Creates a symlink `name` holding `target` (never followed). */
  symlink(name: string, target: string): void {
    symlinkSync(target, this.at(name));
  }

  /** Makes `name` here a hard link to `fromName` in `from` (link(2) does not follow `fromName`). */
  link(from: DirHandle, fromName: string, name: string): void {
    linkSync(from.at(fromName), this.at(name));
  }

  /**
   * mknodat(2) of a device node or fifo (`mode` holds its type and permission bits); needs
   * the native addon: check `hostCalls()` first.
   */
  mknod(name: string, mode: number, major: number, minor: number): void {
    const calls = hostCalls();
    if (!calls) throw new Error(`${this.labelOf(name)}: mknod needs the native addon`);
    calls.mknodat(this.fd, this.component(name), mode, major, minor);
  }

  /**
   * Opens `name` itself O_PATH|O_NOFOLLOW (a symlink is not followed, a device not opened):
   * its metadata is then set through `/proc/self/fd/N`, whose magic link ends on that inode,
   * so a name swapped after this open cannot redirect the calls.
   */
  openNode(name: string): NodeRef {
    const fd = openSync(this.at(name), O_PATH | O_NOFOLLOW);
    try {
      return { fd, path: `/proc/self/fd/${fd}`, stat: fstatSync(fd) };
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** unlink(2) of a name here (a symlink is removed itself). */
  unlink(name: string): void {
    unlinkSync(this.at(name));
  }

  /**
   * Opens an existing file for reading, refusing a symlink there (ELOOP). `nonBlocking` opens
   * it O_NONBLOCK, so a FIFO or device found under the name cannot stall the open (open(2));
   * a regular file reads as it would without.
   */
  openFile(name: string, options: { nonBlocking?: boolean } = {}): number {
    return openSync(this.at(name), O_RDONLY | O_NOFOLLOW | (options.nonBlocking ? O_NONBLOCK : 0));
  }

  /** rename(2) of a name here to a name in `to` (neither final component is followed). */
  rename(name: string, to: DirHandle, toName: string): void {
    renameSync(this.at(name), to.at(toName));
  }

  /**
   * The id of the mount this directory is on (`mnt_id` of /proc/self/fdinfo/N, proc(5)), or
   * -1 where the kernel does not say. Two directories of one filesystem have the same st_dev
   * even when one is a bind mount; their mount ids differ.
   */
  mountId(): number {
    this.mount ??= mountIdOf(this.fd);
    return this.mount;
  }

  /**
   * Refuses to go from this directory into `child` (a directory opened from it) or to remove
   * `name` (lstat `st`) when it is on another mount: a mount point, whether another filesystem
   * (st_dev differs) or a bind mount of this one (mount ids differ). Like rm --one-file-system,
   * so removing or refilling a tree never reaches into what is mounted inside it.
   */
  sameMount(name: string, what: { child?: DirHandle; st?: Stats }): void {
    const dev = what.child?.dev ?? what.st?.dev;
    if (dev !== this.dev || (what.child && what.child.mountId() !== this.mountId())) throw new MountPointError(this.labelOf(name));
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

/** A name held by an O_PATH descriptor: `path` is `/proc/self/fd/N`, `stat` its fstat. */
export interface NodeRef {
  fd: number;
  path: string;
  stat: Stats;
}
