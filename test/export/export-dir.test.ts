import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { collectStream, ExportError, MemoryLayer, Overlay, type LayerJSON } from '../../src/index.js';
import { runOnLayerfs } from '../kernel/differential.js';
import { opsArb, stackArb } from '../differential/generate.js';
import { snapshot, type FsLike } from '../support/tree.js';

const RUNS = Number(process.env.LAYERFS_EXPORT_RUNS ?? 40);
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-exportdir-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
let n = 0;
const fresh = (name = 'out') => {
  const d = join(work, `${name}${n++}`);
  fs.mkdirSync(d);
  return d;
};
const overlay = (...layers: LayerJSON[]) => new Overlay({ lower: layers.map((l, i) => MemoryLayer.fromJSON(l, `L${i}`)) });

describe('exportDir', () => {
  it('writes what GNU tar extracts from exportTar, entry by entry (random stacks and changes)', async () => {
    await fc.assert(fc.asyncProperty(stackArb(1, 6), opsArb(0, 25), async (stack, ops) => {
      const ov = overlay(...stack);
      for (const op of ops) runOnLayerfs(ov, op);
      const dir = fresh('dir');
      ov.exportDir(dir);
      const tarFile = join(work, `t${n++}.tar`);
      fs.writeFileSync(tarFile, await collectStream(ov.exportTar().stream));
      const viaTar = fresh('tar');
      execFileSync('tar', ['--numeric-owner', '-xpf', tarFile, '-C', viaTar]);
      const a = snapshot(fs as unknown as FsLike, dir);
      const b = snapshot(fs as unknown as FsLike, viaTar);
      a.delete('/');
      b.delete('/');
      expect(Object.fromEntries(a)).toEqual(Object.fromEntries(b));
    }), { numRuns: RUNS });
  });

  it('keeps modes, owners, times, hard links, symlinks and device nodes (as root)', () => {
    const ov = overlay({
      '/bin/tool': { type: 'file', content: 'x', mode: 0o4755, uid: 7, gid: 8, mtimeMs: 1e12 },
      '/bin/alias': { type: 'hardlink', target: '/bin/tool' },
      '/bin/sh': { type: 'symlink', linkTarget: 'tool', mtimeMs: 1.1e12 },
      '/dev/null': { type: 'char', rdev: 259, mode: 0o666 },
      '/run/pipe': { type: 'fifo', mode: 0o600 },
      '/ro': { type: 'directory', mode: 0o555, mtimeMs: 1.2e12 },
      '/ro/inside': 'written before the directory became read-only',
    });
    const dir = fresh();
    const report = ov.exportDir(dir);
    expect(fs.statSync(join(dir, 'bin/tool'))).toMatchObject({ mode: 0o104755, uid: 7, gid: 8, mtimeMs: 1e12, nlink: 2 });
    expect(fs.statSync(join(dir, 'bin/alias')).ino).toBe(fs.statSync(join(dir, 'bin/tool')).ino);
    expect(fs.readlinkSync(join(dir, 'bin/sh'))).toBe('tool');
    expect(fs.lstatSync(join(dir, 'bin/sh')).mtimeMs).toBe(1.1e12);
    if (process.getuid?.() === 0) {
      expect(fs.lstatSync(join(dir, 'dev/null'))).toMatchObject({ rdev: 259 });
      expect(fs.lstatSync(join(dir, 'dev/null')).isCharacterDevice()).toBe(true);
      expect(fs.lstatSync(join(dir, 'run/pipe')).isFIFO()).toBe(true);
      expect(report.skipped).toEqual([]);
    }
    expect(fs.statSync(join(dir, 'ro'))).toMatchObject({ mode: 0o40555, mtimeMs: 1.2e12 });
    expect(report.entries).toBe(10);
  });
});

