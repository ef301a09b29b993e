import * as fs from 'node:fs';
import { join } from 'node:path';
import { parseDigest } from './digest.js';
import { PRIVATE_DIR } from './layout-dir.js';

// Where verify once keeps a layer's saved index and inflated tar in a store, apart from
// layer-index.ts: what image/blob-source.ts and the store's gc need of it imports no layer
// code, so a verb that reads only the manifest (inspect) loads none.

/** `alg-hex`, the file name of a digest's saved files. */
export const fileName = (digest: string, dir: string) => {
  const d = parseDigest(digest, dir);
  return `${d.algorithm}-${d.hex}`;
};

/** Where the saved index of the blob `digest` is kept (gc removes it with the blob). */
export const indexPath = (store: { dir: string }, digest: string) => join(store.dir, PRIVATE_DIR, 'index', `${fileName(digest, store.dir)}.idx`);

/** Where a compressed blob's inflated tar is kept (gc removes it with the blob). */
export const keptTarPath = (store: { dir: string }, digest: string) => join(store.dir, PRIVATE_DIR, 'tars', `${fileName(digest, store.dir)}.tar`);

/** A directory that is a content store (an OCI layout with the store's private `.layerfs/`), not only a layout. */
export function isContentStore(dir: string): boolean {
  try {
    return fs.lstatSync(join(dir, PRIVATE_DIR, 'ingest')).isDirectory() && fs.lstatSync(join(dir, 'oci-layout')).isFile();
  } catch {
    return false;
  }
}

/** Removes the saved index and kept tar of `digest` (gc, with its blob). */
export function removeSavedIndex(store: { dir: string }, digest: string): void {
  fs.rmSync(indexPath(store, digest), { force: true });
  fs.rmSync(keptTarPath(store, digest), { force: true });
}
