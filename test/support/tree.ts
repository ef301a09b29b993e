import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { typeFromMode } from '../../src/layer/entry.js';

/** The subset of `fs` the tree walker needs; Node's `fs` and an `Overlay` both have it. */
export interface FsLike {
  readdirSync(path: string): string[];
  lstatSync(path: string): { mode: number; uid: number; gid: number; size: number; nlink: number; mtimeMs: number; isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean };
  readlinkSync(path: string): string;
  readFileSync(path: string): Buffer | string;
}

export interface TreeEntry {
  type: string;
  mode: string;
  owner: string;
  nlink: number;
  size?: number;
  sha256?: string;
  target?: string;
  mtime: string;
}

/**
 * Times set by a test are years in the past; times the overlay sets are "now". Comparing the
 * class ("now") or the exact value of old times checks preservation without racing the clock.
 */
export function canonicalTime(ms: number): string {
  return ms > Date.now() - 3600_000 ? 'now' : new Date(Math.trunc(ms)).toISOString();
}

function typeOf(mode: number): string {
  return typeFromMode(mode) ?? 'other';
}

/** One object's entry from its lstat, its content (files) and its target (symlinks). */
function entryOf(st: ReturnType<FsLike['lstatSync']>, content: () => Buffer | string, target: () => string): TreeEntry {
  const type = typeOf(st.mode);
  const entry: TreeEntry = {
    type,
    mode: (st.mode & 0o7777).toString(8),
    owner: `${st.uid}:${st.gid}`,
    nlink: st.nlink,
    mtime: canonicalTime(st.mtimeMs),
  };
  if (type === 'file') {
    entry.size = st.size;
    entry.sha256 = createHash('sha256').update(content()).digest('hex');
  } else if (type === 'symlink') {
    entry.target = target();
  }
  return entry;
}

/**
 * Snapshot of a merged tree through an fs-like API. `root` is the prefix on the real mount
 * ('' for layerfs). Names that do not lstat are left out: the kernel lists a lower layer's
 * whiteouts in a directory that is not merged (kernel wart, shared/reference note 12).
 */
export function snapshot(fs: FsLike, root: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const visit = (rel: string): void => {
    const full = root + rel;
    let st;
    try {
      st = fs.lstatSync(full === '' ? '/' : full);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return;
      throw e;
    }
    const entry = entryOf(st, () => fs.readFileSync(full), () => fs.readlinkSync(full));
    out.set(rel === '' ? '/' : rel, entry);
    if (entry.type === 'directory') {
      for (const name of [...fs.readdirSync(full === '' ? '/' : full)].sort()) visit(`${rel}/${name}`);
    }
  };
  visit('');
  return out;
}

/**
 * `snapshot` of a real directory through node's fs.promises: the same entries, with the
 * process's thread free meanwhile, for a tree served by this process (a FUSE mount whose
 * daemon answers on this thread: a synchronous call on it would wait for itself).
 */
export async function snapshotAsync(root: string): Promise<Map<string, TreeEntry>> {
  const out = new Map<string, TreeEntry>();
  const visit = async (rel: string): Promise<void> => {
    const full = root + rel;
    let st;
    try {
      st = await fsp.lstat(full);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return;
      throw e;
    }
    const [content, target] = [st.isFile() ? await fsp.readFile(full) : Buffer.alloc(0), st.isSymbolicLink() ? await fsp.readlink(full) : ''];
    const entry = entryOf(st, () => content, () => target);
    out.set(rel === '' ? '/' : rel, entry);
    if (entry.type === 'directory') {
      for (const name of (await fsp.readdir(full)).sort()) await visit(`${rel}/${name}`);
    }
  };
  await visit('');
  return out;
}

/** What every extracting tool agrees on: type, mode, owner, size, content hash, link target (root left out). */
export function essentials(tree: Map<string, TreeEntry>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [p, e] of tree) if (p !== '/') out[p] = { type: e.type, mode: e.mode, owner: e.owner, size: e.size, sha256: e.sha256, target: e.target };
  return out;
}