describe('exportDir never writes outside its target', () => {
  let outside: string;
  beforeEach(() => {
    outside = fresh('outside');
    fs.writeFileSync(join(outside, 'precious'), 'untouched');
  });
  const outsideUntouched = () => {
    expect(fs.readdirSync(outside)).toEqual(['precious']);
    expect(fs.readFileSync(join(outside, 'precious'), 'utf8')).toBe('untouched');
  };

  it('symlinks in the image pointing outside are written as symlinks, never followed', () => {
    const dir = fresh();
    const ov = overlay({
      '/abs': { type: 'symlink', linkTarget: outside },
      '/rel': { type: 'symlink', linkTarget: '../../../../../../../..' + outside },
      '/root': { type: 'symlink', linkTarget: '/' },
    }, { '/later/file': 'x' });
    ov.exportDir(dir);
    expect(fs.readlinkSync(join(dir, 'abs'))).toBe(outside);
    expect(fs.readFileSync(join(dir, 'later/file'), 'utf8')).toBe('x');
    outsideUntouched();
  });

  /** A progress callback that, once `when` is written, swaps directory `name` for a symlink to `outside`. */
  const swapAfter = (dir: string, when: string, name: string) => ({
    onProgress: ({ path }: { path: string }) => {
      if (path !== when) return;
      fs.renameSync(join(dir, name), join(dir, `${name}.moved`));
      fs.symlinkSync(outside, join(dir, name));
    },
  });

  it('stops when a directory is swapped for a symlink while it exports (a target changed under it)', () => {
    const dir = fresh();
    const ov = overlay({ '/a/one': '1', '/a/two': '2', '/a/three': '3' });
    expect(() => ov.exportDir(dir, swapAfter(dir, 'a/', 'a'))).toThrow(ExportError);
    outsideUntouched();
  });

  it('sets directory metadata last through descriptors: a directory swapped after its entries were written stops it', () => {
    const dir = fresh();
    const ov = overlay({ '/d': { type: 'directory', mode: 0o700, mtimeMs: 1e12 }, '/d/last': 'x' });
    expect(() => ov.exportDir(dir, swapAfter(dir, 'd/last', 'd'))).toThrow(ExportError);
    outsideUntouched();
    expect(fs.statSync(outside).mode & 0o7777).not.toBe(0o700);
  });

  it('refuses a non-empty target, and a target that is a symlink', () => {
    const dir = fresh();
    fs.writeFileSync(join(dir, 'x'), '');
    expect(() => overlay({ '/f': 'f' }).exportDir(dir)).toThrow(/not empty/);
    const link = join(work, `link${n++}`);
    fs.symlinkSync(outside, link);
    expect(() => overlay({ '/f': 'f' }).exportDir(link)).toThrow(/not a directory/);
    // open(2) follows a final symlink despite O_NOFOLLOW for a path ending in / or /.
    for (const suffix of ['/', '/.', '//', '/./']) {
      expect(() => overlay({ '/f': 'f' }).exportDir(`${link}${suffix}`), suffix).toThrow(/not a directory/);
    }
    outsideUntouched();
  });

  it('with allowNonEmpty, existing symlinks in the target are never written through', () => {
    const dir = fresh();
    fs.symlinkSync(outside, join(dir, 'etc'));
    expect(() => overlay({ '/etc/passwd': 'root' }).exportDir(dir, { allowNonEmpty: true })).toThrow(/EEXIST/);
    const dir2 = fresh();
    fs.symlinkSync(join(outside, 'precious'), join(dir2, 'precious'));
    expect(() => overlay({ '/precious': 'overwritten?' }).exportDir(dir2, { allowNonEmpty: true })).toThrow(/EEXIST/);
    outsideUntouched();
  });

  it('a hard link whose target was replaced after it was written (onProgress) is refused: ERR_TARGET_CHANGED, and no name links to the replacement', () => {
    const dir = fresh();
    const ov = overlay({ '/a': 'written by the export', '/b': { type: 'hardlink', target: '/a' } });
    let error: unknown;
    try {
      ov.exportDir(dir, {
        onProgress: ({ path }) => {
          if (path !== 'a') return;
          fs.renameSync(join(dir, 'a'), join(dir, 'a.moved'));
          fs.writeFileSync(join(dir, 'a'), 'put there by another process');
        },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ExportError);
    expect(error).toMatchObject({ code: 'ERR_TARGET_CHANGED', path: join(dir, 'b') });
    expect(fs.existsSync(join(dir, 'b'))).toBe(false);
    expect(fs.statSync(join(dir, 'a')).nlink).toBe(1);
  });

  it('the target itself moved aside and replaced while it exports (onProgress): ERR_TARGET_CHANGED', () => {
    const base = fresh('base');
    const dir = join(base, 'target');
    fs.mkdirSync(dir);
    let error: unknown;
    try {
      overlay({ '/f': 'x', '/g': 'y' }).exportDir(dir, {
        onProgress: ({ path }) => {
          if (path !== 'f') return;
          fs.renameSync(dir, join(base, 'moved'));
          fs.mkdirSync(dir);
        },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ExportError);
    expect(error).toMatchObject({ code: 'ERR_TARGET_CHANGED', path: dir });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('an empty file is created, never opened: a hard link to a file outside at its name is EEXIST, and that file keeps its content and mode', () => {
    const victim = join(outside, 'precious');
    fs.chmodSync(victim, 0o644);
    const dir = fresh();
    fs.linkSync(victim, join(dir, 'empty'));
    expect(() => overlay({ '/empty': { type: 'file', content: '', mode: 0o4777 } }).exportDir(dir, { allowNonEmpty: true })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    outsideUntouched();
    expect(fs.statSync(victim).mode & 0o7777).toBe(0o644);
  });
});
