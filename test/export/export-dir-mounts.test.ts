import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExportError, MemoryLayer, Overlay, type LayerJSON } from '../../src/index.js';
import { scratch } from '../support/scratch.js';

// overwrite and mount points in the target: like rm --one-file-system, exportDir never
// removes or fills what is mounted there (a bind mount of a host directory, another
// filesystem), whether or not it is the same filesystem (a bind mount keeps st_dev).
const isRoot = process.getuid?.() === 0;
const { fresh } = scratch('lfs-exportdir-mounts-');
const mounts: string[] = [];
afterEach(() => {
  for (const m of mounts.splice(0).reverse()) execFileSync('umount', ['-l', m]);
});
/** Bind-mounts `from` on `on` (unmounted after the test, even when it fails). */
const bind = (from: string, on: string) => {
  execFileSync('mount', ['--bind', from, on]);
  mounts.push(on);
};
/** Mounts a new tmpfs on `on`. */
const tmpfs = (on: string) => {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'lfs-test', on]);
  mounts.push(on);
};

const image: LayerJSON = {
  '/kept/f0': 'image content',
  '/kept/sub/f1': 'image content',
  '/was-dir': 'a file in the image',
};
const overlay = () => new Overlay({ lower: [MemoryLayer.fromJSON(image, 'L0')] });

/** A host directory of precious files, standing for what an administrator mounted. */
const HOST_FILES = ['f0', 'f1', 'sub/f1'];
function hostDir(): string {
  const d = fresh('host');
  fs.mkdirSync(join(d, 'sub'));
  for (const f of HOST_FILES) fs.writeFileSync(join(d, f), 'host data');
  return d;
}
const untouched = (d: string) => {
  expect(execFileSync('find', ['.', '-type', 'f'], { cwd: d, encoding: 'utf8' }).split('\n').filter(Boolean).sort()).toEqual(HOST_FILES.map((f) => `./${f}`));
  for (const f of HOST_FILES) expect(fs.readFileSync(join(d, f), 'utf8')).toBe('host data');
};
const refused = (target: string, at: string) => {
  let error: unknown;
  try {
    overlay().exportDir(target, { overwrite: true });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ExportError);
  expect(error).toMatchObject({ code: 'ERR_MOUNT_POINT', path: join(target, at) });
};

describe.skipIf(!isRoot)('exportDir overwrite never crosses a mount point in the target', () => {
  for (const kind of ['a bind mount (same filesystem, same st_dev)', 'a tmpfs (another filesystem)'] as const) {
    const mountOn = (on: string) => {
      const host = hostDir();
      if (kind.startsWith('a bind')) {
        bind(host, on);
        return host;
      }
      tmpfs(on);
      fs.cpSync(host, on, { recursive: true });
      return on;
    };

    it(`${kind} where the image has a file: not emptied`, () => {
      const target = fresh('target');
      fs.mkdirSync(join(target, 'was-dir'));
      const host = mountOn(join(target, 'was-dir'));
      refused(target, 'was-dir');
      untouched(host);
    });

    it(`${kind} deeper in a directory being removed: not emptied`, () => {
      const target = fresh('target');
      fs.mkdirSync(join(target, 'was-dir', 'inner'), { recursive: true });
      fs.writeFileSync(join(target, 'was-dir', 'a'), 'old export');
      const host = mountOn(join(target, 'was-dir', 'inner'));
      refused(target, 'was-dir/inner');
      untouched(host);
    });

    it(`${kind} where the image has a directory: its files are not replaced`, () => {
      const target = fresh('target');
      overlay().exportDir(target);
      const host = mountOn(join(target, 'kept'));
      refused(target, 'kept');
      untouched(host);
    });

    it(`${kind} inside a kept directory where the image has a directory: not filled`, () => {
      const target = fresh('target');
      overlay().exportDir(target);
      const host = mountOn(join(target, 'kept', 'sub'));
      refused(target, 'kept/sub');
      untouched(host);
    });
  }
});
