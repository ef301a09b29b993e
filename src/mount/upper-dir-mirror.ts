// Over 300 lines: one observer of the engine's upper layer, each of its calls the disk side of one
// change (create, link, remove, rename, write, truncate, fsync, settle); the walk down by descriptor,
// the copy-up and the one-step whiteout are its own helpers, sharing its pending state.
import { chmodSync, chownSync, closeSync, constants, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, lchownSync, lutimesSync, mkdirSync, openSync, utimesSync, writeSync, type Stats } from 'node:fs';
import type { DirHandle } from '../host/dir-handle.js';
import { hostCalls } from '../host/native.js';
import { removeTreeAt } from '../host/remove-tree-at.js';
import { OPAQUE_MARKER, whitedOutName } from '../oci/oci-names.js';
import type { Upper, UpperObserver } from '../overlay/upper.js';
import type { MemfsLink, MemfsNode } from '../util/memfs-types.js';
import { major, minor } from '../util/device.js';
import { fromBytes } from '../util/names.js';
import { MountError } from './mount-error.js';

const { O_NONBLOCK, O_WRONLY, O_NOFOLLOW, O_TRUNC, S_IFMT, S_IFCHR, S_IFBLK, S_IFIFO, S_IFDIR, S_IFLNK, S_IFREG } = constants;
/** The overlay's own xattrs on the upper directory (overlayfs.rst): never the files' own, never removed here. */
const OVERLAY_XATTR = 'trusted.overlay.';
const OPAQUE_XATTR = 'trusted.overlay.opaque';
/** overlayfs.rst "Redirect dir": where a renamed merged directory's lower content is (redirect_dir=on). */
const REDIRECT_XATTR = 'trusted.overlay.redirect';

/**
 * Keeps an upper directory on disk in step with the engine's upper layer, as the kernel would
 * have written it (overlayfs.rst, "whiteouts and opaque directories"): each namespace change
 * of the upper layer is made on disk as it happens (Upper's observer: a whiteout is a 0/0
 * character device, an opaque directory gets `trusted.overlay.opaque=y`, a new file is
 * written in the workdir and renamed into place, as the kernel's copy-up does), writes go to
 * the disk file at the same offset, and after each FUSE operation the metadata of what it
 * touched (owner, mode, xattrs, times) is set from the engine's (`settle`).
 *
 * Why write-through from the memfs upper rather than an upper on disk: the engine's rules
 * (copy-up, whiteouts, rename, hard links) run on memfs's inode layer (upper.ts), and keeping
 * them there keeps one implementation of them for the library, the mount and the commit; the
 * disk is a second copy, made by replaying the same changes. What it costs: the upper's
 * content is held in memory too (read once at mount, upper-dir-load.ts).
 *
 * Nothing on disk is followed: every call goes through a directory descriptor opened name by
 * name with O_NOFOLLOW from the upper root (DirHandle), a final name is never followed
 * (lchown, lutimes, rename, unlink), and a mode or xattr is set through an O_PATH descriptor
 * of the object itself (its /proc/self/fd magic link ends on that inode).
 */
export class UpperDirMirror implements UpperObserver {
  private dirty = new Set<MemfsLink>();
  private failure: Error | undefined;
  /** The disk file each writable FUSE descriptor writes to. */
  private readonly writers = new Map<number, number>();
  private temps = 0;
  /**
   * A non-directory removed from the upper layer, not yet unlinked on disk: when the next
   * change whiteouts that very name (unlink of a copied-up lower file, removeObject), the
   * whiteout made in the workdir replaces it by one rename(2), as ovl_remove_and_whiteout
   * does, so U never lacks both (a crash between an unlink and a mknod would bring the lower
   * file back). Anything else first unlinks it.
   */
  private pendingUnlink: { dir: MemfsLink; name: string } | undefined;

  constructor(private readonly upper: Upper, private readonly root: DirHandle, private readonly work: DirHandle) {
    upper.observer = this;
  }

  // ---- the upper layer's namespace changes, made on disk as they happen ---------------

  created(dir: MemfsLink, name: string, link: MemfsLink): void {
    this.dirty.add(dir);
    const pending = this.pendingUnlink;
    if (pending && pending.dir === dir && whitedOutName(name) === pending.name) {
      this.pendingUnlink = undefined;
      return this.guard(`whiteout ${pending.name}`, () => this.inDir(dir, (d) => this.whiteoutOver(d, pending.name)));
    }
    this.unlinkPending();
    this.guard(`create ${name}`, () =>
      this.inDir(dir, (d) => {
        if (name === OPAQUE_MARKER) return this.calls().setxattr(d.self(), OPAQUE_XATTR, Buffer.from('y'));
        const hidden = whitedOutName(name);
        // overlayfs.rst: "a whiteout is created as a character device with 0/0 device number".
        if (hidden !== undefined) return d.mknod(hidden, S_IFCHR, 0, 0);
        this.dirty.add(link);
        this.make(d, name, link.getNode());
      }),
    );
  }

