import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { ContentFile } from '../layer/content-file.js';
import { IndexedLayer } from '../layer/indexed-layer.js';
import { EntryIndex } from '../layer/tar/entry-index.js';
import { openLayerFile } from '../layer/tar/layer-file.js';
import type { TarLayerInfo } from '../layer/tar/layer-info.js';
import { TarLayer } from '../layer/tar/tar-layer.js';
import { walkHeaders } from '../tar/header-walk.js';
import type { TarHeader } from '../tar/tar-header.js';
import { parseDigest } from './digest.js';
import type { DirectoryStore } from './directory-store.js';
import { ioError, StoreError } from './errors.js';
import { PRIVATE_DIR } from './layout-dir.js';

/**
 * "Verify once" (issue 18), a first cut: the entry index of an uncompressed layer tar stored
 * under its digest (a layer's diff_id names its uncompressed tar) is kept beside the blob, in
 * `.layerfs/index/<alg>-<hex>.json`, and a second open replays it instead of hashing the blob
 * and walking its headers.
 *
 * What is trusted, and why: the index records the tar headers the first open walked, the
 * digest it verified, and the blob file's identity as it was hashed (device, inode, size,
 * mtime and ctime, in nanoseconds). A reopen uses the index only if its own checksum holds,
 * it names this digest, and the file's fstat is still that identity: any write to the file
 * moves its ctime (which no unprivileged call can set back), so a changed blob falls back to
 * a full open (hashed again). Content read later is checked against the file's stamp on every
 * read and re-verified against the digest if it moved (content-file.ts).
 */

const FORMAT = 'layerfs-layer-index/1';

interface FileIdentity {
  dev: string;
  ino: string;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
}

interface SavedIndex {
  format: typeof FORMAT;
  digest: string;
  file: FileIdentity;
  headers: Array<Omit<TarHeader, 'mtime'> & { mtime: number }>;
}

const identityOf = (fd: number): FileIdentity => {
  const st = fs.fstatSync(fd, { bigint: true });
  return { dev: String(st.dev), ino: String(st.ino), size: Number(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
};
function pathIdentity(path: string, where: string, digest: string): FileIdentity {
  const fd = (() => {
    try {
      return fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch (e) {
      throw ioError(e, where, 'opening the layer tar', digest);
    }
  })();
  try {
    return identityOf(fd);
  } finally {
    fs.closeSync(fd);
  }
}
const sameIdentity = (a: FileIdentity, b: FileIdentity) => a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
const checksum = (body: string) => createHash('sha256').update(body).digest('hex');

/** A layer opened from a saved index: a TarLayer's entries and info, the content read from the stored tar by position. */
export class IndexedStoreLayer extends IndexedLayer {
  constructor(name: string, built: ReturnType<EntryIndex['builder']['build']>, readonly info: TarLayerInfo, files: ContentFile[]) {
    super(name, built, files);
  }
}

export interface StoredLayerOpen {
  layer: TarLayer | IndexedStoreLayer;
  /** Whether the saved index was used (no hashing, no header walk). */
  fromIndex: boolean;
}

/** Where the saved index of the blob `digest` is kept (gc removes it with the blob). */
export const indexPath = (store: { dir: string }, digest: string) => {
  const d = parseDigest(digest, store.dir);
  return join(store.dir, PRIVATE_DIR, 'index', `${d.algorithm}-${d.hex}.json`);
};

/**
 * Opens the uncompressed layer tar stored as `digest`: from its saved index when that is
 * still about this very file, else by a full TarLayer open (the blob hashed, which must give
 * `digest`), after which the index is saved for next time.
 */
export async function openStoredLayer(store: DirectoryStore, digest: string, maxEntries = 1_000_000): Promise<StoredLayerOpen> {
  const blob = store.blobPath(digest);
  if (!(await store.has(digest))) throw new StoreError('ERR_STORE_UNKNOWN_BLOB', store.dir, 'no such layer tar in the store', digest);
  const saved = readSaved(indexPath(store, digest), digest);
  if (saved) {
    const file = openLayerFile(blob, digest);
    try {
      if (sameIdentity(identityOf(file.descriptor), saved.file)) {
        const walk = new EntryIndex(digest, maxEntries);
        for (const h of saved.headers) walk.next(h as unknown as TarHeader).addOnDisk({ ...h, mtime: new Date(h.mtime) }, file);
        file.verified(digest);
        const info: TarLayerInfo = { compression: 'none', digest, diffId: digest, compressedSize: file.size, size: file.size, entryCount: walk.count, contentOnDisk: true, spilledBytes: 0 };
        return { layer: new IndexedStoreLayer(digest, walk.builder.build(), info, [file]), fromIndex: true };
      }
    } catch (e) {
      file.close();
      throw e;
    }
    file.close();
  }
  // The file's identity before it is hashed: the index is saved only if it is the same after
  // the header walk, so no write fell between the hash and what the index records.
  const hashed = pathIdentity(blob, store.dir, digest);
  const layer = await TarLayer.from(blob, { name: digest, content: 'disk', maxEntries });
  try {
    if (layer.info.compression !== 'none' || layer.info.digest !== digest) throw new StoreError('ERR_STORE_DIGEST_MISMATCH', store.dir, `the stored tar is ${layer.info.compression === 'none' ? `${layer.info.digest}` : `${layer.info.compression}-compressed`}: not the uncompressed layer named`, digest);
    await saveIndex(store, digest, blob, hashed);
  } catch (e) {
    layer.close();
    throw e;
  }
  return { layer, fromIndex: false };
}

function readSaved(path: string, digest: string): SavedIndex | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const nl = text.indexOf('\n');
  if (nl < 0) return undefined;
  const body = text.slice(nl + 1);
  // A torn or edited index fails its checksum and is ignored (the layer is opened in full).
  if (text.slice(0, nl) !== checksum(body)) return undefined;
  try {
    const v = JSON.parse(body) as SavedIndex;
    return v.format === FORMAT && v.digest === digest && Array.isArray(v.headers) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Walks the verified tar's headers (the blocks only) and saves them with the file's identity, unchanged across the walk. */
async function saveIndex(store: DirectoryStore, digest: string, blob: string, hashed: FileIdentity): Promise<void> {
  const file = openLayerFile(blob, digest);
  try {
    const before = identityOf(file.descriptor);
    if (!sameIdentity(hashed, before)) return;
    const headers: SavedIndex['headers'] = [];
    const plain = await walkHeaders(file.descriptor, file.size, (h) => void headers.push({ ...h, mtime: h.mtime.getTime() }));
    if (!plain) return; // not plainly well formed: opened by the stream pass each time
    if (!sameIdentity(before, identityOf(file.descriptor))) return;
    const body = JSON.stringify({ format: FORMAT, digest, file: before, headers } satisfies SavedIndex);
    const path = indexPath(store, digest);
    try {
      fs.mkdirSync(join(store.dir, PRIVATE_DIR, 'index'), { recursive: true, mode: 0o755 });
      store.replaceFile(path, `${checksum(body)}\n${body}`);
    } catch (e) {
      throw ioError(e, store.dir, 'saving the layer index', digest);
    }
  } finally {
    file.close();
  }
}
