import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { BigIntStats } from 'node:fs';
import type { ContentFile } from '../layer/content-file.js';
import { EntryIndex } from '../layer/tar/entry-index.js';
import type { KeepTar } from '../layer/tar/kept-tar.js';
import type { TarLayerInfo } from '../layer/tar/layer-info.js';
import { openLayerFile } from '../layer/tar/layer-file.js';
import type { TarLayerOptions } from '../layer/tar/layer-options.js';
import { TarLayer } from '../layer/tar/tar-layer.js';
import type { TarHeader } from '../tar/tar-header.js';
import { parseDigest } from './digest.js';
import { StoreError } from './errors.js';
import { decodeIndex, encodeIndex, type FileIdentity, type SavedIndex } from './layer-index-file.js';
import { fileName, indexPath, keptTarPath } from './saved-index-paths.js';
import { PRIVATE_DIR, writeTemp } from './layout-dir.js';
import { StoreLock } from './store-lock.js';

/**
 * Verify once (issue 18; docs/store.md): a layer blob of a content store is hashed and indexed
 * on its first open, and its entry index saved in `.layerfs/index/<alg>-<hex>.idx` (the
 * binary format of layer-index-file.ts). A compressed layer's inflated tar is kept too, in
 * `.layerfs/tars/<alg>-<hex>.tar`, written by the first open's one pass (kept-tar.ts): its
 * content is then read from there by position, as an uncompressed tar's is from its blob.
 * A later open replays the saved headers, reading no byte of the blob or the tar, if and only
 * if the index's checksum holds, it names this digest, and the blob's (and the kept tar's)
 * fstat is still the one they were verified under: any write to a file moves its ctime,
 * which no unprivileged call can set back, so a changed file is opened in full again (and
 * refused by its digest). Content read later is checked against the file's stamp on every
 * read and re-verified against its digest (the blob's, or the diff_id for the kept tar) if
 * the stamp moved (content-file.ts): changed bytes are an ERR_LAYER_CHANGED, never returned.
 */

export interface StoredLayerOpen {
  layer: TarLayer;
  /** Whether the saved index was used (no hashing, no header walk, no inflating). */
  fromIndex: boolean;
}

export const identityOf = (st: BigIntStats | undefined): FileIdentity => {
  if (!st) throw new Error('a layer file without a stamp');
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
};
const sameIdentity = (a: FileIdentity, b: FileIdentity) => a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

/**
 * Opens the layer blob `digest` of the store in `store.dir` with TarLayer's options: from its
 * saved index when that is still about these very files, else by a full open (the blob
 * hashed, inflated, indexed), after which the index (and a compressed layer's inflated tar)
 * is saved for next time. A blob that does not hash to `digest` is ERR_STORE_DIGEST_MISMATCH
 * (nothing saved for it); the caller checks the rest (size, diff_id) as for any layer.
 */
export async function openStoredLayer(store: { dir: string }, digest: string, options: TarLayerOptions = {}): Promise<StoredLayerOpen> {
  const blob = join(store.dir, 'blobs', ...parseDigest(digest, store.dir).digest.split(':'));
  const saving = options.content !== 'memory' && privateDirsReal(store.dir);
  if (saving) {
    const reopened = fromSavedIndex(store, digest, blob, options);
    if (reopened) return { layer: reopened, fromIndex: true };
  }
  return { layer: await openAndSave(store, digest, blob, options, saving), fromIndex: false };
}

/** Whether `path` is a directory itself, not a symlink to one (lstat). */
const realDir = (path: string) => fs.lstatSync(path, { throwIfNoEntry: false })?.isDirectory() === true;

/**
 * Whether the private directories verify once reads and writes in are the store's own:
 * `.layerfs/` and its `ingest/` directories, and `tars/` and `index/` directories or absent,
 * none of them a symlink. Through a symlinked one the kept tar and the index would be written
 * (and read) in whatever directory it names, outside the store: such a store's layers are
 * opened in full, with nothing saved or read from there.
 */
export function privateDirsReal(dir: string): boolean {
  const at = (...sub: string[]) => join(dir, PRIVATE_DIR, ...sub);
  if (!realDir(at()) || !realDir(at('ingest'))) return false;
  return ['tars', 'index'].every((sub) => fs.lstatSync(at(sub), { throwIfNoEntry: false })?.isDirectory() ?? true);
}

/** The layer from its saved index, or undefined (no valid index for these files: opened in full). */
function fromSavedIndex(store: { dir: string }, digest: string, blob: string, options: TarLayerOptions): TarLayer | undefined {
  const saved = readSaved(indexPath(store, digest), digest);
  if (!saved || saved.size > (options.maxBytes ?? 4 * 2 ** 30)) return undefined;
  const files: ContentFile[] = [];
  try {
    const source = openLayerFile(blob, digest);
    files.push(source);
    if (!sameIdentity(identityOf(source.heldStamp), saved.blob)) return close(files);
    let tar = source;
    if (saved.compression !== 'none') {
      if (!saved.tar) return close(files);
      tar = openLayerFile(keptTarPath(store, digest), digest);
      files.push(tar);
      if (!sameIdentity(identityOf(tar.heldStamp), saved.tar)) return close(files);
    }
    const walk = new EntryIndex(digest, options.maxEntries ?? 1_000_000);
    for (const h of saved.headers) walk.next(h).addOnDisk(h, tar);
    source.verified(digest);
    tar.verified(saved.diffId);
    const info: TarLayerInfo = {
      compression: saved.compression, digest, diffId: saved.diffId, compressedSize: Number(saved.blob.size), size: saved.size,
      entryCount: walk.count, contentOnDisk: true, spilledBytes: 0,
    };
    return TarLayer.assemble(digest, { built: walk.builder.build(), info }, files, source, options.content);
  } catch {
    // Missing files, an entry the builder refuses, too many entries: the full open says why.
    return close(files);
  }
}

