/**
 * The OCI changeset form (image-spec layer.md): the entries a layer tar holds, in the shape
 * the generators make (layer/layer-entries.ts, overlay/upper-entries.ts,
 * overlay/merged-entries.ts), the tar writer (tar-writer.ts) and exportDir take, and the
 * teaching page sends (serve/page-image.ts).
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
  /** On the first name of an inode with more names (hard links that follow): its link count. */
  nlink?: number;
}

/** An OCI whiteout or opaque marker entry: an empty file, mode 0, at `path` (relative). */
export function marker(path: string): TarEntry {
  return { path, type: 'file', mode: 0, uid: 0, gid: 0, mtimeMs: 0, data: Buffer.alloc(0) };
}
