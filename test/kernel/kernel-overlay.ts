import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as pjoin, dirname, posix } from 'node:path';

const posixDirname = posix.dirname;
import { fileURLToPath } from 'node:url';
import type { Layer } from '../../src/index.js';
import { major, minor } from '../../src/layer/device.js';
import { LowerIndex, type LowerNode } from '../../src/overlay/lower-index.js';

const FSOPS = pjoin(dirname(fileURLToPath(import.meta.url)), 'fsops.py');

let availability: { ok: boolean; why: string } | undefined;

/** Whether `mount -t overlay` works here (root, a kernel with overlayfs, trusted xattrs). */
export function kernelOverlayAvailable(): { ok: boolean; why: string } {
  if (availability) return availability;
  const base = mkdtempSync(pjoin(tmpdir(), 'lfs-probe-'));
  try {
    for (const d of ['l', 'u', 'w', 'm']) fs.mkdirSync(pjoin(base, d));
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${base}/l,upperdir=${base}/u,workdir=${base}/w`, `${base}/m`], { stdio: 'pipe' });
    execFileSync('umount', [`${base}/m`]);
    execFileSync('python3', ['-c', 'import os'], { stdio: 'pipe' });
    availability = { ok: true, why: '' };
  } catch (e) {
    availability = { ok: false, why: String((e as Error).message).split('\n')[0]! };
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
  return availability;
}

export interface RootMeta {
  mode: number;
  uid: number;
  gid: number;
  atimeMs: number;
  mtimeMs: number;
}

/**
 * A real kernel overlay mount of the same layers a test gives layerfs: each layer written as
 * a lower directory (whiteouts as char 0/0 devices, opaque directories with the
 * trusted.overlay.opaque xattr, overlayfs.rst "whiteouts and opaque directories"), an empty
 * upperdir and a workdir.
 */
export class KernelOverlay {
  readonly base: string;
  readonly mountpoint: string;
  readonly upperdir: string;
  private mounted = false;
  private readonly options: string[];
  private readonly upperRoot: RootMeta;
  private retired = 0;

  constructor(layers: readonly Layer[], options: { redirectDir?: boolean; upperRoot: RootMeta }) {
    this.base = mkdtempSync(pjoin(tmpdir(), 'lfs-k-'));
    this.mountpoint = pjoin(this.base, 'm');
    this.upperdir = pjoin(this.base, 'u');
    // The layers' device nodes and xattrs are made by python3 runs, between creating the
    // entries and setting their metadata (which must come last: creation touches mtimes); one
    // run for all layers, unless a layer links to files below it (then the layers below are
    // finished first: its links are made on a mount of them).
    // A layer the kernel refuses (a link to nothing below) fails here: leave no directory behind.
    try {
      const special: object[] = [];
      const finish: Array<() => void> = [];
      const makeSpecial = () => {
        if (special.length === 0) return;
        const opsFile = pjoin(this.base, 'ops.json');
        writeFileSync(opsFile, JSON.stringify(special));
        execFileSync('python3', [FSOPS, 'apply', opsFile]);
        special.length = 0;
      };
      const setMetadata = () => {
        for (const set of finish.splice(0)) set();
      };
      layers.forEach((layer, i) => {
        const dir = pjoin(this.base, `${i}`);
        fs.mkdirSync(dir);
        const set = writeLayer(layer, dir, special, new LowerIndex(layers.slice(0, i)));
        if (layer.lowerLinks && layer.lowerLinks.size > 0) {
          // The layers below complete (copy-up copies their metadata), and this one but for its
          // metadata (the links touch their parents' mtimes, which it sets last).
          makeSpecial();
          setMetadata();
          linkOnLayersBelow(this.base, i, layer);
        }
        finish.push(set);
      });
      makeSpecial();
      setMetadata();
      const lowerDirs = layers.map((_, i) => `${i}`);
      fs.mkdirSync(this.mountpoint);
      this.upperRoot = options.upperRoot;
      // The kernel's lowerdir= lists the TOP layer first; layerfs takes image order (bottom first).
      // Paths relative to the mount's working directory keep 500 layers within the one-page
      // limit on mount options.
      this.options = [`lowerdir=${[...lowerDirs].reverse().join(':')}`, 'upperdir=u', 'workdir=w'];
      if (options.redirectDir) this.options.push('redirect_dir=on');
      this.mount();
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** A fresh, empty upperdir (the image's root metadata) and workdir, mounted. */
  private mount(): void {
    for (const d of ['u', 'w']) fs.mkdirSync(pjoin(this.base, d));
    const r = this.upperRoot;
    fs.chownSync(this.upperdir, r.uid, r.gid);
    fs.chmodSync(this.upperdir, r.mode & 0o7777);
    fs.utimesSync(this.upperdir, r.atimeMs / 1000, r.mtimeMs / 1000);
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', this.options.join(','), this.mountpoint], { stdio: 'pipe', cwd: this.base });
    this.mounted = true;
  }

  /**
   * Starts over on the same lower layers: unmounts, keeps the upperdir aside (its path is
   * returned, to read back with `dumpDirs` once many are collected) and mounts a fresh one.
   * Cheaper than a new KernelOverlay, which writes the layers again.
   */
  remount(): string {
    execFileSync('umount', [this.mountpoint]);
    this.mounted = false;
    const kept = pjoin(this.base, `u-${this.retired++}`);
    fs.renameSync(this.upperdir, kept);
    fs.rmSync(pjoin(this.base, 'w'), { recursive: true, force: true });
    this.mount();
    return kept;
  }

  /** Runs operations inside the mount (chrooted, see fsops.py), then reads the upperdir back. */
  session(ops: readonly unknown[]): { outcomes: unknown[]; upper: UpperDumpEntry[] } {
    return JSON.parse(execFileSync('python3', [FSOPS, 'session', this.mountpoint, this.upperdir], { input: JSON.stringify(ops), encoding: 'utf8', maxBuffer: 1 << 28 }));
  }

  /** Describes every object of each directory (unmounted upperdirs), as `session` does the upperdir. */
  static dumpDirs(dirs: readonly string[]): UpperDumpEntry[][] {
    return JSON.parse(execFileSync('python3', [FSOPS, 'dump', ...dirs], { encoding: 'utf8', maxBuffer: 1 << 28 }));
  }

  dispose(): void {
    if (this.mounted) execFileSync('umount', [this.mountpoint]);
    this.mounted = false;
    fs.rmSync(this.base, { recursive: true, force: true });
  }
}

export interface UpperDumpEntry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime_ms: number;
  size?: number;
  sha256?: string;
  target?: string;
  rdev?: [number, number];
  xattrs?: Record<string, string>;
}

/**
 * Makes layer `i`'s hard links to files of the layers below as containerd's applier makes
 * them: link(2) on an overlay mount of the layers below with the layer's directory as the
 * upper, so the kernel copies the target up into the layer (overlayfs.rst "Non-directories")
 * and both names are one inode there. After the rest of the layer is written (layerfs takes
 * the links last, lower-index.ts); a name already there is removed first, as the applier
 * replaces what is at a name. Inside a chroot to the mount (fsops.py session), so absolute
 * symlinks on the way resolve inside it.
 */
function linkOnLayersBelow(base: string, i: number, layer: Layer): void {
  const dir = pjoin(base, `${i}`);
  const mount = pjoin(base, `link-m${i}`);
  const work = pjoin(base, `link-w${i}`);
  fs.mkdirSync(mount);
  fs.mkdirSync(work);
  // With no layer below, the mount needs a lower directory all the same: an empty one.
  if (i === 0) fs.mkdirSync(pjoin(base, 'link-empty'));
  const lowerdir = i === 0 ? 'link-empty' : Array.from({ length: i }, (_, j) => `${i - 1 - j}`).join(':');
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerdir},upperdir=${i},workdir=link-w${i}`, mount], { stdio: 'pipe', cwd: base });
  try {
    const ops = [...layer.lowerLinks!].flatMap(([name, target]) => [['rmrf', name], ['link', target, name]]);
    const run = JSON.parse(execFileSync('python3', [FSOPS, 'session', mount, dir], { input: JSON.stringify(ops), encoding: 'utf8', maxBuffer: 1 << 28 })) as { outcomes: unknown[] };
    run.outcomes.forEach((outcome, k) => {
      if (k % 2 === 1 && outcome !== 'ok') throw new Error(`kernel: link ${JSON.stringify(ops[k])} in layer ${i}: ${JSON.stringify(outcome)}`);
    });
  } finally {
    execFileSync('umount', [mount]);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Writes one layer as a kernel lower directory: the entries now, device nodes and xattrs into
 * `special` (for fsops.py apply), and returns the step that sets metadata, to run after those.
 */
function writeLayer(layer: Layer, dir: string, special: object[], below: LowerIndex): () => void {
  const firstPathOfInode = new Map<number, string>();
  const at = (p: string): string => (p === '/' ? dir : dir + p);
  for (const [p, e] of layer.entries) {
    if (p === '/') continue;
    const full = at(p);
    switch (e.type) {
      case 'directory': fs.mkdirSync(full); break;
      case 'symlink':
      case 'file': {
        const first = firstPathOfInode.get(e.inode);
        // Names of one inode are hard links (link(2) does not follow a symlink on Linux).
        if (first !== undefined) fs.linkSync(at(first), full);
        else {
          if (e.type === 'symlink') fs.symlinkSync(e.linkTarget!, full);
          else fs.writeFileSync(full, layer.read(e));
          firstPathOfInode.set(e.inode, p);
        }
        break;
      }
      default:
        special.push({ op: 'mknod', path: full, type: e.type, mode: e.mode, major: major(e.rdev), minor: minor(e.rdev) });
    }
  }
  for (const p of layer.whiteouts) {
    // A hard link to a lower file took the name already (the link replaced what was below).
    if (layer.lowerLinks?.has(p)) continue;
    const own = layer.entries.get(p);
    // A whiteout that hides nothing is a no-op for OCI, but the kernel lists it in readdir of
    // a directory that is not merged (shared/reference note 12). layerfs follows OCI; the
    // kernel layer leaves such whiteouts out so the two are compared on what they mean.
    if (!own && !seenBelow(layer, p, below)) continue;
    // A kernel layer cannot hold a whiteout and an object under one name: a whiteout of a
    // name the layer re-creates as a directory is that directory being opaque, and under a
    // file it hides nothing more than the file does.
    if (own?.type === 'directory') special.push({ op: 'setxattr', path: at(p), name: 'trusted.overlay.opaque', value: 'y' });
    else if (!own && layer.entries.get(posixDirname(p))?.type === 'directory') special.push({ op: 'mknod', path: at(p), type: 'char', mode: 0, major: 0, minor: 0 });
  }
  for (const d of layer.opaqueDirs) special.push({ op: 'setxattr', path: at(d), name: 'trusted.overlay.opaque', value: 'y' });
  for (const [p, e] of layer.entries) for (const [name, value] of e.xattrs) special.push({ op: 'setxattr', path: at(p), name, value: value.toString() });
  const entries = [...layer.entries].reverse(); // children before parents: a parent's mtime is set last
  return () => { for (const [p, own] of entries) {
    const full = at(p);
    // An implicit parent is extracted with the metadata the directory has below, as
    // containerd's applier does (mkparent copies it from the parent layers).
    const lowerDir = own.implicit && !layer.whiteouts.has(p) ? seenBelow(layer, p, below)?.entry : undefined;
    const e = lowerDir?.type === 'directory' ? lowerDir : own;
    fs.lchownSync(full, e.uid, e.gid);
    if (e.type !== 'symlink') fs.chmodSync(full, e.mode);
    fs.lutimesSync(full, e.atimeMs / 1000, e.mtimeMs / 1000);
  } };
}

/** What the layers below show at `p`, seen past this layer's opaque markers and whiteouts of p's parents. */
function seenBelow(layer: Layer, p: string, below: LowerIndex): LowerNode | undefined {
  const node = below.get(p);
  if (!node || p === '/') return node;
  for (let d = posixDirname(p); ; d = posixDirname(d)) {
    if (layer.opaqueDirs.has(d) || layer.whiteouts.has(d)) return undefined;
    if (d === '/') return node;
  }
}
