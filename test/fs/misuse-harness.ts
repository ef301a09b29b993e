import { createHash } from 'node:crypto';
import * as nodefs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Overlay, OverlayFsError, type Layer } from '../../src/index.js';
import { canonicalTime } from '../support/tree.js';
import { KernelOverlay, type UpperDumpEntry } from '../kernel/kernel-overlay.js';
import { kernelUpper, layerfsUpper, type UpperEntry } from '../kernel/differential.js';

/**
 * The same call made on Node's fs over a kernel overlay mount and on layerfs over the same
 * layers. Misuse is the point: the calls pass wrong types, bad numbers, odd paths, so the
 * API under test is typed loosely on purpose.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFs = any;

/** How a call names things. Paths are relative (the kernel side runs with the mount as cwd), so both sides see the same string. */
export interface Where {
  /** An absolute path: the mount's path plus `p` on the kernel side, `p` on layerfs. */
  abs(p: string): string;
  /** A file: URL of an absolute path. */
  url(p: string): URL;
}

export type Call = [name: string, run: (f: AnyFs, w: Where) => unknown];

export interface Outcome {
  [key: string]: unknown;
}

/** What a call gave: its value in comparable form, or its error's class, code, errno, syscall, path and message. */
export async function capture(run: () => unknown, strip: (s: string) => string): Promise<Outcome> {
  let pending: unknown;
  try {
    pending = run();
  } catch (e) {
    return errorOutcome(e, 'throws', strip);
  }
  try {
    return { value: normalise(await pending, strip) };
  } catch (e) {
    return errorOutcome(e, 'rejects', strip);
  }
}

/** The error's class as Node's are told apart: SystemError, TypeError, RangeError or Error (a subclass of Error is an Error). */
function classOf(e: Error): string {
  if (e.constructor.name === 'SystemError') return 'SystemError';
  if (e instanceof TypeError) return 'TypeError';
  if (e instanceof RangeError) return 'RangeError';
  return 'Error';
}

function errorOutcome(e: unknown, how: string, strip: (s: string) => string): Outcome {
  if (!(e instanceof Error)) return { [how]: 'a non-Error', value: String(e) };
  const err = e as Error & { code?: unknown; errno?: unknown; syscall?: unknown; path?: unknown; dest?: unknown };
  // layerfs may add a hint in parentheses to an errno's message; Node's part must be the same.
  const message = err instanceof OverlayFsError ? err.message.replace(/ \(.*\)$/, '') : err.message;
  const out: Outcome = { [how]: classOf(err), name: err.name, message: strip(message) };
  for (const k of ['code', 'errno', 'syscall', 'path', 'dest'] as const) {
    const v = err[k];
    if (v !== undefined) out[k] = typeof v === 'string' ? strip(v) : Buffer.isBuffer(v) ? { buffer: strip(v.toString('latin1')) } : v;
  }
  return out;
}

/** Values in a form both sides can be compared in: stats by their fields, Buffers as hex, Dirents by name and type. */
export function normalise(v: unknown, strip: (s: string) => string): unknown {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return strip(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (Buffer.isBuffer(v)) return { buffer: v.toString('hex') };
  if (Array.isArray(v)) return v.map((x) => normalise(x, strip));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown> & { isDirectory?: () => boolean };
    if ('mtimeMs' in o && 'nlink' in o) {
      const big = typeof o.mode === 'bigint';
      const n = (x: unknown) => Number(x);
      return { stats: big ? 'bigint' : 'number', mode: n(o.mode).toString(8), owner: `${n(o.uid)}:${n(o.gid)}`, nlink: n(o.nlink), mtime: timeOf(n(o.mtimeMs)), ...(o.isDirectory!() ? {} : { size: n(o.size) }) };
    }
    if ('name' in o && 'parentPath' in o && typeof o.isDirectory === 'function') {
      const d = o as unknown as nodefs.Dirent;
      const kind = d.isFile() ? 'file' : d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'symlink' : 'other';
      return { dirent: normalise(d.name, strip), parentPath: normalise(d.parentPath, strip), kind };
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, normalise(x, strip)]));
  }
  return v;
}

/** A time as tree.ts compares it; a time that is not a number is shown as it is (a corrupt inode). */
const timeOf = (ms: number) => (Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? canonicalTime(ms) : String(ms));

export interface TreeItem {
  type: string;
  mode: string;
  owner: string;
  nlink: number;
  mtime: string;
  size?: number;
  content?: string;
  target?: string;
}

/**
 * The merged tree, walked with Buffer paths so that names which are not UTF-8 are kept
 * exactly; keys are the names' bytes as latin1 text.
 */
