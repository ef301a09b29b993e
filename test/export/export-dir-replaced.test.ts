import * as fs from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryLayer, Overlay, type LayerJSON } from '../../src/index.js';
import { scratch } from '../support/scratch.js';
import { exportFailure } from './support/export-failure.js';

/**
 * A name exportDir just made, replaced by another process before exportDir opens it again:
 * the other process is played by a hook run right after the real mkdirSync or symlinkSync of
 * the name `replace.name`, which moves what was made away and puts `replace.with` in its place.
 * What exportDir then finds must be refused (DirHandle.makeDir: owner and mode; entry-writer's
 * withMade: type and owner), never written into or given metadata.
 */
let replace: { name: string; with: (path: string) => void } | undefined;
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const after = (path: fs.PathLike) => {
    const p = String(path);
    if (replace === undefined || basename(p) !== replace.name) return;
    const r = replace;
    replace = undefined;
    real.renameSync(p, `${p}.taken`);
    r.with(p);
  };
  const mkdirSync = ((path: fs.PathLike, options?: fs.MakeDirectoryOptions | fs.Mode | null) => {
    const made = real.mkdirSync(path, options as fs.MakeDirectoryOptions);
    after(path);
    return made;
  }) as typeof fs.mkdirSync;
  const symlinkSync = ((target: fs.PathLike, path: fs.PathLike, type?: fs.symlink.Type | null) => {
    real.symlinkSync(target, path, type);
    after(path);
  }) as typeof fs.symlinkSync;
  return { ...real, default: { ...real, mkdirSync, symlinkSync }, mkdirSync, symlinkSync };
});
afterEach(() => void (replace = undefined));

const isRoot = process.getuid?.() === 0;
const { fresh } = scratch('lfs-exportdir-replaced-');
const overlay = (json: LayerJSON) => new Overlay({ lower: [MemoryLayer.fromJSON(json, 'L0')] });

describe('exportDir when a name it made is replaced before it is opened again', () => {
  it('a directory replaced by one of mode 0777: refused (ERR_TARGET_CHANGED), nothing written into it', () => {
    const target = fresh('target');
    replace = { name: 'd', with: (p) => (fs.mkdirSync(p), fs.chmodSync(p, 0o777)) };
    const err = exportFailure(() => overlay({ '/d/f': 'x' }).exportDir(target));
    expect(replace, 'the hook ran').toBeUndefined();
    expect(err).toMatchObject({ code: 'ERR_TARGET_CHANGED', path: join(target, 'd') });
    expect(fs.readdirSync(join(target, 'd'))).toEqual([]);
  });

  it.runIf(isRoot)("a directory replaced by another user's, of the same mode 0700: refused, nothing written into it", () => {
    const target = fresh('target');
    replace = { name: 'd', with: (p) => (fs.mkdirSync(p, 0o700), fs.chownSync(p, 65534, 65534)) };
    const err = exportFailure(() => overlay({ '/d/f': 'x' }).exportDir(target));
    expect(err).toMatchObject({ code: 'ERR_TARGET_CHANGED', path: join(target, 'd') });
    expect(fs.readdirSync(join(target, 'd'))).toEqual([]);
  });

  it('a symlink replaced by a regular file: refused, the file given no mode or times', () => {
    const target = fresh('target');
    replace = { name: 'l', with: (p) => fs.writeFileSync(p, 'planted', { mode: 0o600 }) };
    const err = exportFailure(() => overlay({ '/l': { type: 'symlink', linkTarget: 'x', mtimeMs: 1e12 } }).exportDir(target));
    expect(err).toMatchObject({ code: 'ERR_TARGET_CHANGED', path: join(target, 'l') });
    expect(fs.lstatSync(join(target, 'l'))).toMatchObject({ mode: 0o100600 });
    expect(fs.lstatSync(join(target, 'l')).mtimeMs).not.toBe(1e12);
  });

  it.runIf(isRoot)("a symlink replaced by another user's symlink: refused, not given this entry's owner or times", () => {
    const target = fresh('target');
    replace = { name: 'l', with: (p) => (fs.symlinkSync('elsewhere', p), fs.lchownSync(p, 65534, 65534)) };
    const err = exportFailure(() => overlay({ '/l': { type: 'symlink', linkTarget: 'x', uid: 7, gid: 7, mtimeMs: 1e12 } }).exportDir(target));
    expect(err).toMatchObject({ code: 'ERR_TARGET_CHANGED', path: join(target, 'l') });
    expect(fs.lstatSync(join(target, 'l'))).toMatchObject({ uid: 65534, gid: 65534 });
    expect(fs.lstatSync(join(target, 'l')).mtimeMs).not.toBe(1e12);
  });
});
