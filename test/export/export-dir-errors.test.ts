import * as fs from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryLayer, Overlay, type LayerJSON } from '../../src/index.js';
import { scratch } from '../support/scratch.js';
import { exportFailure } from './support/export-failure.js';

/**
 * Another process that makes a name again right after overwrite removed it: played by a hook
 * run right after the real unlinkSync of a name called `replant`, which writes a file of its
 * own there.
 */
let replant: string | undefined;
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const unlinkSync = ((path: fs.PathLike) => {
    real.unlinkSync(path);
    if (replant !== undefined && basename(String(path)) === replant) {
      replant = undefined;
      real.writeFileSync(path, 'put back by another process');
    }
  }) as typeof fs.unlinkSync;
  return { ...real, default: { ...real, unlinkSync }, unlinkSync };
});
afterEach(() => void (replant = undefined));

const isRoot = process.getuid?.() === 0;
const { fresh } = scratch('lfs-exportdir-errors-');
const overlay = (json: LayerJSON) => new Overlay({ lower: [MemoryLayer.fromJSON(json, 'L0')] });

describe('ExportError: code and message', () => {
  it("messages name the entry's own path, never a /proc/self/fd path, whatever the name holds and whatever the call", () => {
    const names = ["it's", "a'b -> 'c", 'plain'];
    const kinds: Record<string, LayerJSON[string]> = {
      file: 'content',
      empty: '',
      dir: { type: 'directory' },
      symlink: { type: 'symlink', linkTarget: "'/target'" },
      fifo: { type: 'fifo' },
    };
    for (const name of names) {
      for (const [kind, entry] of Object.entries(kinds)) {
        const target = fresh('target');
        fs.writeFileSync(join(target, name), 'already there');
        const err = exportFailure(() => overlay({ [`/${name}`]: entry }).exportDir(target, { allowNonEmpty: true }));
        expect(err.message, `${kind} ${name}`).not.toMatch(/\/proc\//);
        expect(err).toMatchObject({ code: 'EEXIST', path: join(target, name) });
        expect(err.message).toMatch(new RegExp(`^${target}/.*: EEXIST: file already exists, \\w+ \\(already in the target`));
      }
    }
    const target = fresh('target');
    fs.writeFileSync(join(target, "z'w"), '');
    const err = exportFailure(() => overlay({ "/x'y": 'content', "/z'w": { type: 'hardlink', target: "/x'y" } }).exportDir(target, { allowNonEmpty: true }));
    expect(err.message).not.toMatch(/\/proc\//);
    expect(err).toMatchObject({ code: 'EEXIST', path: join(target, "z'w") });
  });

  it('a refusal is an errno (ENOENT for a missing target) or a documented ERR_* code (ERR_NOT_EMPTY)', () => {
    expect(exportFailure(() => overlay({ '/f': 'x' }).exportDir(join(fresh('t'), 'missing')))).toMatchObject({ code: 'ENOENT' });
    const full = fresh('full');
    fs.writeFileSync(join(full, 'other'), '');
    expect(exportFailure(() => overlay({ '/f': 'x' }).exportDir(full))).toMatchObject({ code: 'ERR_NOT_EMPTY', path: full });
  });

  it('overwrite: a name another process makes again after it was removed is ERR_TARGET_CHANGED, and what it put there is kept', () => {
    for (const entry of ['content', '', { type: 'symlink' as const, linkTarget: 'x' }]) {
      const target = fresh('target');
      fs.writeFileSync(join(target, 'name'), 'old export');
      replant = 'name';
      const err = exportFailure(() => overlay({ '/name': entry }).exportDir(target, { overwrite: true }));
      expect(replant, 'the hook ran').toBeUndefined();
      expect(err).toMatchObject({ code: 'ERR_TARGET_CHANGED', path: join(target, 'name') });
      expect(fs.readFileSync(join(target, 'name'), 'utf8')).toBe('put back by another process');
    }
  });
});

describe.skipIf(!isRoot)('ExportError codes when another process replaces what was made', () => {
  it('a directory swapped for a symlink while it exports: ERR_TARGET_CHANGED', () => {
    const target = fresh('target');
    const outside = fresh('outside');
    const err = exportFailure(() => overlay({ '/a/one': '1', '/a/two': '2' }).exportDir(target, {
      onProgress: ({ path }) => {
        if (path !== 'a/') return;
        fs.renameSync(join(target, 'a'), join(target, 'a.moved'));
        fs.symlinkSync(outside, join(target, 'a'));
      },
    }));
    expect(err.code).toBe('ERR_TARGET_CHANGED');
  });
});
