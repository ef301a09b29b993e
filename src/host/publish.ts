import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, linkSync, type Stats } from 'node:fs';
import { ReplacedError } from './dir-errors.js';
import type { DirHandle } from './dir-handle.js';
import { hostCalls } from './native.js';

/**
 * Create a file unnamed, then publish it under a name: the way to write a file that no one
 * ever sees half-written under its name, and that a racing process cannot substitute.
 *
 * Where the filesystem has O_TMPFILE and the native addon is built, the file is created with
 * no name at all (open(2), O_TMPFILE) and given one only once complete, with linkat(2) of its
 * own /proc/self/fd magic link (the addon's linkFd: Node's link(2) does not follow that
 * link). Until then nothing in any directory refers to it: nothing to swap, and a process
 * killed meanwhile leaves nothing behind (the kernel frees the inode with the descriptor).
 *
 * Otherwise (EOPNOTSUPP, or EISDIR from an old kernel, or no addon) it is created under a
 * random temporary name (TEMP_NAME: 128 bits from crypto, O_EXCL, a few tries) and linked or
 * renamed to its name; afterwards the name must hold the inode written (a process that may
 * write the directory could have exchanged the temporary), or it is a ReplacedError and what
 * another process put there is removed from the name.
 */

/** The temporary names of the fallback: a killed writer leaves one; overwrite removes them. */
export const TEMP_NAME = /^\.layerfs-tmp\.[0-9a-f]{32}$/;
/** How many random names are tried before EEXIST is reported (a collision is 2^-128). */
const TEMP_TRIES = 4;
const tempName = () => `.layerfs-tmp.${randomBytes(16).toString('hex')}`;

/**
 * Opens a new file for writing and returns its descriptor: with `null`, an unnamed one in
 * the directory (O_TMPFILE); with a name, that new name (O_CREAT|O_EXCL|O_NOFOLLOW). It may
 * write the content and metadata too (write-file-at.ts: with the addon, all in one call).
 */
export type FileOpener = (name: string | null) => number;

const NO_TMPFILE = new Set(['EOPNOTSUPP', 'ENOTSUP', 'EISDIR']);

/** A new regular file, open for writing, not yet under the name it is for. */
export class PendingFile {
  private done = false;
  private fileStat: Stats | undefined;

  private constructor(private readonly dir: DirHandle, private descriptor: number, private temp: string | undefined) {}

  /** The file's fstat, while it is open: made when first asked (most files written are never asked, a system call saved each). */
  get stat(): Stats {
    if (this.descriptor < 0) throw new Error(`${this.dir.label}: a pending file used after close`);
    return (this.fileStat ??= fstatSync(this.descriptor));
  }

  /** The file's descriptor, open for writing (-1 once closed). */
  get fd(): number {
    return this.descriptor;
  }