  attached(dir: MemfsLink, name: string, link: MemfsLink, existing: MemfsLink): void {
    this.unlinkPending();
    this.dirty.add(dir);
    this.dirty.add(link);
    this.guard(`link ${name}`, () => this.inDir(dir, (d) => this.inDir(existing.parent!, (from) => d.link(from, existing.name, name))));
  }

  removed(dir: MemfsLink, name: string, link: MemfsLink): void {
    this.unlinkPending();
    this.dirty.add(dir);
    this.guard(`remove ${name}`, () =>
      this.inDir(dir, (d) => {
        if (name === OPAQUE_MARKER) return this.calls().removexattr!(d.self(), OPAQUE_XATTR);
        const hidden = whitedOutName(name);
        if (hidden !== undefined) {
          const st = d.lstat(hidden);
          if (!st?.isCharacterDevice() || st.rdev !== 0) throw new Error(`${d.labelOf(hidden)} is not the whiteout the upper layer holds`);
          return d.unlink(hidden);
        }
        if (link.getNode().isDirectory()) removeTreeAt(d, name);
        else this.pendingUnlink = { dir, name };
      }),
    );
  }

  moved(fromDir: MemfsLink, fromName: string, toDir: MemfsLink, toName: string): void {
    // The name this rename replaces (Upper#move removed it first): rename(2) replaces it in one step.
    const pending = this.pendingUnlink;
    if (pending && pending.dir === toDir && pending.name === toName) this.pendingUnlink = undefined;
    this.unlinkPending();
    this.dirty.add(fromDir);
    this.dirty.add(toDir);
    const link = toDir.children.get(toName);
    if (link) this.dirty.add(link);
    this.guard(`rename ${fromName}`, () => this.inDir(fromDir, (f) => this.inDir(toDir, (t) => f.rename(fromName, t, toName))));
  }

  // ---- content, through the FUSE descriptors ------------------------------------------

  /** A FUSE descriptor opened for writing at `path`: its writes go to the disk file too. */
  opened(fuseFd: number, path: string): void {
    this.unlinkPending();
    const link = this.lookup(path);
    if (!link || !link.getNode().isFile()) return;
    this.guard(`open ${path}`, () => this.inDir(link.parent!, (d) => this.writers.set(fuseFd, openWriter(d, link.name))));
  }

  wrote(fuseFd: number, path: string, buf: Buffer, length: number, position: number): void {
    const disk = this.writers.get(fuseFd);
    if (disk !== undefined) this.guard(`write ${path}`, () => writeSync(disk, buf, 0, length, position));
    else this.rewrite(path);
  }

  truncated(fuseFd: number | undefined, path: string, size: number): void {
    const disk = fuseFd === undefined ? undefined : this.writers.get(fuseFd);
    if (disk !== undefined) return this.guard(`truncate ${path}`, () => ftruncateSync(disk, size));
    // truncate(2) by path: the disk file is cut or extended in place, as the kernel's
    // ovl_setattr does on the upper file (a rewrite would empty it first: a crash midway
    // would lose what the kernel keeps).
    const link = this.lookup(path);
    if (!link || !link.getNode().isFile()) return;
    this.guard(`truncate ${path}`, () => this.inDir(link.parent!, (d) => closingAfter(openWriter(d, link.name), (fd) => ftruncateSync(fd, size))));
  }

  /**
   * fsync(2) on the mount (`fuseFd`, or a directory's `path`): the disk object is synced, as
   * ovl_fsync syncs the upper file (a name only in a lower layer has nothing to sync). Throws
   * the disk's error (the caller gets it as EIO).
   */
  synced(fuseFd: number | undefined, path: string, datasync: boolean): void {
    const sync = datasync ? fdatasyncSync : fsyncSync;
    const disk = fuseFd === undefined ? undefined : this.writers.get(fuseFd);
    if (disk !== undefined) return sync(disk);
    const link = this.lookup(path);
    // Only a file or a directory (a device or fifo on the mount is the kernel's, never FUSE's): nothing else is opened here.
    if (!link || !(link.getNode().isFile() || link.getNode().isDirectory())) return;
    if (link === this.upper.root) return fsyncSync(this.root.fd);
    if (!this.namesOf(link)) return;
    this.inDir(link.parent!, (d) => closingAfter(d.openFile(link.name, { nonBlocking: true }), sync));
  }

