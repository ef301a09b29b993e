import { major, minor } from '../../src/util/device.js';
import { createHash } from 'node:crypto';
import * as nodefs from 'node:fs';
import { expect } from 'vitest';
import { Overlay, type Layer } from '../../src/index.js';
import { canonicalTime, snapshot, type FsLike, type TreeEntry } from '../support/tree.js';
import { KernelOverlay, type UpperDumpEntry } from './kernel-overlay.js';
import { engineOf } from '../../src/fs/overlay-fs.js';

/** One operation, applied the same way to the kernel mount (through Node's fs) and to layerfs. */
export type Op =
  | ['writeFile', string, string]
  | ['appendFile', string, string]
  | ['open', string, string]
  | ['truncate', string, number]
  | ['unlink', string]
  | ['mkdir', string]
  | ['rmdir', string]
  | ['rmrf', string]
  | ['rename', string, string]
  | ['link', string, string]
  | ['symlink', string, string]
  | ['chmod', string, number]
  | ['chown', string, number, number]
  | ['lchown', string, number, number]
  | ['utimes', string, number, number]
  | ['lutimes', string, number, number]
  | ['readdir', string]
  | ['readlink', string]
  | ['stat', string]
  | ['lstat', string]
  | ['ino', string]
  | ['readFile', string];

function statView(st: { mode: number; uid: number; gid: number; nlink: number; size: number; mtimeMs: number; isDirectory(): boolean }) {
  return {
    mode: st.mode.toString(8),
    owner: `${st.uid}:${st.gid}`,
    nlink: st.nlink,
    mtime: canonicalTime(st.mtimeMs),
    ...(st.isDirectory() ? {} : { size: st.size }),
  };
}

/** Runs one op on layerfs; the outcome is a comparable value or the errno code. */
export function runOnLayerfs(ov: Overlay, op: Op): unknown {
  try {
    switch (op[0]) {
      case 'writeFile': ov.writeFileSync(op[1], op[2]); return 'ok';
      case 'appendFile': ov.appendFileSync(op[1], op[2]); return 'ok';
      case 'open': ov.closeSync(ov.openSync(op[1], op[2])); return 'ok';
      case 'truncate': ov.truncateSync(op[1], op[2]); return 'ok';
      case 'unlink': ov.unlinkSync(op[1]); return 'ok';
      case 'mkdir': ov.mkdirSync(op[1]); return 'ok';
      case 'rmdir': ov.rmdirSync(op[1]); return 'ok';
      case 'rmrf': ov.rmSync(op[1], { recursive: true }); return 'ok';
      case 'rename': ov.renameSync(op[1], op[2]); return 'ok';
      case 'link': ov.linkSync(op[1], op[2]); return 'ok';
      case 'symlink': ov.symlinkSync(op[1], op[2]); return 'ok';
      case 'chmod': ov.chmodSync(op[1], op[2]); return 'ok';
      case 'chown': ov.chownSync(op[1], op[2], op[3]); return 'ok';
      case 'lchown': ov.lchownSync(op[1], op[2], op[3]); return 'ok';
      case 'utimes': ov.utimesSync(op[1], op[2], op[3]); return 'ok';
      case 'lutimes': ov.lutimesSync(op[1], op[2], op[3]); return 'ok';
      case 'readdir': return [...ov.readdirSync(op[1])].sort();
      case 'readlink': return ov.readlinkSync(op[1]);
      case 'stat': return statView(ov.statSync(op[1]));
      case 'lstat': return statView(ov.lstatSync(op[1]));
      case 'ino': return { ino: ov.lstatSync(op[1]).ino };
      case 'readFile': return ov.readFileSync(op[1], 'utf8');
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (!code || code.startsWith('ERR_')) throw e;
    return { errno: code };
  }
}

/** The kernel's outcomes (fsops.py run) in the same form: stat times made comparable. */
export function kernelOutcomes(raw: unknown[]): unknown[] {
  return raw.map((o) => {
    if (o && typeof o === 'object' && 'mtime_ms' in o) {
      const { mtime_ms, ...rest } = o as { mtime_ms: number; size?: number };
      const { size, ...head } = rest;
      return { ...head, mtime: canonicalTime(mtime_ms), ...(size !== undefined ? { size } : {}) };
    }
    return o;
  });
}

export interface UpperEntry {
  type: string;
  mode?: string;
  owner?: string;
  nlink?: number;
  size?: number;
  sha256?: string;
  target?: string;
  rdev?: string;
  mtime?: string;
  opaque?: true;
  redirect?: string;
}

/** The kernel's upperdir in comparable form: char 0/0 is a whiteout, xattrs mark opaque and redirect. */
export function kernelUpper(dump: UpperDumpEntry[]): Map<string, UpperEntry> {
  const out = new Map<string, UpperEntry>();
  // The lower path each upper directory merges with: its redirect, or its parent's lower path
  // and its own name. A relative redirect names a sibling within the parent's lower directory
  // (overlayfs.rst "Redirect dir"), which may itself be redirected.
  const lowerPathOf = new Map<string, string>([['/', '/']]);
  const parentOf = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';
  const childOf = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);
  for (const d of [...dump].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    if (d.type === 'char' && d.rdev?.[0] === 0 && d.rdev[1] === 0) {
      out.set(d.path, { type: 'whiteout' });
      continue;
    }
    const e: UpperEntry = {
      type: d.type,
      mode: d.mode.toString(8),
      owner: `${d.uid}:${d.gid}`,
      mtime: canonicalTime(d.mtime_ms),
    };
    if (d.type !== 'directory') e.nlink = d.nlink;
    if (d.size !== undefined) e.size = d.size;
    if (d.sha256) e.sha256 = d.sha256;
    if (d.target !== undefined) e.target = d.target;
    if (d.rdev) e.rdev = d.rdev.join(':');
    if (d.xattrs?.['trusted.overlay.opaque'] === 'y') e.opaque = true;
    const redirect = d.xattrs?.['trusted.overlay.redirect'];
    if (d.path !== '/') {
      const parentLower = lowerPathOf.get(parentOf(d.path)) ?? parentOf(d.path);
      const name = d.path.slice(d.path.lastIndexOf('/') + 1);
      const lower = redirect === undefined ? childOf(parentLower, name) : redirect.startsWith('/') ? redirect : childOf(parentLower, redirect);
      lowerPathOf.set(d.path, lower);
      if (redirect !== undefined) e.redirect = lower;
    }
    out.set(d.path, e);
  }
  return out;
}

