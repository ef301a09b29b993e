import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DirHandle } from '../../src/host/dir-handle.js';
import { ReplacedError } from '../../src/host/dir-errors.js';
import { PendingFile, removeTemps, TEMP_NAME } from '../../src/host/publish.js';
import { scratch } from '../support/scratch.js';

const { fresh } = scratch('lfs-publish-');

/** A directory handle on a new scratch directory, and its path. */
function dir(): { d: DirHandle; path: string } {
  const path = fresh('d');
  return { d: DirHandle.open(path), path };
}

/** An opener that has no O_TMPFILE (as on a filesystem without it), so temporary names are used. */
const noTmpfile = (d: DirHandle) => (name: string | null) => {
  if (name === null) throw Object.assign(new Error('EOPNOTSUPP: operation not supported, open'), { code: 'EOPNOTSUPP' });
  return d.createFile(name);
};

const write = (p: PendingFile, text: string) => fs.writeSync(p.fd, text);

describe('PendingFile: unnamed (O_TMPFILE), then published', () => {
  it('has no name in the directory until published; then the name holds it', () => {
    const { d, path } = dir();
    const p = PendingFile.create(d);
    expect(p.named).toBe(false);
    write(p, 'complete');
    expect(fs.readdirSync(path)).toEqual([]);
    p.publish('file');
    const { ino } = p.stat; // while it is open
    p.close();
    expect(fs.readdirSync(path)).toEqual(['file']);
    expect(fs.readFileSync(join(path, 'file'), 'utf8')).toBe('complete');
    expect(fs.lstatSync(join(path, 'file')).ino).toBe(ino);
    expect(() => p.stat).toThrow(/used after close/);
    d.close();
  });

  it('closed unpublished, it leaves nothing', () => {
    const { d, path } = dir();
    const p = PendingFile.create(d);
    write(p, 'abandoned');
    p.close();
    expect(fs.readdirSync(path)).toEqual([]);
    d.close();
  });

  it('publish: an existing name, a symlink included, is EEXIST and not followed or changed', () => {
    const { d, path } = dir();
    const victim = join(fresh('victim'), 'precious');
    fs.writeFileSync(victim, 'untouched');
    fs.symlinkSync(victim, join(path, 'link'));
    fs.writeFileSync(join(path, 'file'), 'old');
    const p = PendingFile.create(d);
    write(p, 'new');
    expect(() => p.publish('link')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => p.publish('file')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    p.close();
    expect(fs.readFileSync(victim, 'utf8')).toBe('untouched');
    expect(fs.readFileSync(join(path, 'file'), 'utf8')).toBe('old');
    expect(fs.readdirSync(path).sort()).toEqual(['file', 'link']);
    d.close();
  });

  it('publishReplacing: replaces a file or symlink at the name in one rename, never following it', () => {
    const { d, path } = dir();
    const victim = join(fresh('victim'), 'precious');
    fs.writeFileSync(victim, 'untouched');
    fs.symlinkSync(victim, join(path, 'index.json'));
    const p = PendingFile.create(d);
    write(p, '{}');
    p.publishReplacing('index.json');
    p.close();
    expect(fs.readFileSync(join(path, 'index.json'), 'utf8')).toBe('{}');
    expect(fs.lstatSync(join(path, 'index.json')).isFile()).toBe(true);
    expect(fs.readFileSync(victim, 'utf8')).toBe('untouched');
    expect(fs.readdirSync(path)).toEqual(['index.json']);
    d.close();
  });

  it('publishOrReplace: a free name is linked; a taken one (a file, a symlink) replaced, never followed', () => {
    const { d, path } = dir();
    const victim = join(fresh('victim'), 'precious');
    fs.writeFileSync(victim, 'untouched');
    fs.symlinkSync(victim, join(path, 'link'));
    fs.writeFileSync(join(path, 'file'), 'torn');
    for (const [name, text] of [['free', 'a'], ['file', 'b'], ['link', 'c']] as const) {
      const p = PendingFile.create(d);
      write(p, text);
      p.publishOrReplace(name);
      const { ino } = p.stat;
      p.close();
      expect(fs.lstatSync(join(path, name)).ino).toBe(ino);
      expect(fs.readFileSync(join(path, name), 'utf8')).toBe(text);
    }
    expect(fs.readFileSync(victim, 'utf8')).toBe('untouched');
    expect(fs.readdirSync(path).sort()).toEqual(['file', 'free', 'link']);
    d.close();
  });

  it('refuses a name that is not one component', () => {
    const { d } = dir();
    const p = PendingFile.create(d);
    expect(() => p.publish('../escape')).toThrow(/not a single path component/);
    p.close();
    d.close();
  });
});

describe('PendingFile without O_TMPFILE: random temporary names', () => {
  it('uses a new random name each time (TEMP_NAME), gone once published or closed', () => {
    const { d, path } = dir();
    const a = PendingFile.create(d, noTmpfile(d));
    const b = PendingFile.create(d, noTmpfile(d));
    expect(a.named).toBe(true);
    const temps = fs.readdirSync(path);
    expect(temps).toHaveLength(2);
    for (const t of temps) expect(t).toMatch(TEMP_NAME);
    a.publish('a');
    a.close();
    b.close();
    expect(fs.readdirSync(path)).toEqual(['a']);
    d.close();
  });

  it('a temporary another process replaced before the publish: ReplacedError, and its file is not left under the name', () => {
    const { d, path } = dir();
    for (const publish of ['publish', 'publishReplacing'] as const) {
      const p = PendingFile.create(d, noTmpfile(d));
      write(p, 'mine');
      const temp = fs.readdirSync(path).find((n) => TEMP_NAME.test(n))!;
      // The other process moves the temporary away and puts its own file at that name.
      fs.renameSync(join(path, temp), join(path, 'moved'));
      fs.writeFileSync(join(path, temp), 'attacker');
      expect(() => p[publish]('target')).toThrow(ReplacedError);
      p.close();
      expect(fs.existsSync(join(path, 'target'))).toBe(false);
      fs.unlinkSync(join(path, 'moved'));
    }
    d.close();
  });

  it('an opener failing after it made the temporary (ENOSPC while writing): the temporary is removed', () => {
    const { d, path } = dir();
    expect(() => PendingFile.create(d, (name) => {
      if (name === null) throw Object.assign(new Error('no'), { code: 'EOPNOTSUPP' });
      fs.closeSync(d.createFile(name));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    })).toThrow(/ENOSPC/);
    expect(fs.readdirSync(path)).toEqual([]);
    d.close();
  });

  it('EEXIST for every random name ends after a few tries, not in an endless loop', () => {
    const { d } = dir();
    let tries = 0;
    expect(() => PendingFile.create(d, (name) => {
      if (name === null) throw Object.assign(new Error('no'), { code: 'EOPNOTSUPP' });
      tries++;
      throw Object.assign(new Error('EEXIST'), { code: 'EEXIST' });
    })).toThrow(/EEXIST/);
    expect(tries).toBeGreaterThan(1);
    expect(tries).toBeLessThan(10);
    d.close();
  });
});

describe('removeTemps: the leftovers of a killed writer', () => {
  it('removes regular files named exactly TEMP_NAME; a directory, a symlink or another name is left alone', () => {
    const { d, path } = dir();
    const temp = (c: string) => `.layerfs-tmp.${c.repeat(32)}`;
    fs.writeFileSync(join(path, temp('a')), 'left');
    fs.mkdirSync(join(path, temp('b')));
    fs.symlinkSync(join(path, temp('a')), join(path, temp('c')));
    for (const other of ['.layerfs-tmp-0123456789abcdef', `${temp('d')}.bak`, 'file']) fs.writeFileSync(join(path, other), '');
    const before = fs.readdirSync(path);
    removeTemps(d, before);
    expect(fs.readdirSync(path).sort()).toEqual(before.filter((n) => n !== temp('a')).sort());
    d.close();
  });

  it('a failure (here the lstat: EACCES) goes through `fail` with the name', () => {
    const name = `.layerfs-tmp.${'e'.repeat(32)}`;
    const denied = Object.assign(new Error('EACCES: permission denied, lstat'), { code: 'EACCES' });
    const d = { lstat: () => { throw denied; } } as unknown as DirHandle;
    expect(() => removeTemps(d, [name], (e, n) => new Error(`${n}: ${(e as Error).message}`))).toThrow(`${name}: EACCES`);
    expect(() => removeTemps(d, [name])).toThrow(denied);
  });
});

describe('PendingFile without the native addon', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('uses temporary names (an unnamed file could not be linked) and publishes as with the addon', async () => {
    vi.stubEnv('LAYERFS_NATIVE_ADDON', 'none');
    vi.resetModules();
    const { PendingFile: Pending } = await import('../../src/host/publish.js');
    const { DirHandle: Handle } = await import('../../src/host/dir-handle.js');
    const path = fresh('d');
    const d = Handle.open(path);
    const p = Pending.create(d);
    expect(p.named).toBe(true);
    fs.writeSync(p.fd, 'x');
    p.publish('f');
    p.close();
    expect(fs.readdirSync(path)).toEqual(['f']);
    d.close();
  });
});
