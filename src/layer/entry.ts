import type { ContentFile } from './content-file.js';

import type { EntryType } from '../tar/changeset.js';

export type { EntryType };

/**
 * One object in one read-only layer. Hard links inside a layer are several paths whose
 * entries share `inode` (and therefore content and metadata).
 */
export interface LayerEntry {
  readonly type: EntryType;
  /** Permission bits including setuid/setgid/sticky (`mode & 0o7777`); no file-type bits. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtimeMs: number;
  readonly atimeMs: number;
  /** Content length for files, target length for symlinks, 0 otherwise. */
  readonly size: number;
  readonly linkTarget?: string;
  /** Device number for char and block devices (`makedev(major, minor)` encoding). */
  readonly rdev: number;
  readonly xattrs: ReadonlyMap<string, Buffer>;
  /** Layer-local inode number: the names of one hard-linked file share it. */
  readonly inode: number;
  /** Names of this inode in the layer (files), or 2 + subdirectories (directories), as on disk. */
  readonly nlink: number;
  /**
   * A directory the layer does not list but needs as the parent of something it does list
   * (umoci omits unchanged parents). It merges with the directory below without replacing
   * that directory's metadata.
   */
  readonly implicit: boolean;
}

/** What a caller supplies to describe an entry; the builder fills in the rest. */
export interface EntrySpec {
  type: EntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  mtimeMs?: number;
  atimeMs?: number;
  linkTarget?: string;
  rdev?: number;
  xattrs?: Record<string, Buffer | string>;
  /** File content, or where it lies in a file on disk (an uncompressed layer tar). */
  content?: Buffer | string | ContentRef;
}

/**
 * File content left on disk: `size` bytes at `offset` of `file`, read when asked for. `file`
 * is a descriptor the layer holds (its verified layer file, or its private spill file), or
 * undefined where the layer keeps no content at all (a tar layer opened with
 * `content: 'none'`): then only the size is known, and a read is a LayerContentError
 * (`ERR_LAYER_NO_CONTENT`).
 */
export interface ContentRef {
  file: ContentFile | undefined;
  offset: number;
  size: number;
}

export const S_IFMT = 0o170000;
const TYPE_BITS: Record<EntryType, number> = {
  file: 0o100000,
  directory: 0o040000,
  symlink: 0o120000,
  char: 0o020000,
  block: 0o060000,
  fifo: 0o010000,
};

export function typeBits(type: EntryType): number {
  return TYPE_BITS[type];
}

/** The entry type of a mode's S_IFMT bits (on every lookup: a switch, no allocation). */
export function typeFromMode(mode: number): EntryType | undefined {
  switch (mode & S_IFMT) {
    case 0o100000: return 'file';
    case 0o040000: return 'directory';
    case 0o120000: return 'symlink';
    case 0o020000: return 'char';
    case 0o060000: return 'block';
    case 0o010000: return 'fifo';
    default: return undefined;
  }
}

export function defaultMode(type: EntryType): number {
  return type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644;
}