/** layerfs's upper Volume in the same form: `.wh.x` is a whiteout of x, `.wh..wh..opq` marks opaque. */
export function layerfsUpper(ov: Overlay): Map<string, UpperEntry> {
  const out = new Map<string, UpperEntry>();
  const up = engineOf(ov).upper;
  type L = typeof up.root;
  const visit = (link: L, path: string): void => {
    const node = link.getNode();
    const isDir = node.isDirectory();
    const type = isDir ? 'directory' : node.isSymlink() ? 'symlink' : node.isFile() ? 'file' : typeOfMode(node.mode);
    const e: UpperEntry = {
      type,
      mode: (node.mode & 0o7777).toString(8),
      owner: `${node.uid}:${node.gid}`,
      mtime: canonicalTime(node.mtime.getTime()),
    };
    if (!isDir) e.nlink = node.nlink;
    if (type === 'file') {
      const data = Buffer.from(node.getBuffer());
      e.size = data.length;
      e.sha256 = createHashHex(data);
    }
    if (type === 'symlink') e.target = node.symlink;
    if (type === 'char' || type === 'block') e.rdev = `${major(node.rdev)}:${minor(node.rdev)}`;
    if (isDir && up.isOpaque(link)) e.opaque = true;
    const redirect = up.redirects.get(node);
    if (redirect !== undefined) e.redirect = redirect;
    out.set(path, e);
    if (!isDir) return;
    for (const [name, child] of link.children) {
      if (name === '.' || name === '..' || !child || name === '.wh..wh..opq') continue;
      const childPath = path === '/' ? `/${name}` : `${path}/${name}`;
      if (name.startsWith('.wh.')) out.set(path === '/' ? `/${name.slice(4)}` : `${path}/${name.slice(4)}`, { type: 'whiteout' });
      else visit(child, childPath);
    }
  };
  visit(up.root, '/');
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

function typeOfMode(mode: number): string {
  return ({ 0o020000: 'char', 0o060000: 'block', 0o010000: 'fifo' } as Record<number, string>)[mode & 0o170000] ?? 'other';
}

function createHashHex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** One side of a comparison: each operation's outcome, the merged tree and the upper layer. */
export interface Side {
  outcomes: unknown[];
  merged: Map<string, TreeEntry>;
  upper: Map<string, UpperEntry>;
}

export interface ScenarioResult {
  kernel: Side;
  layerfs: Side;
}

type Options = { redirectDir?: boolean };

const newOverlay = (layers: readonly Layer[], options: Options) => new Overlay({ lower: layers, redirectDir: options.redirectDir ?? false });

function layerfsSide(ov: Overlay, ops: readonly Op[]): Side {
  const outcomes = ops.map((op) => runOnLayerfs(ov, op));
  return { outcomes, merged: snapshot(ov as unknown as FsLike, ''), upper: layerfsUpper(ov) };
}

/** Runs the operations on layerfs alone (to compare with a recorded kernel outcome, test/kernel/golden.ts). */
export function runOnLayerfsOnly(layers: readonly Layer[], ops: readonly Op[], options: Options = {}): Side {
  return layerfsSide(newOverlay(layers, options), ops);
}

/**
 * Runs the same operations on a real kernel overlay and on layerfs over the same layers and
 * returns both sides: every op's outcome, the merged tree, and the upper layer.
 */
export function runOnBoth(layers: readonly Layer[], ops: readonly Op[], options: Options = {}): ScenarioResult {
  const ov = newOverlay(layers, options);
  const root = ov.lstatSync('/');
  const k = new KernelOverlay(layers, { redirectDir: options.redirectDir ?? false, upperRoot: { mode: root.mode, uid: root.uid, gid: root.gid, atimeMs: root.atimeMs, mtimeMs: root.mtimeMs } });
  try {
    const kernelRun = k.session(ops);
    const kernel: Side = { outcomes: kernelOutcomes(kernelRun.outcomes), merged: snapshot(nodefs as unknown as FsLike, k.mountpoint), upper: kernelUpper(kernelRun.upper) };
    return { kernel, layerfs: layerfsSide(ov, ops) };
  } finally {
    k.dispose();
  }
}

/** A side as plain data, as it is compared and recorded: outcomes labelled with their operation. */
export interface Comparable {
  outcomes: Array<{ op: string; outcome: unknown }>;
  merged: Record<string, TreeEntry>;
  upper: Record<string, UpperEntry>;
}

/**
 * The `ino` operations' numbers as the order they were first seen in (`i0`, `i1`, ...): the two
 * sides number inodes differently, and what must agree is which lstat(2) calls saw one inode.
 */
function inodeClasses(outcomes: readonly unknown[]): unknown[] {
  const seen = new Map<number, string>();
  return outcomes.map((o) => {
    if (!o || typeof o !== 'object' || !('ino' in o)) return o;
    const ino = (o as { ino: number }).ino;
    if (!seen.has(ino)) seen.set(ino, `i${seen.size}`);
    return { ino: seen.get(ino) };
  });
}

export function comparable(ops: readonly Op[], side: Side): Comparable {
  return {
    outcomes: inodeClasses(side.outcomes).map((outcome, i) => ({ op: ops[i]!.join(' '), outcome })),
    merged: Object.fromEntries(side.merged),
    upper: Object.fromEntries(side.upper),
  };
}

/** Asserts layerfs's side equals the oracle's (the live kernel, or its recorded outcome). */
export function expectSame(layerfs: Comparable, oracle: Comparable, oracleName = 'the kernel'): void {
  const of = oracleName === 'the kernel' ? '' : ` (against ${oracleName})`;
  expect(layerfs.outcomes, `outcome of each operation${of}`).toEqual(oracle.outcomes);
  expect(layerfs.merged, `merged tree${of}`).toEqual(oracle.merged);
  expect(layerfs.upper, `upper layer${of}`).toEqual(oracle.upper);
}

/** Asserts layerfs matched the kernel: per-op outcomes, merged tree, and upper layer. */
export function expectSameAsKernel(layers: readonly Layer[], ops: readonly Op[], options: Options = {}): ScenarioResult {
  const r = runOnBoth(layers, ops, options);
  expectSame(comparable(ops, r.layerfs), comparable(ops, r.kernel));
  return r;
}