  /**
   * Creates the file in `dir` with `open` (default: an empty file, mode 0600): unnamed when
   * it can be published by descriptor, else under a random temporary name. When `open` fails
   * after making the temporary (ENOSPC while writing), the temporary is removed.
   */
  static create(dir: DirHandle, open: FileOpener = (name) => (name === null ? dir.createUnnamed() : dir.createFile(name))): PendingFile {
    if (hostCalls()) {
      let fd: number | undefined;
      try {
        fd = open(null);
      } catch (e) {
        if (!NO_TMPFILE.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
      }
      if (fd !== undefined) return new PendingFile(dir, fd, undefined);
    }
    for (let tries = 1; ; tries++) {
      const name = tempName();
      let fd: number;
      try {
        fd = open(name);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST' && tries < TEMP_TRIES) continue;
        if (code !== 'EEXIST') removeQuietly(dir, name);
        throw e;
      }
      return new PendingFile(dir, fd, name);
    }
  }

  /** Whether the file has a temporary name (the fallback) rather than none. */
  get named(): boolean {
    return this.temp !== undefined;
  }

  /** Where the file is, for messages: its temporary's path, or its directory's while it has no name. */
  get label(): string {
    return this.temp === undefined ? this.dir.label : this.dir.labelOf(this.temp);
  }

  /**
   * Gives the file the name `name` in its directory; an existing name (a symlink included) is
   * EEXIST and left as it is. Afterwards `name` holds this file.
   */
  publish(name: string): void {
    this.open();
    if (this.temp === undefined) {
      this.dir.at(name); // checks `name` is one component, as every other call here does
      hostCalls()!.linkFd(this.fd, this.dir.fd, name);
    } else {
      linkSync(this.dir.at(this.temp), this.dir.at(name));
      this.dropTemp();
      this.checkHeldBy(name);
    }
    this.done = true;
  }

  /**
   * Gives the file the name `name`, replacing what is there (not a directory) in one rename(2),
   * so `name` is never missing: for a name readers must always find. An unnamed file is first
   * linked to a random temporary name. Afterwards `name` holds this file.
   */
  publishReplacing(name: string): void {
    this.open();
    if (this.temp === undefined) this.temp = this.linkToTemp();
    const temp = this.temp;
    this.dir.rename(temp, this.dir, name);
    this.temp = undefined;
    this.checkHeldBy(name);
    this.done = true;
  }

  /**
   * publish, or, when `name` is taken (EEXIST), publishReplacing: for a name whose content is
   * fixed whoever writes it (a blob under its digest), where what is there may be torn or wrong.
   */
  publishOrReplace(name: string): void {
    try {
      this.publish(name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      this.publishReplacing(name);
    }
  }

  /** Closes the file; one never published is gone (unnamed) or its temporary is removed. */
  close(): void {
    if (this.descriptor < 0) return;
    closeSync(this.descriptor);
    this.descriptor = -1;
    if (!this.done) this.dropTemp();
  }

  private open(): void {
    if (this.fd < 0) throw new Error(`${this.dir.label}: a pending file used after close`);
    if (this.done) throw new Error(`${this.dir.label}: a pending file published twice`);
  }

  private linkToTemp(): string {
    for (let tries = 1; ; tries++) {
      const name = tempName();
      try {
        hostCalls()!.linkFd(this.fd, this.dir.fd, name);
        return name;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= TEMP_TRIES) throw e;
      }
    }
  }

  private dropTemp(): void {
    if (this.temp === undefined) return;
    const temp = this.temp;
    this.temp = undefined;
    removeQuietly(this.dir, temp);
  }

  /**
   * The name must hold this file's inode: through a temporary name, another process that may
   * write the directory could have put its own file there first. If it does not, what is at
   * the name is not this file: it is removed and the publish fails.
   */
  private checkHeldBy(name: string): void {
    const st = this.dir.lstat(name);
    if (st && st.isFile() && st.dev === this.stat.dev && st.ino === this.stat.ino) return;
    if (st && !st.isDirectory()) removeQuietly(this.dir, name);
    throw new ReplacedError(this.dir.labelOf(name));
  }
}

/**
 * Removes the temporaries a killed writer left in `dir`, among `names` (its entries): regular
 * files named exactly TEMP_NAME, on `dir`'s own mount. A directory, a symlink or anything else
 * with such a name was not made by a PendingFile and is left alone. `fail` turns an error
 * (lstat, a mount point there, unlink) into the caller's; by default it is thrown as it is.
 */
export function removeTemps(dir: DirHandle, names: readonly string[], fail: (e: unknown, name: string) => unknown = (e) => e): void {
  for (const name of names) {
    if (!TEMP_NAME.test(name)) continue;
    try {
      const st = dir.lstat(name);
      if (!st?.isFile()) continue;
      dir.sameMount(name, { st });
      dir.unlink(name);
    } catch (e) {
      throw fail(e, name);
    }
  }
}

function removeQuietly(dir: DirHandle, name: string): void {
  try {
    dir.unlink(name);
  } catch {
    // Never made, already gone, or the filesystem refuses even this: the caller's error says why.
  }
}