  released(fuseFd: number): void {
    const disk = this.writers.get(fuseFd);
    if (disk === undefined) return;
    this.writers.delete(fuseFd);
    this.guard('close', () => closeSync(disk));
  }

  /**
   * After a FUSE operation: the metadata of everything it touched (the names it made, moved
   * or removed and their directories, and `paths`) set on disk from the engine's. Throws the
   * first disk error of the operation (then the directory is out of step: the FUSE caller
   * gets EIO and the daemon says why).
   */
  settle(paths: readonly string[]): void {
    this.unlinkPending();
    for (const p of paths) {
      const link = this.lookup(p);
      if (link) this.dirty.add(link);
    }
    const dirty = [...this.dirty];
    this.dirty = new Set();
    for (const link of dirty) this.guard(`attributes of ${link.name}`, () => this.syncMeta(link));
    const failure = this.failure;
    this.failure = undefined;
    if (failure) throw new MountError('ERR_UPPERDIR', `the upper directory is out of step with the mount: ${failure.message}`, { cause: failure });
  }

  close(): void {
    this.unlinkPending();
    for (const fd of this.writers.values()) closeSync(fd);
    this.writers.clear();
    this.upper.observer = undefined;
  }

  // ---- helpers --------------------------------------------------------------------------

  /** The name removed last, unlinked on disk now (no whiteout replaced it). */
  private unlinkPending(): void {
    const p = this.pendingUnlink;
    if (!p) return;
    this.pendingUnlink = undefined;
    this.guard(`remove ${p.name}`, () => this.inDir(p.dir, (d) => d.unlink(p.name)));
  }

  /** A whiteout (a 0/0 character device) made in the workdir and renamed over `name` in `d`: one step on disk. */
  private whiteoutOver(d: DirHandle, name: string): void {
    const temp = this.tempName();
    this.work.mknod(temp, S_IFCHR, 0, 0);
    try {
      this.work.rename(temp, d, name);
    } catch (e) {
      this.work.unlink(temp);
      throw e;
    }
  }

  /** A name in the workdir for a file made there before it is renamed into U. */
  private tempName(): string {
    return `#layerfs-${process.pid}-${this.temps++}`;
  }

