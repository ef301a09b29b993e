import { mkdirSync, mkdtempSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync, writeSync, closeSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DirHandle } from '../../src/host/dir-handle.js';
import { UnsafeNameError } from '../../src/host/dir-errors.js';
import { removeTreeAt } from '../../src/host/remove-tree-at.js';

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'lfs-dirh-'));
});
// GNU rm walks by descriptor: Node's rmSync cannot remove a tree deeper than PATH_MAX.
afterEach(() => void execFileSync('rm', ['-rf', base]));

describe('DirHandle', () => {
  it('refuses names that are not one component', () => {
    const d = DirHandle.open(base);
    try {
      for (const bad of ['', '.', '..', 'a/b', 'x\0y']) expect(() => d.at(bad)).toThrow(UnsafeNameError);
    } finally {
      d.close();
    }
  });

  it('refuses to open a symlink as the directory', () => {
    mkdirSync(join(base, 'real'));
    symlinkSync(join(base, 'real'), join(base, 'link'));
    expect(() => DirHandle.open(join(base, 'link'))).toThrow(/ELOOP|ENOTDIR/);
    const d = DirHandle.open(base);
    try {
      expect(() => d.openDir('link')).toThrow(/ELOOP|ENOTDIR/);
    } finally {
      d.close();
    }
  });

  it('open: a trailing slash or a final . never makes it follow a symlink at the last component; .. is lexical', () => {
    // open(2) follows a final symlink despite O_NOFOLLOW when the path ends in "/" or "/."
    // (path_resolution(7): a trailing slash, and "." as the last component, resolve through it).
    mkdirSync(join(base, 'x'));
    mkdirSync(join(base, 'elsewhere', 'real'), { recursive: true });
    symlinkSync(join(base, 'elsewhere', 'real'), join(base, 'x', 'link'));
    for (const suffix of ['/', '//', '/.', '/./', '/./.']) {
      expect(() => DirHandle.open(`${base}/x/link${suffix}`), suffix).toThrow(/ELOOP|ENOTDIR/);
    }
    // x/link/.. is x (as path.resolve reads it), never the parent of the link's target.
    const up = DirHandle.open(`${base}/x/link/..`);
    const real = DirHandle.open(`${base}/x/`);
    try {
      expect([up.dev, up.ino]).toEqual([statSync(join(base, 'x')).dev, statSync(join(base, 'x')).ino]);
      expect([real.dev, real.ino]).toEqual([up.dev, up.ino]);
    } finally {
      up.close();
      real.close();
    }
    const root = DirHandle.open('/');
    expect(root.ino).toBe(statSync('/').ino);
    root.close();
  });

  it('open: an error names the path given, never a /proc/self/fd path', () => {
    let err: (Error & { path?: string }) | undefined;
    try {
      DirHandle.open(join(base, 'missing'));
    } catch (e) {
      err = e as Error;
    }
    expect(err).toMatchObject({ code: 'ENOENT', path: join(base, 'missing') });
    expect(err!.message).toContain(join(base, 'missing'));
    expect(err!.message).not.toContain('/proc/self/fd');
  });

  it('keeps writing into the directory it made after its path is swapped for a symlink', () => {
    const victim = join(base, 'victim');
    mkdirSync(victim);
    const target = join(base, 'target');
    mkdirSync(target);
    const root = DirHandle.open(target);
    const etc = root.makeDir('etc');
    // Another process moves the directory aside and puts a symlink to the victim in its place.
    renameSync(join(target, 'etc'), join(target, 'etc.moved'));
    symlinkSync(victim, join(target, 'etc'));
    const fd = etc.createFile('passwd');
    writeSync(fd, 'root\n');
    closeSync(fd);
    expect(existsSync(join(victim, 'passwd'))).toBe(false);
    expect(readFileSync(join(target, 'etc.moved', 'passwd'), 'utf8')).toBe('root\n');
    // The swap is seen: the name no longer holds the directory made.
    expect(root.holds('etc', etc)).toBe(false);
    expect(root.holds('etc.moved', etc)).toBe(true);
    etc.close();
    root.close();
  });

  it('never opens an existing name or a planted symlink when creating a file', () => {
    const victim = join(base, 'victim');
    writeFileSync(victim, 'keep');
    symlinkSync(victim, join(base, 'index.json'));
    const d = DirHandle.open(base);
    try {
      expect(() => d.createFile('index.json')).toThrow(/EEXIST/);
      expect(readFileSync(victim, 'utf8')).toBe('keep');
      expect(() => d.openFile('index.json')).toThrow(/ELOOP/);
    } finally {
      d.close();
    }
  });

  it('creates names deeper than PATH_MAX', () => {
    let d = DirHandle.open(base);
    const name = 'd'.repeat(200);
    for (let i = 0; i < 30; i++) {
      const next = d.makeDir(name);
      d.close();
      d = next;
    }
    closeSync(d.createFile('deep'));
    expect(d.lstat('deep')?.isFile()).toBe(true);
    d.close();
  });
});

describe('removeTreeAt', () => {
  it('reads each directory once: a directory of 3,000 subdirectories is not listed again after each', () => {
    const top = join(base, 'top');
    mkdirSync(top);
    for (let i = 0; i < 3000; i++) {
      mkdirSync(join(top, `d${i}`));
      if (i % 100 === 0) writeFileSync(join(top, `d${i}`, 'f'), '');
    }
    writeFileSync(join(top, 'file'), '');
    const names = DirHandle.prototype.names;
    let namesRead = 0;
    const listed = vi.spyOn(DirHandle.prototype, 'names').mockImplementation(function (this: DirHandle) {
      const found = names.call(this);
      namesRead += found.length;
      return found;
    });
    const d = DirHandle.open(base);
    try {
      removeTreeAt(d, 'top');
    } finally {
      d.close();
      listed.mockRestore();
    }
    expect(existsSync(top)).toBe(false);
    // 3,001 names in top and 30 files below: each read once (re-listing top after each
    // subdirectory read about 4.5 million).
    expect(namesRead).toBe(3031);
  });
});
