import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { ioError, StoreError } from './errors.js';
import { emptyIndex } from './index-file.js';

// The files and directories of a directory store (image-layout.md, and the store's private
// `.layerfs/`): made or checked when the store opens, small files read without following a
// link, and files written whole before they are given their name.

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/** image-layout.md's names, and the store's own private directory beside them. */
const LAYOUT_NAMES = new Set(['oci-layout', 'index.json', 'blobs']);
export const PRIVATE_DIR = '.layerfs';
const OCI_LAYOUT = JSON.stringify({ imageLayoutVersion: '1.0.0' });
/** The largest index.json, oci-layout or blob read() reads whole by default. */
export const READ_MAX = 16 * 2 ** 20;

/**
 * Makes `root` a layout when it is missing or empty (with `create`), or checks that it is
 * one: `oci-layout` of version 1.0.0, `index.json`, `blobs/` a directory, never a symlink.
 * A directory holding only some layout names is being made by another process this moment:
 * the missing ones are added, never replacing (link(2)), so the first writer's file wins.
 */
export function prepareLayout(root: string, create: boolean): void {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new StoreError('ERR_STORE_NOT_A_LAYOUT', root, 'not a directory');
    if (code !== 'ENOENT' || !create) throw code === 'ENOENT' ? new StoreError('ERR_STORE_NOT_A_LAYOUT', root, 'no such directory') : ioError(e, root, 'listing the store');
    try {
      fs.mkdirSync(root, { recursive: true, mode: 0o755 });
    } catch (e2) {
      throw ioError(e2, root, 'making the store directory');
    }
    names = [];
  }
  const complete = names.includes('oci-layout') && names.includes('index.json') && names.includes('blobs');
  if (!complete) {
    const stray = names.find((n) => !LAYOUT_NAMES.has(n) && n !== PRIVATE_DIR);
    if (stray !== undefined) throw new StoreError('ERR_STORE_NOT_A_LAYOUT', root, `not an OCI image layout (no oci-layout, index.json and blobs/) and not empty: it holds ${JSON.stringify(stray)}`);
    if (!create) throw new StoreError('ERR_STORE_NOT_A_LAYOUT', root, 'not an OCI image layout: oci-layout, index.json or blobs/ is missing');
  }
  for (const sub of [['blobs'], ['blobs', 'sha256'], [PRIVATE_DIR], [PRIVATE_DIR, 'ingest'], [PRIVATE_DIR, 'leases']]) {
    const p = join(root, ...sub);
    let st = lstatOrUndefined(p, root);
    if (!st) {
      try {
        fs.mkdirSync(p, { mode: 0o755 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(e, p, 'making a directory of the store');
      }
      st = lstatOrUndefined(p, root);
    }
    // A symlink is refused, not followed: blobs written through it would land elsewhere.
    if (!st?.isDirectory()) throw new StoreError('ERR_STORE_NOT_A_LAYOUT', root, `${sub.join('/')} is ${st?.isSymbolicLink() ? 'a symlink' : st ? 'not a directory' : 'missing'}`);
  }
  if (!complete) {
    placeNew(root, 'oci-layout', OCI_LAYOUT);
    placeNew(root, 'index.json', JSON.stringify(emptyIndex()));
  }
  let layout: { imageLayoutVersion?: unknown } | null;
  try {
    layout = JSON.parse(readSmallFile(root, 'oci-layout').toString('utf8'));
  } catch (e) {
    if (e instanceof StoreError) throw e;
    throw new StoreError('ERR_STORE_NOT_A_LAYOUT', root, 'oci-layout is not JSON');
  }
  if (layout?.imageLayoutVersion !== '1.0.0') throw new StoreError('ERR_STORE_NOT_A_LAYOUT', root, `oci-layout's imageLayoutVersion is ${JSON.stringify(layout?.imageLayoutVersion)}, not 1.0.0`);
}

/** A small file of the top directory, never through a symlink or from a FIFO, at most READ_MAX bytes. */
export function readSmallFile(root: string, name: string): Buffer {
  const p = join(root, name);
  let fd: number;
  try {
    fd = fs.openSync(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') throw new StoreError('ERR_STORE_NOT_A_LAYOUT', root, `${name} is ${code === 'ELOOP' ? 'a symlink' : 'missing'}`);
    throw ioError(e, p, 'opening it');
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new StoreError('ERR_STORE_NOT_A_LAYOUT', root, `${name} is not a regular file`);
    if (st.size > READ_MAX) throw new StoreError('ERR_STORE_NOT_A_LAYOUT', root, `${name} has ${st.size} bytes, more than the ${READ_MAX} read`);
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A temporary of `.layerfs/`: `tmp.<pid>.<random>`, so a killed writer's is found. */
export const TMP_NAME = /^tmp\.(\d+)\.[0-9a-f]{16}$/;

/**
 * A file written whole and fsync'd under a temporary name in `.layerfs/`, then given to `commit`
 * (which names it); the temporary is gone after. `durable: false` skips the fsync, for a file
 * that need not outlive a crash (a lease: its owner is dead then; a saved layer index: a cache
 * whose checksum finds a torn one): the rename still shows it whole or not at all while the
 * system runs.
 */
export function writeTemp(root: string, data: string | Buffer, commit: (temp: string) => void, durable = true): void {
  const temp = join(root, PRIVATE_DIR, `tmp.${process.pid}.${randomBytes(8).toString('hex')}`);
  try {
    const fd = fs.openSync(temp, 'wx', 0o644);
    try {
      fs.writeFileSync(fd, data);
      if (durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    commit(temp);
  } catch (e) {
    throw ioError(e, temp, 'writing a file of the store');
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** A top-level file made only if missing (link(2) never replaces): another process's first write wins. */
function placeNew(root: string, name: string, data: string): void {
  writeTemp(root, data, (temp) => {
    try {
      fs.linkSync(temp, join(root, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  });
  fsyncDir(root);
}

export function lstatOrUndefined(p: string, where: string, digest?: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p, { throwIfNoEntry: false });
  } catch (e) {
    throw ioError(e, where, `looking up ${p}`, digest);
  }
}

export function listNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError(e, dir, 'listing it');
  }
}

/** fsync(2) of a directory: a file's own fsync does not flush the entry that names it. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, O_RDONLY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
