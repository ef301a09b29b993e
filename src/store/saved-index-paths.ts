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

/**
 * A directory that is a content store (an OCI layout with the store's private `.layerfs/`), not
 * only a layout, and one whose saved indexes may be trusted: `.layerfs/`, its `ingest/`, and its
 * `index/` and `tars/` when there, are this process's own and writable by no one else. A saved
 * index is no secret (docs/store.md, "What is not detected"), so a layout that another user
 * could give a `.layerfs/` or an index in it is opened as a plain layout: every blob hashed
 * again, no index read.
 */
export function isContentStore(dir: string): boolean {
  try {
    const own = (sub: string) => ownPrivate(fs.lstatSync(join(dir, PRIVATE_DIR, sub)));
    // index/ and tars/, where the indexes and the inflated tars they name are, when there are any.
    const ownOrAbsent = (sub: string) => {
      const st = fs.lstatSync(join(dir, PRIVATE_DIR, sub), { throwIfNoEntry: false });
      return st === undefined || ownPrivate(st);
    };
    return own('') && own('ingest') && ownOrAbsent('index') && ownOrAbsent('tars') && fs.lstatSync(join(dir, 'oci-layout')).isFile();
  } catch {
    return false;
  }
}

/** A real directory owned by this process's user, with no write bit for group or others. */
function ownPrivate(st: fs.Stats): boolean {
  return st.isDirectory() && st.uid === (process.geteuid?.() ?? st.uid) && (st.mode & 0o022) === 0;
}

/** Removes the saved index and kept tar of `digest` (gc, with its blob). */
export function removeSavedIndex(store: { dir: string }, digest: string): void {
  fs.rmSync(indexPath(store, digest), { force: true });
  fs.rmSync(keptTarPath(store, digest), { force: true });
}
