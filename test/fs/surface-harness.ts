import * as fs from 'node:fs';
import { join } from 'node:path';
import { MemoryLayer, Overlay } from '../../src/index.js';
import { scratch } from '../support/scratch.js';

/**
 * The same call on Node's fs over a real directory and on an overlay with the same tree:
 * `at` maps an absolute path of the tree to where it lives on each side; `outcome` takes the
 * value or the error's shape, with the real directory's prefix removed so the two compare.
 */
export type Side = { fs: typeof fs | Overlay; at: (p: string) => string; root: string; ov?: Overlay };

/** The tree both sides start from (JSON as MemoryLayer.fromJSON takes it; the real side is written from it). */
export type Tree = Record<string, string | null | { type: 'symlink'; linkTarget: string } | { type: 'file'; content: string; mode: number }>;

const dirs = scratch('lfs-surface-');

export function sides(tree: Tree): { real: Side; ov: Side } {
  const root = dirs.fresh('t');
  for (const [p, v] of Object.entries(tree).sort(([a], [b]) => a.localeCompare(b))) {
    const full = join(root, p);
    fs.mkdirSync(join(full, '..'), { recursive: true });
    if (v === null) fs.mkdirSync(full, { recursive: true });
    else if (typeof v === 'string') fs.writeFileSync(full, v);
    else if (v.type === 'symlink') fs.symlinkSync(v.linkTarget, full);
    else {
      fs.writeFileSync(full, v.content);
      fs.chmodSync(full, v.mode);
    }
  }
  const ov = new Overlay({ lower: [MemoryLayer.fromJSON(tree as never)] });
  return { real: { fs, at: (p) => root + p, root }, ov: { fs: ov, at: (p) => p, root: '', ov } };
}

/** A value, or an error's class, code, errno, syscall, path and message, with `root` taken out. */
export function shape(e: unknown, root: string): unknown {
  const strip = (v: unknown): unknown => {
    if (typeof v === 'string') return root ? v.split(root).join('') : v;
    if (v && typeof v === 'object' && !Buffer.isBuffer(v) && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strip(x)]));
    if (Array.isArray(v)) return v.map(strip);
    return v;
  };
  const err = e as NodeJS.ErrnoException & { info?: unknown; dest?: string };
  return strip({ isError: e instanceof Error, name: err.name, code: err.code, errno: err.errno, syscall: err.syscall, path: err.path, dest: err.dest, message: err.message, info: err.info });
}

export function outcome(fn: () => unknown, root: string): unknown {
  try {
    const v = fn();
    return { value: v === undefined ? 'undefined' : v };
  } catch (e) {
    return shape(e, root);
  }
}

export async function outcomeAsync(fn: () => Promise<unknown>, root: string): Promise<unknown> {
  try {
    const v = await fn();
    return { value: v === undefined ? 'undefined' : v };
  } catch (e) {
    return shape(e, root);
  }
}

/** A tree as names → type, mode, content or target (what a copy must reproduce), read with `f` below `dir`. */
export function snapshot(f: typeof fs | Overlay, dir: string, root: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (d: string, rel: string) => {
    for (const name of (f.readdirSync(d) as string[]).sort()) {
      const p = `${d}/${name}`;
      const st = f.lstatSync(p);
      const key = `${rel}/${name}`;
      if (st.isSymbolicLink()) out[key] = { link: (f.readlinkSync(p) as string).split(root).join('') };
      else if (st.isDirectory()) {
        out[key] = { dir: (st.mode & 0o7777).toString(8) };
        walk(p, key);
      } else out[key] = { file: (st.mode & 0o7777).toString(8), content: String(f.readFileSync(p)) };
    }
  };
  walk(dir, '');
  return out;
}
