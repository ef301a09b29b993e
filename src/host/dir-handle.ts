import { closeSync, constants, fchmodSync, fchownSync, fstatSync, futimesSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, symlinkSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
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
 * The names of temporary files (`.layerfs-tmp.<pid>.<n>`): content is written under such a
 * name and renamed into place once complete, so one found in a target is a file an
 * interrupted export did not finish.
 */
export const TEMP_NAME = /^\.layerfs-tmp\.\d+\.\d+$/;
let tempCounter = 0;

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

  private constructor(readonly fd: number, readonly label: string, readonly dev: number, readonly ino: number, readonly mode: number) {}

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
    return new DirHandle(fd, label, st.dev, st.ino, st.mode);
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
    return `/proc/self/fd/${this.fd}/${this.checked(name)}`;
  }

  /** `name`, once checked to be one component, for calls relative to `fd` itself. */
  private checked(name: string): string {
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
    // S_ISGID is inherited from a set-group-ID parent (mkdir(2)), not a sign of replacement;
    // only a parent that has it passes it on.
    const inherited = this.mode & S_ISGID;
    if ((uid !== undefined && st.uid !== uid) || (st.mode & 0o7777 & ~(mode | inherited)) !== 0) {
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
   * Creates a new file, writes `data`, sets its owner (unless `uid` is undefined), mode and
   * times, and closes it unless `keepOpen` (then its descriptor is returned). The name is
   * created with O_EXCL|O_NOFOLLOW: an existing name, a symlink included, is EEXIST. One call
   * into the native addon when it is built (src/host/native.ts), else the same steps here.
   */
  writeFile(name: string, file: { mode: number; uid?: number; gid?: number; mtimeMs: number; data?: Buffer; keepOpen?: boolean }): number | undefined {
    const calls = hostCalls();
    const data = file.data !== undefined && file.data.length > 0 ? file.data : null;
    if (calls) {
      const sec = Math.floor(file.mtimeMs / 1000);
      const nsec = Math.min(999_999_999, Math.round((file.mtimeMs - sec * 1000) * 1e6));
      const fd = calls.writeFileAt(this.fd, this.checked(name), file.mode, file.uid ?? -1, file.gid ?? -1, sec, nsec, data, file.keepOpen ?? false);
      return fd >= 0 ? fd : undefined;
    }
    const fd = this.createFile(name);
    try {
      for (let off = 0; data && off < data.length; ) off += writeSync(fd, data, off, data.length - off);
      // chown clears the set-id bits (chown(2)): the mode comes after it.
      if (file.uid !== undefined) fchownSync(fd, file.uid, file.gid ?? -1);
      fchmodSync(fd, file.mode);
      futimesSync(fd, file.mtimeMs / 1000, file.mtimeMs / 1000);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    if (file.keepOpen) return fd;
    closeSync(fd);
    return undefined;
  }

  /**
   * Runs `create` with a fresh temporary name (see TEMP_NAME) until it does not fail with
   * EEXIST, and returns the name used. When `create` fails otherwise (ENOSPC while writing),
   * the name is removed: only a process killed outright leaves a temporary behind.
   */
  withTempName(create: (name: string) => void): string {
    for (;;) {
      const name = `.layerfs-tmp.${process.pid}.${tempCounter++}`;
      try {
        create(name);
        return name;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        try {
          this.unlink(name);
        } catch {
          // Never created (the open itself failed), or the filesystem refuses even this.
        }
        throw e;
      }
    }
  }

  /**
   * Puts the file `from` (a name here) at `name`: with `replace`, rename(2) over whatever
   * non-directory is there (never following it); without, link(2) then unlink, so an
   * existing name is EEXIST and left as it was.
   */
  place(from: string, name: string, options: { replace?: boolean } = {}): void {
    if (options.replace) return renameSync(this.at(from), this.at(name));
    linkSync(this.at(from), this.at(name));
    unlinkSync(this.at(from));
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
    calls.mknodat(this.fd, this.checked(name), mode, major, minor);
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
   * Removes `name` and, if it is a directory, everything under it, by descriptor: each
   * directory is opened without following a symlink, emptied, closed and removed. Iterative,
   * so depth is bounded by open descriptors, not the stack.
   */
  removeTree(name: string): void {
    const st = this.lstat(name);
    if (!st) return;
    if (!st.isDirectory()) return this.unlink(name);
    const stack: Array<{ parent: DirHandle; name: string; dir: DirHandle }> = [{ parent: this, name, dir: this.openDir(name) }];
    try {
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        let sub: string | undefined;
        for (const n of top.dir.names()) {
          if (top.dir.lstat(n)?.isDirectory()) {
            sub = n;
            break;
          }
          top.dir.unlink(n);
        }
        if (sub !== undefined) {
          stack.push({ parent: top.dir, name: sub, dir: top.dir.openDir(sub) });
          continue;
        }
        stack.pop();
        top.dir.close();
        rmdirSync(top.parent.at(top.name));
      }
    } finally {
      for (const s of stack) s.dir.close();
    }
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

/** A directory made by this process was replaced by another before it could be opened. */
export class ReplacedError extends Error {
  readonly code = 'EREPLACED';

  constructor(readonly path: string) {
    super(`${path}: replaced by another process right after it was made`);
    this.name = 'ReplacedError';
  }
}
