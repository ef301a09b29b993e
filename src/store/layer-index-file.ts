import { createHash } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import type { Compression } from '../tar/decompress.js';
import { RAW_XATTRS } from '../tar/pax-xattrs.js';
import type { TarHeader } from '../tar/tar-header.js';

/**
 * The file a layer's saved entry index is kept in (layer-index.ts), binary:
 *
 *     "layerfs layer index\n"   20 bytes, the magic
 *     version                   u32, big-endian (FORMAT_VERSION)
 *     sha256 of the body        32 bytes
 *     body                      v8.serialize([digest, diffId, compression, size, blob, tar, headers])
 *
 * `blob` and `tar` are file identities (dev, ino, size, mtime and ctime in nanoseconds, as
 * bigints), `tar` null for an uncompressed layer; each header is an array of its fields
 * (TarHeader's, mtime in milliseconds) and its exact xattr values (pax-xattrs.ts's RAW_XATTRS,
 * a Map of Buffers: a symbol key is not serialised). Node's serializer is used because it
 * reads a layer's few thousand headers back several times faster than JSON.parse and keeps
 * Buffers and bigints; a body written by a Node whose serializer this one cannot read fails to
 * deserialize and is treated like a torn index (the layer is opened in full and saved again).
 * The checksum finds a torn or edited file; it is not a secret (see docs/store.md for what
 * that does not guard against).
 */

const MAGIC = Buffer.from('layerfs layer index\n', 'latin1');
const FORMAT_VERSION = 1;
const HEAD = MAGIC.length + 4 + 32;

export interface FileIdentity {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export interface SavedIndex {
  /** The blob the index describes (as stored, compressed or not). */
  digest: string;
  diffId: string;
  compression: Compression;
  /** Bytes of the uncompressed tar. */
  size: number;
  /** The blob file as verified. */
  blob: FileIdentity;
  /** A compressed layer's kept inflated tar as verified (its digest is diffId); undefined for an uncompressed one. */
  tar: FileIdentity | undefined;
  headers: TarHeader[];
}

type Identity = [bigint, bigint, bigint, bigint, bigint];
type Row = [string, string | null, number, number, number, number, number, string | null, string | undefined, string | undefined, number, number, number, Record<string, string> | null, Map<string, Buffer> | null];

const checksum = (body: Buffer) => createHash('sha256').update(body).digest();
const toIdentity = (f: FileIdentity): Identity => [f.dev, f.ino, f.size, f.mtimeNs, f.ctimeNs];
const fromIdentity = (v: unknown): FileIdentity | undefined => {
  if (!Array.isArray(v) || v.length !== 5 || !v.every((x) => typeof x === 'bigint')) return undefined;
  const [dev, ino, size, mtimeNs, ctimeNs] = v as Identity;
  return { dev, ino, size, mtimeNs, ctimeNs };
};

export function encodeIndex(saved: SavedIndex): Buffer {
  const rows = saved.headers.map((h): Row => {
    const raw = h.pax ? (h.pax as Record<symbol, unknown>)[RAW_XATTRS] as Map<string, Buffer> | undefined : undefined;
    return [h.name, h.type, h.mode, h.uid, h.gid, h.size, h.mtime.getTime(), h.linkname, h.uname, h.gname, h.devmajor, h.devminor, h.byteOffset, h.pax ? { ...h.pax } : null, raw ?? null];
  });
  const body = serialize([saved.digest, saved.diffId, saved.compression, saved.size, toIdentity(saved.blob), saved.tar ? toIdentity(saved.tar) : null, rows]);
  const head = Buffer.alloc(HEAD);
  MAGIC.copy(head);
  head.writeUInt32BE(FORMAT_VERSION, MAGIC.length);
  checksum(body).copy(head, MAGIC.length + 4);
  return Buffer.concat([head, body]);
}

/** The index in `bytes` if it is whole, of this format version, and describes `digest`; else undefined. */
export function decodeIndex(bytes: Buffer, digest: string): SavedIndex | undefined {
  if (bytes.length < HEAD || !bytes.subarray(0, MAGIC.length).equals(MAGIC) || bytes.readUInt32BE(MAGIC.length) !== FORMAT_VERSION) return undefined;
  const body = bytes.subarray(HEAD);
  if (!checksum(body).equals(bytes.subarray(MAGIC.length + 4, HEAD))) return undefined;
  let v: unknown;
  try {
    v = deserialize(body);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v) || v.length !== 7) return undefined;
  const [named, diffId, compression, size, blob, tar, rows] = v as unknown[];
  if (named !== digest || typeof diffId !== 'string' || !['none', 'gzip', 'zstd'].includes(compression as string) || !Number.isSafeInteger(size) || !Array.isArray(rows)) return undefined;
  const blobId = fromIdentity(blob);
  const tarId = tar === null ? undefined : fromIdentity(tar);
  if (!blobId || (tar !== null && !tarId) || (compression === 'none') !== (tar === null)) return undefined;
  const headers: TarHeader[] = [];
  for (const r of rows as unknown[]) {
    if (!Array.isArray(r) || r.length !== 15 || typeof r[0] !== 'string' || typeof r[12] !== 'number' || typeof r[6] !== 'number') return undefined;
    const [name, type, mode, uid, gid, hsize, mtime, linkname, uname, gname, devmajor, devminor, byteOffset, pax, raw] = r as Row;
    const header: TarHeader = { name, type, mode, uid, gid, size: hsize, mtime: new Date(mtime), linkname, uname, gname, devmajor, devminor, byteOffset, pax };
    if (raw && pax) (pax as Record<symbol, unknown>)[RAW_XATTRS] = raw;
    headers.push(header);
  }
  return { digest: named, diffId, compression: compression as Compression, size: size as number, blob: blobId, tar: tarId, headers };
}