  private calls() {
    const calls = hostCalls();
    if (!calls?.removexattr) throw new Error('the native addon is missing or too old for xattrs (npm run build:native)');
    return calls;
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.failure ??= new Error(`${what}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** The link at `path` in the upper layer (no symlink followed), if the upper layer has it. */
  private lookup(path: string): MemfsLink | undefined {
    let link: MemfsLink | undefined = this.upper.root;
    for (const name of path.split('/')) {
      if (name === '') continue;
      link = link.children.get(name);
      if (!link) return undefined;
    }
    return link;
  }

  /** The names from the upper root down to `link`, or undefined if it is no longer in the tree. */
  private namesOf(link: MemfsLink): string[] | undefined {
    const names: string[] = [];
    for (let l = link; l !== this.upper.root; l = l.parent!) {
      if (!l.parent || l.parent.children.get(l.name) !== l) return undefined;
      names.unshift(l.name);
    }
    return names;
  }

  /** Runs `fn` on the disk directory of `dir`, opened name by name (O_PATH, O_NOFOLLOW) from the upper root. */
  private inDir<T>(dir: MemfsLink, fn: (d: DirHandle) => T): T {
    const names = this.namesOf(dir);
    if (!names) throw new Error(`${dir.name}: not in the upper layer any more`);
    let d = this.root;
    try {
      for (const name of names) {
        const next = d.openDir(name, { pathOnly: true });
        if (d !== this.root) d.close();
        d = next;
      }
      return fn(d);
    } finally {
      if (d !== this.root) d.close();
    }
  }

  /** Makes `name` in `d` as `node` is: a file written in the workdir and renamed into place (the kernel's copy-up). */
  private make(d: DirHandle, name: string, node: MemfsNode): void {
    if (d.lstat(name)) throw new Error(`${d.labelOf(name)} exists on disk but not in the upper layer`);
    const type = node.mode & S_IFMT;
    if (type === S_IFDIR) return mkdirSync(d.at(name), 0o700);
    if (type === S_IFLNK) return d.symlink(name, node.symlink);
    if (type === S_IFCHR || type === S_IFBLK || type === S_IFIFO) return d.mknod(name, type | (node.mode & 0o7777), major(node.rdev), minor(node.rdev));
    if (type !== S_IFREG) throw new Error(`${d.labelOf(name)}: no such file type in a layer`);
    const temp = this.tempName();
    const fd = this.work.createFile(temp, 0o600);
    try {
      const bytes = node.getBuffer();
      if (bytes.length > 0) {
        writeSync(fd, bytes, 0, bytes.length, 0);
        // ovl_copy_up_file syncs the copy before it is renamed into place (unless volatile): a
        // crash after the rename must not leave an empty or torn file hiding the lower one.
        fsyncSync(fd);
      }
    } finally {
      closeSync(fd);
    }
    this.work.rename(temp, d, name);
  }

  /** Writes the whole content of the file at `path` again (a write or truncate with no disk descriptor). */
  private rewrite(path: string): void {
    const link = this.lookup(path);
    if (!link || !link.getNode().isFile()) return;
    this.guard(`write ${path}`, () => this.inDir(link.parent!, (d) => rewriteIn(d, link.name, link.getNode())));
  }

  /** Sets the disk object's owner, mode, xattrs and times to the node's (the owner first: chown clears set-id bits). */
  private syncMeta(link: MemfsLink): void {
    const node = link.getNode();
    if (link === this.upper.root) return this.syncNode(node, this.root.self(), this.root.self(), true);
    if (!this.namesOf(link)) return;
    this.inDir(link.parent!, (d) => {
      const ref = d.openNode(link.name);
      try {
        if ((ref.stat.mode & S_IFMT) !== (node.mode & S_IFMT)) throw new Error(`${d.labelOf(link.name)} is not of the type the upper layer holds`);
        if (node.isFile() && ref.stat.size !== node.getSize()) this.guard(`write ${d.labelOf(link.name)}`, () => rewriteIn(d, link.name, node));
        this.syncNode(node, ref.path, d.at(link.name), false, ref.stat);
      } finally {
        closeSync(ref.fd);
      }
    });
  }

  /** `inode`: the object's own /proc/self/fd path (followed to it); `name`: its name in its directory (never followed). */
  private syncNode(node: MemfsNode, inode: string, name: string, isRoot: boolean, known?: Stats): void {
    const st = known ?? (isRoot ? fstatSync(this.root.fd) : undefined);
    const symlink = node.isSymlink();
    if (!st || st.uid !== node.uid || st.gid !== node.gid) {
      if (isRoot) chownSync(inode, node.uid, node.gid);
      else lchownSync(name, node.uid, node.gid);
    }
    if (!symlink) chmodSync(inode, node.mode & 0o7777);
    const want = this.upper.xattrs.get(node) ?? new Map<string, Buffer>();
    const calls = this.calls();
    const have = new Map<string, Buffer>();
    const pairs = calls.xattrsOf!(inode);
    for (let i = 0; i < pairs.length; i += 2) have.set(fromBytes(pairs[i]!), pairs[i + 1]!);
    for (const n of have.keys()) if (!n.startsWith(OVERLAY_XATTR) && !want.has(n)) calls.removexattr!(inode, n);
    for (const [n, v] of want) if (!have.get(n)?.equals(v)) calls.setxattr(inode, n, v);
    // Written as an absolute lower path (the kernel writes a bare name for a rename within one
    // directory; it reads both forms).
    const redirect = this.upper.redirects.get(node);
    if (redirect !== undefined && have.get(REDIRECT_XATTR)?.toString() !== redirect) calls.setxattr(inode, REDIRECT_XATTR, Buffer.from(redirect));
    else if (redirect === undefined && have.has(REDIRECT_XATTR)) calls.removexattr!(inode, REDIRECT_XATTR);
    const atime = node.atime.getTime() / 1000;
    const mtime = node.mtime.getTime() / 1000;
    if (isRoot) utimesSync(inode, atime, mtime);
    else lutimesSync(name, atime, mtime);
  }
}

/** The disk file `name` in `d` opened for writing, O_NONBLOCK (a fifo swapped in under the name fails ENXIO, never waits for a reader) and never followed. */
function openWriter(d: DirHandle, name: string, flags = 0): number {
  return openSync(d.at(name), O_WRONLY | O_NOFOLLOW | O_NONBLOCK | flags);
}

/** Writes the whole of `node`'s content to the disk file `name` in `d` again. */
function rewriteIn(d: DirHandle, name: string, node: MemfsNode): void {
  const bytes = node.getBuffer();
  closingAfter(openWriter(d, name, O_TRUNC), (fd) => bytes.length > 0 && writeSync(fd, bytes, 0, bytes.length, 0));
}

function closingAfter(fd: number, fn: (fd: number) => unknown): void {
  try {
    fn(fd);
  } finally {
    closeSync(fd);
  }
}
