import { OPAQUE_MARKER, whiteoutName } from '../oci/oci-names.js';
import { basename, dirname, join } from '../util/path.js';

/**
 * The OCI changeset form (image-spec layer.md): the entries a layer tar holds, in the shape
 * the generators make (layer/layer-entries.ts, overlay/upper-entries.ts,
 * overlay/merged-entries.ts), the tar writer (export/tar-writer.ts) and exportDir take, and the
 * teaching page sends (serve/page-image.ts); with what every generator shares: the relative
 * path form, the whiteout and opaque markers, and the hard-link bookkeeping.
 */

/** The kinds of object a layer can hold (OCI layer.md "Entry types"; tar typeflags 0,1,2,3,4,5,6). */
export type EntryType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo';

/**
 * One entry of an OCI changeset (image-spec layer.md) as it is written to a tar and read from
 * one: already normalised (path relative, times in ms), a whiteout or opaque marker as an
 * empty file of mode 0 at its `.wh.` name.
 */
export interface TarEntry {
  path: string;
  type: EntryType | 'hardlink';
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  linkTarget?: string;
  rdev?: number;
  xattrs?: ReadonlyMap<string, Buffer>;
  data?: Buffer;
  /**
   * A file's content read by position as the tar is written, instead of `data` (a lower
   * layer's file, which never changes): the writer reads it a piece at a time, as its reader
   * pulls, never whole.
   */
  content?: ContentReader;
  /** On the first name of an inode with more names (hard links that follow): its link count. */
  nlink?: number;
}

/**
 * `size` bytes at `offset` of the open file `fd` (a layer file, a spill file), to be copied
 * by the kernel (copy_file_range(2), sendfile(2)) into a file nobody can see yet. As a read
 * is, the copy is confirmed after it is made: `confirm(attempt, whole)` returns true when the
 * bytes copied were the verified ones, false when the layer file had changed and was verified
 * again (copy again, with `attempt` one more), and throws the layer's error when it is no
 * longer the verified file, or when `whole` is false (the copy found the file ended early)
 * and the file is the verified one all the same.
 */
export interface FileRange {
  readonly fd: number;
  readonly offset: number;
  readonly size: number;
  confirm(attempt: number, whole: boolean): boolean;
}

/** A file's content by position, as Layer.readAt gives it: `size` bytes in all. */
export interface ContentReader {
  readonly size: number;
  /** Copies up to `length` bytes from byte `position` into `buffer` at `offset`; returns how many. */
  readAt(buffer: Uint8Array, offset: number, length: number, position: number): number;
  /** Where the bytes lie, when the layer says (Layer.contentSource): to copy them without reading them. */
  source?(): Buffer | FileRange;
}

/**
 * The changeset name of the absolute layer path `path`: relative (`/a/b` is `a/b`); a
 * directory's ends in `/`, and the root is `./`.
 */
export function entryPath(path: string, directory = false): string {
  if (!directory) return path.slice(1);
  return path === '/' ? './' : `${path.slice(1)}/`;
}

/** An OCI whiteout or opaque marker entry: an empty file, mode 0, at `path` (relative). */
export function marker(path: string): TarEntry {
  return { path, type: 'file', mode: 0, uid: 0, gid: 0, mtimeMs: 0, data: Buffer.alloc(0) };
}

/** The marker named `name` (a `.wh.` name) in the directory `dir` (absolute). */
export function markerIn(dir: string, name: string): TarEntry {
  return marker(entryPath(join(dir, name)));
}

/** The opaque marker of the directory `dir` (absolute): `dir/.wh..wh..opq`. */
export function opaqueMarker(dir: string): TarEntry {
  return markerIn(dir, OPAQUE_MARKER);
}

/** The whiteout that removes the absolute path `removed`: `.wh.<name>` beside it. */
export function whiteout(removed: string): TarEntry {
  return markerIn(dirname(removed), whiteoutName(basename(removed)));
}

/**
 * The hard-link bookkeeping of a generator (layer.md, "Hardlinks"): the first name of an inode
 * is written with its content, every later name as a hard link to that first name. `K` is
 * whatever tells the generator's inodes apart.
 */
export class InodeNames<K> {
  private readonly first = new Map<K, string>();

  /**
   * The changeset name a later name of `inode` links to, or undefined when the absolute path
   * `path` is its first name (now recorded as such).
   */
  linkTarget(inode: K, path: string): string | undefined {
    const first = this.first.get(inode);
    if (first !== undefined) return first;
    this.first.set(inode, entryPath(path));
    return undefined;
  }
}
