import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { collectStream, MemoryLayer, Overlay, TarLayer, type LayerJSON } from '../../src/index.js';
import { runOnLayerfs, type Op } from '../kernel/differential.js';
import { compressor } from '../../src/tar/compress.js';
import { DirHandle } from '../../src/host/dir-handle.js';
import { KernelOverlay, kernelOverlayAvailable } from '../kernel/kernel-overlay.js';
import { opsArb, stackArb } from '../differential/generate.js';
import { snapshot, type FsLike } from '../support/tree.js';
import { engineOf } from '../../src/fs/overlay-fs.js';

/**
 * Commit and export round trips on random stacks and random changes:
 * - the lower layers plus the committed upper layer, mounted again, show the merged view;
 * - the flat export, mounted as a single layer, shows the merged view;
 * - GNU tar reads both and lists what layerfs wrote;
 * - the kernel, given the lower layers plus the committed layer as lower dirs, shows the same.
 */
const RUNS = Number(process.env.LAYERFS_EXPORT_RUNS ?? 60);
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-export-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const tree = (ov: Overlay) => {
  const t = snapshot(ov as unknown as FsLike, '');
  // Directory link counts depend on how the tree is layered (merged dirs report 1), not on
  // what it holds, so they are left out; file link counts stay.
  for (const e of t.values()) if (e.type === 'directory') e.nlink = 0;
  return Object.fromEntries(t);
};

function changed(stack: LayerJSON[], ops: Op[]): { lower: MemoryLayer[]; ov: Overlay } {
  const lower = stack.map((l, i) => MemoryLayer.fromJSON(l, `L${i}`));
  const ov = new Overlay({ lower });
  for (const op of ops) runOnLayerfs(ov, op);
  return { lower, ov };
}

