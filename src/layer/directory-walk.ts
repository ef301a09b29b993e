import { closeSync, fstatSync, lstatSync, openSync, opendirSync, readlinkSync, constants, type BigIntStats, type Dir } from 'node:fs';
import { mountIdOf, type DirHandle } from '../host/dir-handle.js';
import { LayerError } from './layer-error.js';
import { LayerBuilder, type BuiltLayer } from './layer-builder.js';
import { fromBytes } from '../util/names.js';
import { join } from '../util/path.js';

// The one walk of DirectoryLayer.open (directory-layer.ts): every name opened O_PATH|O_NOFOLLOW
// inside its directory's descriptor, read as the kernel reads a lower layer's on-disk format.

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = constants;
/** open(2)'s O_PATH (asm-generic value; see dir-handle.ts). */
const O_PATH = 0o10000000;

/**
 * Why a directory cannot be read as a layer in the kernel's format. Stable strings:
 * - `ERR_DIR_MOUNT`: a mount point inside it (the kernel's overlay shows the directory the mount
 *   covers, which no path reaches from here: a lookup in a layer is lookup_one on its dentries,
 *   which never crosses into a mount; checked with a tmpfs mounted inside a lowerdir).
 * - `ERR_DIR_REDIRECT`: a directory with `overlay.redirect` (redirect_dir) or a file with
 *   `overlay.metacopy`: where its content lies is in another layer, which this layer model does
 *   not express (overlayfs.rst, "Renaming directories", "Metadata only copy up").
 * - `ERR_DIR_UNSUPPORTED`: a socket (no layer entry type holds one), an xattr whiteout that the
 *   kernel's lookup and readdir disagree on, an xattr of a name that is not UTF-8, an escaped
 *   overlay xattr (`overlay.overlay.*`, shown by the kernel as the file's `overlay.*`).
 * - `ERR_DIR_CHANGED`: a name changed while it was walked (swapped for a symlink, replaced).
 * - `ERR_DIR_IO`: a system call failed (EACCES, ELOOP...); `cause` is the error.
 */
export type DirectoryLayerCode = 'ERR_DIR_MOUNT' | 'ERR_DIR_REDIRECT' | 'ERR_DIR_UNSUPPORTED' | 'ERR_DIR_CHANGED' | 'ERR_DIR_IO';

export class DirectoryLayerError extends LayerError {
  declare readonly code: DirectoryLayerCode;

  constructor(layer: string, entry: string, code: DirectoryLayerCode, reason: string, cause?: unknown) {
    super(layer, entry, reason, code);
    this.name = 'DirectoryLayerError';
    if (cause !== undefined) this.cause = cause;
  }
}

/** Where a file's content is: its path's components from the layer root, and its fstat at the walk. */
export interface Source {
  /** The first path of the inode in the layer (for messages). */
  path: string;
  names: Buffer[];
  stamp: BigIntStats;
}

/** The path of name `name` (bytes) in the directory open as `fd`, through its magic link. */
export function inside(fd: number, name: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`/proc/self/fd/${fd}/`), name]);
}

/** The one walk of DirectoryLayer.open: depth first, one open directory per level. */
export class Walk {
  private readonly builder: LayerBuilder;
  readonly paths = new Map<string, Source>();
  /** The first path of each multiply-linked inode (`dev:ino`): later names are hard links to it. */
  private readonly firstName = new Map<string, string>();
  private readonly dev: bigint;
  private readonly mount: number;
  /** Each directory's overlay.redirect value, when they are kept (`keepRedirects`) rather than refused. */
  readonly redirects = new Map<string, string>();

  constructor(private readonly name: string, private readonly root: DirHandle, private readonly prefix: string, private readonly xattrsOf: (path: string) => Buffer[], private readonly keepRedirects = false) {
    this.builder = new LayerBuilder(name, { literalNames: true });
    this.dev = fstatSync(root.fd, { bigint: true }).dev;
    this.mount = mountIdOf(root.fd);
  }

  run(): { built: BuiltLayer; paths: Map<string, Source> } {
    const rootStat = fstatSync(this.root.fd, { bigint: true });
    this.addDirectory('/', this.root.fd, rootStat);
    this.walkTree(this.root.fd);
    return { built: this.builder.build(), paths: this.paths };
  }

  private fail(path: string, code: DirectoryLayerCode, reason: string, cause?: unknown): never {
    throw new DirectoryLayerError(this.name, path, code, reason, cause);
  }