function close(files: ContentFile[]): undefined {
  for (const f of files) f.close();
  return undefined;
}

function readSaved(path: string, digest: string): SavedIndex | undefined {
  let bytes: Buffer;
  try {
    const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      if (!fs.fstatSync(fd).isFile()) return undefined;
      bytes = fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  // A torn, edited or foreign index, or one of another format version, is not used.
  return decodeIndex(bytes, digest);
}

/**
 * The full open: the compressed layer's inflated tar is written to a temporary in
 * `.layerfs/ingest/` (named like an ingest of the blob, so gc keeps the blob while its writer
 * lives and removes the temporary after a kill) and renamed into `.layerfs/tars/`; then the
 * index. Each is replaced by rename(2) of a complete file, so two processes opening one layer
 * at once each leave a whole file: if the tar of one and the index of the other survive, the
 * index names the other tar's inode, and the next open is a full one that saves them again.
 * A store that cannot be written (read-only, full) is opened all the same, without saving.
 */
async function openAndSave(store: { dir: string }, digest: string, blob: string, options: TarLayerOptions, saving: boolean): Promise<TarLayer> {
  let keep: KeepTar | undefined;
  if (saving) {
    keep = keepFor(store, digest);
    try {
      fs.mkdirSync(join(store.dir, PRIVATE_DIR, 'tars'), { recursive: true, mode: 0o755 });
      if (!realDir(join(store.dir, PRIVATE_DIR, 'tars'))) keep = undefined;
    } catch {
      keep = undefined;
    }
  }
  let indexed: { headers: TarHeader[]; blob: FileIdentity; tar: FileIdentity | undefined } | undefined;
  const onIndexed = !saving ? () => {} : (headers: TarHeader[], files: { source: ContentFile | undefined; tar: ContentFile | undefined }) => {
    const source = identityOf(files.source?.heldStamp);
    indexed = { headers, blob: source, tar: files.tar === files.source ? undefined : identityOf(files.tar?.heldStamp) };
  };
  let layer: TarLayer;
  try {
    layer = await TarLayer.keepingTar(blob, { ...options, name: digest }, keep, onIndexed);
  } catch (e) {
    const code = (e as { cause?: NodeJS.ErrnoException }).cause?.code ?? (e as NodeJS.ErrnoException).code;
    // The inflated tar could not be made or written here: opened as any layout's layer.
    if (keep && (code === 'EACCES' || code === 'EROFS' || code === 'ENOSPC' || code === 'EDQUOT' || code === 'EPERM')) return TarLayer.from(blob, { ...options, name: digest });
    throw e;
  }
  if (layer.info.digest !== digest) {
    // Not the blob named: nothing of it is kept.
    if (keep && layer.info.compression !== 'none') fs.rmSync(keep.final, { force: true });
    layer.close();
    throw new StoreError('ERR_STORE_DIGEST_MISMATCH', store.dir, `the stored blob hashes to ${layer.info.digest}`, digest);
  }
  if (indexed) await save(store, digest, layer.info, indexed);
  return layer;
}

/**
 * Where an open (or an ingest) of `digest` writes the inflated tar it keeps: a temporary in
 * `.layerfs/ingest/`, named like an ingest of the blob so gc keeps the blob while its writer
 * lives and removes the temporary after a kill, renamed into `.layerfs/tars/` once whole.
 */
export const keepFor = (store: { dir: string }, digest: string): KeepTar => ({
  temp: join(store.dir, PRIVATE_DIR, 'ingest', `${fileName(digest, store.dir)}.${process.pid}.${randomBytes(8).toString('hex')}`),
  final: keptTarPath(store, digest),
});

/** Whether the kept tar under its name is still the file `mine` (another open's may have been renamed over it). Throws when there is none. */
export function keptTarIs(store: { dir: string }, digest: string, mine: FileIdentity): boolean {
  const now = fs.lstatSync(keptTarPath(store, digest), { bigint: true });
  return now.dev === mine.dev && now.ino === mine.ino;
}

/**
 * Saves the index, under the store's lock, and only if the kept tar under its name is still
 * the one this open wrote: of two opens racing, each renames its tar and then saves, so the
 * last tar renamed is the one whose open saves last with the check passing, and an index
 * never names a tar that is not under its name (store-lock.ts; docs/store.md). `indexed`
 * holds the identities (fstat) of the blob and the kept tar as the pass verified them.
 */
export async function save(store: { dir: string }, digest: string, info: Pick<TarLayerInfo, 'diffId' | 'compression' | 'size'>, indexed: { headers: TarHeader[]; blob: FileIdentity; tar: FileIdentity | undefined }): Promise<void> {
  const saved: SavedIndex = {
    digest, diffId: info.diffId, compression: info.compression, size: info.size,
    blob: indexed.blob, tar: indexed.tar, headers: indexed.headers,
  };
  const body = encodeIndex(saved);
  try {
    fs.mkdirSync(join(store.dir, PRIVATE_DIR, 'index'), { recursive: true, mode: 0o755 });
    if (!realDir(join(store.dir, PRIVATE_DIR, 'index'))) return;
    await new StoreLock(join(store.dir, PRIVATE_DIR, 'lock'), store.dir).run(async () => {
      if (saved.tar && !keptTarIs(store, digest, saved.tar)) return; // another open's tar: its index follows
      // Not fsync'd: a cache, whose checksum (and the files' identities) find one torn by a crash.
      writeTemp(store.dir, body, (temp) => fs.renameSync(temp, indexPath(store, digest)), false);
    });
  } catch {
    // A store that cannot be written: the layer is open, and the next open is a full one again.
  }
}

