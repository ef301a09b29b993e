import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openImage, saveImage, SaveImageError } from '../../src/index.js';
import { DEMO } from '../support/save-check.js';

/**
 * A directory saveImage makes, replaced by another process between its mkdir(2) and its
 * open: the other process is played here by a hook run right after the real mkdir, which
 * moves the new directory away and makes one of its own (mode 0777) at the name. The
 * directory opened must be refused (DirHandle.makeDir: owned by this user with the mode it
 * was made with), never written into.
 */
let replace: string | undefined;
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const mkdirSync = ((path: fs.PathLike, options?: fs.MakeDirectoryOptions | fs.Mode | null) => {
    const made = real.mkdirSync(path, options as fs.MakeDirectoryOptions);
    const p = String(path);
    if (replace !== undefined && basename(p) === replace) {
      replace = undefined;
      real.renameSync(p, `${p}.taken`);
      real.mkdirSync(p);
      real.chmodSync(p, 0o777);
    }
    return made;
  }) as typeof fs.mkdirSync;
  return { ...real, default: { ...real, mkdirSync }, mkdirSync };
});

const work = fs.mkdtempSync(join(tmpdir(), 'lfs-savereplaced-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
afterEach(() => void (replace = undefined));
let n = 0;

describe('saveImage when a directory it made is replaced before it is opened', () => {
  it.each([
    ['the target', 'out', (t: string) => t],
    ['blobs', 'blobs', (t: string) => join(t, 'blobs')],
    ['blobs/sha256', 'sha256', (t: string) => join(t, 'blobs', 'sha256')],
  ])('%s: ERR_TARGET_CHANGED naming it, nothing written into the replacement', async (_label, name, path) => {
    const target = join(work, `case-${n++}`, 'out');
    const base = await openImage(DEMO);
    const ov = base.overlay();
    ov.writeFileSync('/etc/motd', 'changed\n');
    replace = name;
    const err = await saveImage(ov, target, { base }).then(() => undefined, (e: unknown) => e);
    expect(replace, 'the hook ran').toBeUndefined();
    expect(err).toBeInstanceOf(SaveImageError);
    expect(err).toMatchObject({ code: 'ERR_TARGET_CHANGED', path: path(target) });
    expect(fs.readdirSync(path(target))).toEqual([]);
  });
});