describe('commit and export round trips', () => {
  it('lower + commit(upper) shows the merged view; commit info is the tar digest', async () => {
    await fc.assert(fc.asyncProperty(stackArb(1, 6), opsArb(5, 30), fc.constantFrom('gzip' as const, 'zstd' as const, 'none' as const), async (stack, ops, compression) => {
      const { lower, ov } = changed(stack, ops);
      const c = ov.commit({ compression });
      const bytes = await collectStream(c.stream);
      const info = await c.info;
      const layer = await TarLayer.from(bytes, { name: 'commit' });
      expect(layer.info.digest).toBe(info.digest);
      expect(layer.info.diffId).toBe(info.diffId);
      expect(tree(new Overlay({ lower: [...lower, layer] }))).toEqual(tree(ov));
    }), { numRuns: RUNS });
  });

  it('exportTar as a single layer shows the merged view', async () => {
    await fc.assert(fc.asyncProperty(stackArb(1, 6), opsArb(0, 30), async (stack, ops) => {
      const { ov } = changed(stack, ops);
      const flat = await TarLayer.from(await collectStream(ov.exportTar().stream));
      expect(flat.whiteouts.size + flat.opaqueDirs.size).toBe(0);
      // A lower hard link counts names other layers hide; a flat copy can only link the
      // names that are visible, so link counts are compared as "linked or not" below.
      const noLinks = (t: ReturnType<typeof tree>) => Object.fromEntries(Object.entries(t).map(([p, e]) => [p, { ...e, nlink: 0 }]));
      expect(noLinks(tree(new Overlay({ lower: [flat] })))).toEqual(noLinks(tree(ov)));
    }), { numRuns: RUNS });
  });

  it('exportTar writes visible names of one inode as hard links, content once', async () => {
    const { ov } = changed([{ '/a': 'shared', '/b': { type: 'hardlink', target: '/a' }, '/c': { type: 'hardlink', target: '/a' } }, { '/.wh.c': '' }], [['link', '/a', '/d']]);
    const flat = await TarLayer.from(await collectStream(ov.exportTar().stream));
    // /a was copied up by link(): /a and /d are one upper inode, /b is still the lower one.
    expect(flat.entries.get('/a')!.inode).toBe(flat.entries.get('/d')!.inode);
    expect(flat.entries.get('/b')!.inode).not.toBe(flat.entries.get('/a')!.inode);
    expect(flat.entries.has('/c')).toBe(false);
  });

  it('keeps mode 0 (as /etc/shadow has on some distributions) in commit and export', async () => {
    const { ov } = changed([{ '/etc/shadow': { type: 'file', content: 's', mode: 0 } }], [['chmod', '/etc/shadow', 0], ['mkdir', '/locked'], ['chmod', '/locked', 0]]);
    const committed = await TarLayer.from(await collectStream(ov.commit().stream));
    expect(committed.entries.get('/etc/shadow')!.mode).toBe(0);
    expect(committed.entries.get('/locked')!.mode).toBe(0);
    const flat = await TarLayer.from(await collectStream(ov.exportTar().stream));
    expect(flat.entries.get('/etc/shadow')!.mode).toBe(0);
  });

  it('commits are deterministic, and SOURCE_DATE_EPOCH clamps every time', async () => {
    const { ov } = changed([{ '/etc/passwd': 'root' }], [['appendFile', '/etc/passwd', 'x'], ['mkdir', '/new'], ['unlink', '/etc/passwd']]);
    const a = await collectStream(ov.commit({ sourceDateEpoch: 1_000_000_000 }).stream);
    const b = await collectStream(ov.commit({ sourceDateEpoch: 1_000_000_000 }).stream);
    expect(a).toEqual(b);
    const layer = await TarLayer.from(a);
    for (const e of layer.entries.values()) expect(e.mtimeMs).toBeLessThanOrEqual(1_000_000_000_000);
  });

  it('zstd commits made one after another and side by side are byte-identical and read back', async () => {
    // Commits share one compressor library: side by side they must not disturb each other.
    const { ov } = changed([{ '/etc/passwd': 'root' }], [['appendFile', '/etc/passwd', 'x'], ['mkdir', '/new']]);
    const one = () => collectStream(ov.commit({ compression: 'zstd', sourceDateEpoch: 1_000_000_000 }).stream);
    const first = await one();
    const all = [...await Promise.all([one(), one(), one()]), await one(), await one()];
    for (const b of all) expect(b).toEqual(first);
    expect((await TarLayer.from(first)).entries.get('/etc/passwd')!.size).toBe(5);
  });

  it('a tree nested deeper than the call stack and PATH_MAX exports (tar and directory), commits and reads back', async () => {
    // 3,000 levels: a 6,000-byte name (PAX), past PATH_MAX. Recursion over the tree overflowed here.
    const deep = `/${Array(3000).fill('d').join('/')}/f`;
    const { lower, ov } = changed([{ [deep]: 'deep' }], []);
    const flat = await TarLayer.from(await collectStream(ov.exportTar().stream));
    expect(flat.read(flat.entries.get(deep)!).toString()).toBe('deep');
    expect(flat.entries.size).toBe(3002);
    // The path is past PATH_MAX, so no fs call reaches it (ENAMETOOLONG, as on Linux): the
    // change is made on the engine, at the object's place.
    expect(() => ov.writeFileSync(deep, 'changed')).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }));
    engineOf(ov).writableNode(engineOf(ov).objectAt(deep)!).setBuffer(Buffer.from('changed')); // copy-up of 3,000 parents
    const committed = await TarLayer.from(await collectStream(ov.commit().stream));
    expect(committed.entries.size).toBe(3002);
    const again = new Overlay({ lower: [...lower, committed] });
    expect(engineOf(again).read(engineOf(again).objectAt(deep)!).toString()).toBe('changed');
    const out = fs.mkdtempSync(join(work, 'deep-'));
    try {
      // exportDir writes relative to each parent's descriptor (src/host/dir-handle.ts), so no
      // path it hands the kernel is longer than one name: 3,000 levels are written.
      expect(ov.exportDir(out).entries).toBe(3001);
      let dir = DirHandle.open(out);
      for (let i = 0; i < 3000; i++) {
        const next = dir.openDir('d');
        dir.close();
        dir = next;
      }
      const fd = dir.openFile('f');
      expect(fs.readFileSync(fd, 'utf8')).toBe('changed');
      fs.closeSync(fd);
      dir.close();
    } finally {
      execFileSync('rm', ['-rf', out]); // Node's own rmSync recurses, and overflows here
    }
  });

  it('zstd output streams: chunks come out while the tar goes in, as one checked frame (the whole tar is not held first)', async () => {
    const { Readable } = await import('node:stream');
    const { randomBytes } = await import('node:crypto');
    const parts = Array.from({ length: 24 }, (_, i) => (i % 2 ? randomBytes(1 << 20) : Buffer.alloc(1 << 20, i)));
    let fed = 0;
    const input = Readable.from((function* () {
      for (const p of parts) {
        fed++;
        yield p;
      }
    })());
    const out: Buffer[] = [];
    const fedWhenFirstOut: number[] = [];
    for await (const c of input.pipe(compressor('zstd'))) {
      if (out.length === 0) fedWhenFirstOut.push(fed);
      out.push(c as Buffer);
    }
    expect(fedWhenFirstOut[0]).toBeLessThan(parts.length);
    expect(out.length).toBeGreaterThan(1);
    const file = join(fs.mkdtempSync(join(tmpdir(), 'lfs-zout-')), 'out.zst');
    fs.writeFileSync(file, Buffer.concat(out));
    execFileSync('zstd', ['-t', '-q', file]); // checksum and all
    expect(execFileSync('zstd', ['-lv', file], { encoding: 'utf8' })).toMatch(/Check: XXH64/);
    expect(execFileSync('zstd', ['-dc', file], { maxBuffer: 1 << 26 }).equals(Buffer.concat(parts))).toBe(true);
    fs.rmSync(join(file, '..'), { recursive: true, force: true });
  });

  it('GNU tar reads a commit and lists exactly the entries layerfs wrote, whiteouts first', async () => {
    const { ov } = changed(
      [{ '/etc/passwd': 'root', '/etc/hosts': 'h', '/usr/share/doc/a': 'a', '/bin/sh': { type: 'symlink', linkTarget: 'busybox' } }],
      [['appendFile', '/etc/passwd', 'user'], ['unlink', '/etc/hosts'], ['rmrf', '/usr/share/doc'], ['mkdir', '/usr/share/doc'], ['link', '/etc/passwd', '/etc/passwd-'], ['symlink', '../etc', '/bin/etc']],
    );
    const file = join(work, 'commit.tar');
    fs.writeFileSync(file, await collectStream(ov.commit({ compression: 'none' }).stream));
    const listing = execFileSync('tar', ['-tvf', file, '--numeric-owner'], { encoding: 'utf8' }).trim().split('\n').map((l) => l.replace(/^\S+ \S+ +\d+ \S+ \S+ /, ''));
    expect(listing).toEqual([
      './',
      'bin/',
      'bin/etc -> ../etc',
      'etc/',
      'etc/.wh.hosts',
      'etc/passwd',
      'etc/passwd- link to etc/passwd',
      'usr/',
      'usr/share/',
      'usr/share/doc/',
      'usr/share/doc/.wh..wh..opq',
    ]);
  });

  const kernel = kernelOverlayAvailable();
  it.runIf(kernel.ok || process.env.CI)('the kernel shows the lower layers plus the committed layer as layerfs does', async () => {
    if (!kernel.ok) throw new Error(`kernel overlay not available: ${kernel.why}`);
    await fc.assert(fc.asyncProperty(stackArb(1, 5), opsArb(5, 30), async (stack, ops) => {
      const { lower, ov } = changed(stack, ops);
      const layer = await TarLayer.from(await collectStream(ov.commit().stream), { name: 'commit' });
      const stacked = [...lower, layer];
      const root = ov.lstatSync('/');
      const k = new KernelOverlay(stacked, { upperRoot: { mode: root.mode, uid: root.uid, gid: root.gid, atimeMs: root.atimeMs, mtimeMs: root.mtimeMs } });
      try {
        const kt = snapshot(fs as unknown as FsLike, k.mountpoint);
        for (const e of kt.values()) if (e.type === 'directory') e.nlink = 0;
        kt.delete('/');
        const mine = tree(new Overlay({ lower: stacked }));
        delete mine['/'];
        expect(mine).toEqual(Object.fromEntries(kt));
      } finally {
        k.dispose();
      }
    }), { numRuns: Math.max(5, Math.round(RUNS / 3)) });
  }, 300_000);
});
