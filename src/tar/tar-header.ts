import type { EntryType, TarEntry } from './changeset.js';

/**
 * Tar headers as tar-stream 3 reads and writes them, for the readers (header-walk.ts,
 * plain-header.ts, layer/tar/entry-from-header.ts and index-stream.ts, image/blob-source.ts)
 * and the writer (export/tar-writer.ts) alike, and the one table between tar's entry types
 * and a changeset's.
 */

/**
 * A header as tar-stream's Extract hands it on, and as its headers.js decode gives it (type
 * names, pax, byteOffset): tar-stream's published types lag behind (pax, devmajor, options).
 * plain-header.ts gives the same object for the plain case.
 */
export interface TarHeader {
  name: string;
  /** tar-stream's name of the typeflag (TYPEFLAG_NAMES, or `pax-header`, `gnu-long-path`, ...), null for one it does not know. */
  type: string | null;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkname: string | null;
  uname?: string;
  gname?: string;
  devmajor: number;
  devminor: number;
  byteOffset: number;
  pax: Record<string, string> | null;
}

/** What the writer gives tar-stream's pack for one entry (no size: pack measures the data). */
export interface TarHeaderToWrite {
  name: string;
  type: TarTypeName;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

/** tar-stream's names of typeflags '0' to '7' (headers.js toType), by typeflag. */
export const TYPEFLAG_NAMES = ['file', 'link', 'symlink', 'character-device', 'block-device', 'directory', 'fifo', 'contiguous-file'] as const;
export type TarTypeName = (typeof TYPEFLAG_NAMES)[number];

/** A changeset entry's type as tar-stream names its typeflag (POSIX ustar typeflags 0 to 6). */
const TAR_TYPE: Record<TarEntry['type'], TarTypeName> = {
  file: 'file', hardlink: 'link', symlink: 'symlink', char: 'character-device',
  block: 'block-device', directory: 'directory', fifo: 'fifo',
};

/** The changeset type of each tar type a layer can hold: a contiguous file (typeflag 7) is a file. */
const ENTRY_TYPE: ReadonlyMap<string, EntryType | 'hardlink'> = new Map<string, EntryType | 'hardlink'>([
  ...(Object.entries(TAR_TYPE) as Array<[TarEntry['type'], TarTypeName]>).map(([entry, tar]): [string, TarEntry['type']] => [tar, entry]),
  ['contiguous-file', 'file'],
]);

/** The tar-stream type name `type` is written as. */
export function tarTypeOf(type: TarEntry['type']): TarTypeName {
  return TAR_TYPE[type];
}

/** The changeset type of a tar-stream type name, or undefined for one a layer cannot hold (PAX, GNU long names, unknown). */
export function entryTypeOf(tarType: string | null | undefined): EntryType | 'hardlink' | undefined {
  return tarType ? ENTRY_TYPE.get(tarType) : undefined;
}

/** A regular file's header (typeflag 0 or 7): the only kind with content. */
export function isFileHeader(h: { type?: string | null }): boolean {
  return entryTypeOf(h.type) === 'file';
}
