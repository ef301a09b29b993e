import { closeSync, constants, openSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import type { LayerEntry } from './entry.js';
import type { Layer } from './layer.js';
import { LayerError } from './layer-error.js';
import type { BuiltLayer } from './layer-builder.js';
import { firstPathOf } from './indexed-layer.js';
import { DirectoryLayerError, Walk, inside, type Source } from './directory-walk.js';
import { ContentFile, LayerContentError } from './content-file.js';
import { DirHandle } from '../host/dir-handle.js';
import { hostCalls, hostCallsMissing } from '../host/native.js';
import { addDispose } from '../util/disposable.js';

export { DirectoryLayerError, type DirectoryLayerCode } from './directory-walk.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;
/** open(2)'s O_PATH (asm-generic value; see dir-handle.ts). */
const O_PATH = 0o10000000;
/** Content files held open at once; more are closed, oldest first, and opened again when read. */
const OPEN_FILES = 64;

export interface DirectoryLayerOptions {
  /** The layer's name in reports (default: the path). */
  name?: string;
  /**
   * Read the `user.overlay.*` xattrs instead of `trusted.overlay.*`, as the kernel does with
   * the `userxattr` mount option (overlayfs.rst, "User xattr").
   */
  userxattr?: boolean;
  /**
   * Read the directory as an overlay's upper directory: a directory's overlay.redirect
   * (redirect_dir=on) is kept in `redirects` rather than refused (ERR_DIR_REDIRECT), for the
   * mount over it to follow (mount/upper-dir-load.ts). A lower layer's redirect is always refused.
   */
  upper?: boolean;
}


/**
 * A directory on the host read as a lower layer in the kernel's on-disk format
 * (overlayfs.rst, "whiteouts and opaque directories"): a docker or containerd `overlay2`
 * snapshot, or any `lowerdir`. Entries come from one walk made by descriptor at open: every
 * name is opened O_PATH|O_NOFOLLOW inside its directory's descriptor and fstat'ed, a
 * directory is entered through that same descriptor (so a name swapped for a symlink during
 * the walk is never followed), a symlink is an entry. Content is read when asked for, through
 * a descriptor opened then the same way and checked against the walk's fstat (device, inode,
 * size, mtime, ctime, link count: ContentFile): a file changed after the walk is an
 * ERR_LAYER_CHANGED error, never other bytes.
 */
export class DirectoryLayer implements Layer {
  readonly entries: ReadonlyMap<string, LayerEntry>;
  readonly whiteouts: ReadonlySet<string>;
  readonly opaqueDirs: ReadonlySet<string>;
  readonly lowerLinks: ReadonlyMap<string, string>;
  /** With the `upper` option: each redirected directory's overlay.redirect, as written (relative or absolute). */
  readonly redirects: ReadonlyMap<string, string>;
  private readonly sources: Map<number, Source>;
  private readonly open = new Map<number, ContentFile>();
  private closed = false;

  private constructor(readonly name: string, private readonly root: DirHandle, built: BuiltLayer, sources: Map<number, Source>, redirects: ReadonlyMap<string, string>) {
    this.redirects = redirects;
    this.entries = built.entries;
    this.whiteouts = built.whiteouts;
    this.opaqueDirs = built.opaqueDirs;
    this.lowerLinks = built.lowerLinks;
    this.sources = sources;
  }

  /** Walks `path` (a directory; the path itself is followed, nothing inside it) into a layer. */
  static open(path: string, options: DirectoryLayerOptions = {}): DirectoryLayer {
    const name = options.name ?? path;
    const calls = hostCalls();
    if (!calls?.xattrsOf) throw new DirectoryLayerError(name, '/', 'ERR_DIR_UNSUPPORTED', `reading xattrs needs the native addon: ${hostCallsMissing() || 'rebuild it (npm run build:native)'}`);
    let root: DirHandle;
    try {
      root = DirHandle.open(path);
    } catch (e) {
      throw new DirectoryLayerError(name, '/', 'ERR_DIR_IO', `cannot open ${path}: ${(e as Error).message}`, e);
    }
    try {
      const walk = new Walk(name, root, options.userxattr === true ? 'user.overlay.' : 'trusted.overlay.', calls.xattrsOf.bind(calls), options.upper === true);
      const { built, paths } = walk.run();
      const sources = new Map<number, Source>();
      for (const [p, e] of built.entries) {
        const source = e.type === 'file' ? paths.get(p) : undefined;
        if (source && !sources.has(e.inode)) sources.set(e.inode, source);
      }
      return new DirectoryLayer(name, root, built, sources, walk.redirects);
    } catch (e) {
      root.close();
      throw e;
    }
  }

  read(entry: LayerEntry): Buffer {
    if (entry.size > bufferConstants.MAX_LENGTH) throw new LayerError(this.name, this.pathOf(entry), `a file of ${entry.size} bytes is larger than a Buffer can hold (read it by position: readAt)`);
    const out = Buffer.allocUnsafe(entry.size);
    if (entry.size > 0) this.fileOf(entry).readAt(out, 0, entry.size, 0, this.pathOf(entry));
    else this.fileOf(entry).check(this.pathOf(entry));
    return out;
  }

  readAt(entry: LayerEntry, buffer: Uint8Array, offset: number, length: number, position: number): number {
    if (!Number.isInteger(position) || position < 0) throw new RangeError(`position must be a whole number of 0 or more, not ${position}`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > buffer.byteLength) {
      throw new RangeError(`offset ${offset} and length ${length} do not fit a buffer of ${buffer.byteLength} bytes`);
    }
    const file = this.fileOf(entry);
    const n = Math.max(0, Math.min(length, entry.size - position));
    if (n > 0) file.readAt(buffer, offset, n, position, this.pathOf(entry));
    return n;
  }

  /** Closes the directory and every content file; reads then fail with ERR_LAYER_CLOSED. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.open.values()) f.close();
    this.open.clear();
    this.root.close();
  }

  /** The open content file of `entry`, opened now (from the root, never following a symlink) if it is not. */
  private fileOf(entry: LayerEntry): ContentFile {
    if (this.closed) throw new LayerContentError(this.name, this.pathOf(entry), 'ERR_LAYER_CLOSED', 'the layer was closed');
    const source = this.sources.get(entry.inode);
    if (!source || entry.type !== 'file') throw new LayerError(this.name, this.pathOf(entry), 'not a file');
    let file = this.open.get(entry.inode);
    if (file) {
      this.open.delete(entry.inode); // most recently used last
      this.open.set(entry.inode, file);
      return file;
    }
    const path = this.pathOf(entry);
    let fd: number;
    try {
      fd = openBeneath(this.root, source.names);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const changed = code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR';
      throw new LayerContentError(this.name, path, changed ? 'ERR_LAYER_CHANGED' : 'ERR_LAYER_IO', `${changed ? 'no longer the file walked' : 'cannot open it'}: ${(e as Error).message}`, { cause: e });
    }
    file = ContentFile.adopt(fd, `${this.root.label}${path}`, this.name, source.stamp);
    this.open.set(entry.inode, file);
    if (this.open.size > OPEN_FILES) {
      const [oldest, f] = this.open.entries().next().value as [number, ContentFile];
      f.close();
      this.open.delete(oldest);
    }
    return file;
  }

  /** The entry's path for messages: its file's, kept from the walk (no scan on every read). */
  private pathOf(entry: LayerEntry): string {
    return this.sources.get(entry.inode)?.path ?? firstPathOf(this.entries, entry);
  }
}

addDispose(DirectoryLayer.prototype);
export interface DirectoryLayer {
  [Symbol.dispose](): void;
}

/** `openDirectoryLayer(path, options)`: DirectoryLayer.open. */
export function openDirectoryLayer(path: string, options: DirectoryLayerOptions = {}): DirectoryLayer {
  return DirectoryLayer.open(path, options);
}

/** Opens the regular file at `names` below `root` for reading: each component O_NOFOLLOW, a directory at each step. */
function openBeneath(root: DirHandle, names: Buffer[]): number {
  let dir = root.fd;
  const opened: number[] = [];
  try {
    for (let i = 0; i < names.length - 1; i++) {
      dir = openSync(inside(dir, names[i]!), O_PATH | O_DIRECTORY | O_NOFOLLOW);
      opened.push(dir);
    }
    return openSync(inside(dir, names[names.length - 1]!), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } finally {
    for (const fd of opened) closeSync(fd);
  }
}