  private io<T>(path: string, what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof LayerError) throw e;
      return this.fail(path, 'ERR_DIR_IO', `${what}: ${(e as Error).message}`, e);
    }
  }

  /**
   * Walks the tree under the directory open as `rootFd`, depth first, without recursion (a
   * tree thousands of levels deep is walked, not a RangeError): one frame per level holds the
   * directory's descriptor and its listing (opendir, read in batches).
   */
  private walkTree(rootFd: number): void {
    interface Frame { path: string; fd: number; names: Buffer[]; listing: Dir | undefined }
    const stack: Frame[] = [{ path: '/', fd: rootFd, names: [], listing: undefined }];
    try {
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        top.listing ??= this.io(top.path, 'cannot list it', () => opendirSync(`/proc/self/fd/${top.fd}`, { encoding: 'buffer' as BufferEncoding }));
        const dirent = this.io(top.path, 'cannot list it', () => top.listing!.readSync());
        if (dirent === null) {
          this.closeFrame(stack.pop()!, rootFd);
          continue;
        }
        const nameBytes = dirent.name as unknown as Buffer;
        const path = join(top.path, fromBytes(nameBytes));
        const names = [...top.names, nameBytes];
        const child = this.walkName(top.fd, path, names);
        if (child !== undefined) stack.push({ path, fd: child, names, listing: undefined });
      }
    } finally {
      for (const frame of stack) this.closeFrame(frame, rootFd);
    }
  }

  private closeFrame(frame: { fd: number; listing: Dir | undefined }, rootFd: number): void {
    frame.listing?.closeSync();
    frame.listing = undefined;
    if (frame.fd !== rootFd) closeSync(frame.fd);
    frame.fd = rootFd;
  }

  /** Adds the entry at `path`; for a directory, returns its descriptor, open for listing (the caller closes it). */
  private walkName(dirFd: number, path: string, names: Buffer[]): number | undefined {
    const nameBytes = names[names.length - 1]!;
    const fd = this.io(path, 'cannot open it', () => openSync(inside(dirFd, nameBytes), O_PATH | O_NOFOLLOW));
    try {
      const st = this.io(path, 'cannot stat it', () => fstatSync(fd, { bigint: true }));
      // Another filesystem or a bind mount, on a directory or a file (a container's
      // /etc/hosts): the kernel's lookup stays in the layer and shows what the mount covers.
      if (st.dev !== this.dev || mountIdOf(fd) !== this.mount) this.fail(path, 'ERR_DIR_MOUNT', 'a mount point inside the layer (the kernel shows what the mount covers, which cannot be reached here)');
      if (st.isDirectory()) {
        const dir = this.io(path, 'cannot open it', () => openSync(`/proc/self/fd/${fd}`, O_RDONLY | O_DIRECTORY));
        try {
          const again = fstatSync(dir, { bigint: true });
          if (again.ino !== st.ino || again.dev !== st.dev) this.fail(path, 'ERR_DIR_CHANGED', 'changed while it was walked');
          this.addDirectory(path, fd, st);
        } catch (e) {
          closeSync(dir);
          throw e;
        }
        return dir;
      }
      const xattrs = this.xattrs(path, fd);
      if (st.isCharacterDevice() && st.rdev === 0n) {
        // overlayfs.rst, "whiteouts and opaque directories": a 0/0 character device.
        this.builder.addWhiteout(path);
        return;
      }
      if (xattrs.overlay.has('whiteout') && st.isFile() && st.size === 0n) {
        // The xattr whiteout (Linux 6.7): an empty regular file with overlay.whiteout, in a
        // directory marked overlay.opaque=x. Elsewhere the kernel's readdir lists the name and
        // its lookup finds nothing (checked on 6.18): refused rather than guessed. A file that
        // is not empty is no whiteout anywhere (ovl_path_check_xwhiteout_xattr: "a zero size
        // regular file"): the kernel shows it, its bytes, as any file.
        if (this.xattrWhiteoutDirs.has(parentOf(path))) {
          this.builder.addWhiteout(path);
          return;
        }
        this.fail(path, 'ERR_DIR_UNSUPPORTED', 'an overlay.whiteout file outside a directory marked overlay.opaque=x (the kernel lists it and finds nothing)');
      }
      if (xattrs.overlay.has('metacopy')) this.fail(path, 'ERR_DIR_REDIRECT', 'a metacopy file (its content is in another layer)');
      const meta = { mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtimeMs: Number(st.mtimeNs) / 1e6, atimeMs: Number(st.atimeNs) / 1e6, xattrs: xattrs.kept };
      if (st.nlink > 1n && !st.isDirectory()) {
        const key = `${st.dev}:${st.ino}`;
        const first = this.firstName.get(key);
        if (first !== undefined) {
          this.builder.addHardLink(path, first);
          return;
        }
        this.firstName.set(key, path);
      }
      if (st.isFile()) {
        this.paths.set(path, { path, names, stamp: st });
        this.builder.add(path, { type: 'file', ...meta, content: { file: undefined, offset: 0, size: Number(st.size) } });
      } else if (st.isSymbolicLink()) {
        const target = this.io(path, 'cannot read the link', () => readlinkSync(inside(dirFd, nameBytes), { encoding: 'buffer' }));
        const after = this.io(path, 'cannot stat it', () => lstatSync(inside(dirFd, nameBytes), { bigint: true }));
        if (after.ino !== st.ino || after.dev !== st.dev) this.fail(path, 'ERR_DIR_CHANGED', 'replaced while it was walked');
        this.builder.add(path, { type: 'symlink', ...meta, linkTarget: fromBytes(target) });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        this.builder.add(path, { type: st.isCharacterDevice() ? 'char' : 'block', ...meta, rdev: Number(st.rdev) });
      } else if (st.isFIFO()) {
        this.builder.add(path, { type: 'fifo', ...meta });
      } else {
        this.fail(path, 'ERR_DIR_UNSUPPORTED', 'a socket (a layer has no entry type for one)');
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Directories marked overlay.opaque=x: their overlay.whiteout files are whiteouts. */
  private readonly xattrWhiteoutDirs = new Set<string>();

  /** Adds a directory entry from its descriptor (its overlay xattrs read as the kernel reads them). */
  private addDirectory(path: string, fd: number, st: BigIntStats): void {
    const xattrs = this.xattrs(path, fd);
    if (xattrs.overlay.has('redirect') && this.keepRedirects) this.redirects.set(path, fromBytes(xattrs.overlay.get('redirect')!));
    else if (xattrs.overlay.has('redirect')) this.fail(path, 'ERR_DIR_REDIRECT', `a redirected directory (overlay.redirect ${JSON.stringify(xattrs.overlay.get('redirect')!.toString())}: its lower content is elsewhere)`);
    const opaque = xattrs.overlay.get('opaque')?.toString();
    // overlayfs.rst: "y" is opaque; "x" (6.7) marks a directory that holds xattr whiteouts.
    if (opaque === 'y') this.builder.addOpaque(path);
    else if (opaque === 'x') this.xattrWhiteoutDirs.add(path);
    this.builder.add(path, { type: 'directory', mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtimeMs: Number(st.mtimeNs) / 1e6, atimeMs: Number(st.atimeNs) / 1e6, xattrs: xattrs.kept });
  }

  /**
   * The xattrs of the inode `fd` holds: the overlay ones (`trusted.overlay.` or, with
   * userxattr, `user.overlay.`) by their short name, the rest kept exact. The kernel hides
   * every trusted.overlay.* xattr of a layer from the merged view (ovl_listxattr, "overlay
   * xattrs" in overlayfs.rst), and with userxattr the user.overlay.* ones.
   */
  private xattrs(path: string, fd: number): { overlay: Map<string, Buffer>; kept: Record<string, Buffer> | undefined } {
    const pairs = this.io(path, 'cannot read its xattrs', () => this.xattrsOf(`/proc/self/fd/${fd}`));
    const overlay = new Map<string, Buffer>();
    let kept: Record<string, Buffer> | undefined;
    for (let i = 0; i < pairs.length; i += 2) {
      const name = fromBytes(pairs[i]!);
      if (!name.startsWith(this.prefix)) (kept ??= {})[name] = pairs[i + 1]!;
      // An escaped xattr (Linux 6.7, overlayfs.rst "Nesting overlayfs"): the kernel shows
      // `overlay.overlay.X` as the file's own `overlay.X`. No layer format here holds such a
      // name (the engine refuses it, inode.ts): refused, never dropped.
      else if (name.startsWith(`${this.prefix}overlay.`)) this.fail(path, 'ERR_DIR_UNSUPPORTED', `an escaped overlay xattr (${name}: the kernel shows it as ${this.prefix}${name.slice(this.prefix.length + 8)}, which a layer cannot hold)`);
      else overlay.set(name.slice(this.prefix.length), pairs[i + 1]!);
    }
    return { overlay, kept };
  }
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
