import { createHash } from 'node:crypto';
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
      entry.sha256 = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
    } else if (type === 'symlink') {
      entry.target = fs.readlinkSync(full);
    }
    out.set(rel === '' ? '/' : rel, entry);
    if (type === 'directory') {
      for (const name of [...fs.readdirSync(full === '' ? '/' : full)].sort()) visit(`${rel}/${name}`);
    }
  };
  visit('');
  return out;
}

/** What every extracting tool agrees on: type, mode, owner, size, content hash, link target (root left out). */
export function essentials(tree: Map<string, TreeEntry>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [p, e] of tree) if (p !== '/') out[p] = { type: e.type, mode: e.mode, owner: e.owner, size: e.size, sha256: e.sha256, target: e.target };
  return out;
}