export function tree(f: AnyFs, root: string): Record<string, TreeItem> {
  const out: Record<string, TreeItem> = {};
  const visit = (rel: Buffer): void => {
    const full = Buffer.concat([Buffer.from(root), rel]);
    let st: nodefs.Stats;
    try {
      st = f.lstatSync(full.length ? full : Buffer.from('/'));
    } catch (e) {
      // The kernel lists a lower layer's whiteouts in a directory that is not merged (docs/semantics.md).
      if ((e as { code?: string }).code === 'ENOENT') return;
      throw e;
    }
    const type = st.isDirectory() ? 'directory' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
    const item: TreeItem = { type, mode: (st.mode & 0o7777).toString(8), owner: `${st.uid}:${st.gid}`, nlink: st.nlink, mtime: timeOf(st.mtimeMs) };
    if (type === 'file') {
      item.size = st.size;
      const content = f.readFileSync(full) as Buffer;
      item.content = content.length <= 64 ? content.toString('latin1') : createHash('sha256').update(content).digest('hex');
    }
    if (type === 'symlink') item.target = (f.readlinkSync(full, { encoding: 'buffer' }) as Buffer).toString('latin1');
    out[rel.length ? rel.toString('latin1') : '/'] = item;
    if (type !== 'directory') return;
    const names = (f.readdirSync(full.length ? full : Buffer.from('/'), { encoding: 'buffer' }) as Buffer[]).sort(Buffer.compare);
    for (const name of names) visit(Buffer.concat([rel, Buffer.from('/'), name]));
  };
  visit(Buffer.alloc(0));
  return out;
}

export interface Side {
  outcome: Outcome;
  tree: Record<string, TreeItem>;
  upper: Record<string, UpperEntry>;
}

/** The layerfs upper layer; a corrupt inode (a time that is not a date, a size that is a BigInt) is reported, not thrown. */
function upperOf(ov: Overlay): Record<string, UpperEntry> {
  return safely(() => Object.fromEntries(layerfsUpper(ov)));
}

function safely<T>(read: () => Record<string, T>): Record<string, T> {
  try {
    return read();
  } catch (e) {
    return { '(unreadable)': String(e) as T };
  }
}

/** Closes every descriptor of this process that a call left open inside the mount, so it can be unmounted. */
function closeLeftovers(mountpoint: string): void {
  for (const fd of nodefs.readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = nodefs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target === mountpoint || target.startsWith(mountpoint + '/')) nodefs.closeSync(Number(fd));
  }
}

/**
 * Runs every call on a fresh kernel overlay (a new upperdir over the same lower layers) and
 * on a fresh layerfs Overlay, and collects what each side gave and left.
 */
export async function runAll(layers: readonly Layer[], calls: readonly Call[]): Promise<Array<{ kernel: Side; layerfs: Side }>> {
  const umask = process.umask();
  const probe = new Overlay({ lower: layers, umask });
  const root = probe.lstatSync('/');
  const k = new KernelOverlay(layers, { upperRoot: { mode: root.mode, uid: root.uid, gid: root.gid, atimeMs: root.atimeMs, mtimeMs: root.mtimeMs } });
  const cwd = process.cwd();
  const mount = k.mountpoint;
  const stripKernel = (s: string) => s.split(`${mount}/`).join('/').split(mount).join('/');
  const kernelWhere: Where = { abs: (p) => mount + p, url: (p) => pathToFileURL(mount + p) };
  const layerfsWhere: Where = { abs: (p) => p, url: (p) => pathToFileURL(p) };
  const results: Array<{ kernel: Omit<Side, 'upper'> & { upperDir?: string }; layerfs: Side }> = [];
  let untouched = nodefs.statSync(k.upperdir).ctimeMs;
  try {
    for (const [, run] of calls) {
      process.chdir(mount);
      let outcome: Outcome;
      try {
        outcome = await capture(() => run(nodefs, kernelWhere), stripKernel);
      } finally {
        process.chdir(cwd);
      }
      closeLeftovers(mount);
      const kTree = tree(nodefs, mount);
      // A call that left the upperdir as it was (most misuse fails before any change) needs no fresh mount.
      const changed = nodefs.readdirSync(k.upperdir).length > 0 || nodefs.statSync(k.upperdir).ctimeMs !== untouched;
      const kernel = { outcome, tree: kTree, ...(changed ? { upperDir: k.remount() } : {}) };
      if (changed) untouched = nodefs.statSync(k.upperdir).ctimeMs;

      const ov = new Overlay({ lower: layers, umask });
      const lOutcome = await capture(() => run(ov, layerfsWhere), (s) => s);
      results.push({ kernel, layerfs: { outcome: lOutcome, tree: safely(() => tree(ov, '')), upper: upperOf(ov) } });
    }
    const kept = results.flatMap((r) => (r.kernel.upperDir ? [r.kernel.upperDir] : []));
    const dumps = new Map<string, UpperDumpEntry[]>();
    const all = KernelOverlay.dumpDirs([k.upperdir, ...kept]);
    kept.forEach((d, i) => dumps.set(d, all[i + 1]!));
    const fresh = Object.fromEntries(kernelUpper(all[0]!));
    return results.map(({ kernel, layerfs }) => ({
      kernel: { outcome: kernel.outcome, tree: kernel.tree, upper: kernel.upperDir ? Object.fromEntries(kernelUpper(dumps.get(kernel.upperDir)!)) : fresh },
      layerfs,
    }));
  } finally {
    process.chdir(cwd);
    k.dispose();
  }
}
