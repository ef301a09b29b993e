import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryLayer, Overlay, type LayerJSON } from '../../src/index.js';
import { layerToTar } from '../support/to-tar.js';
import { scratch } from '../support/scratch.js';

/**
 * A file whose mode the umask keeps whole is created with it and not chmod'ed after
 * (write-file-at.ts): every mode must come out exact whatever the umask, with content or
 * without, from memory or from a layer file, with the native addon or without.
 */
const { work, fresh } = scratch('lfs-exportdir-modes-');
const MODES = [0o644, 0o600, 0o755, 0o777, 0o666, 0o444, 0o400, 0o000, 0o4755, 0o2711, 0o1644, 0o6777];
const UMASKS = [0o000, 0o022, 0o077, 0o777];

// In the target and in a directory made by the export (where, as root, a file already owned
// right is given no owner: the case of the mode set at creation).
const image: LayerJSON = { '/': { type: 'directory', mode: 0o755 }, '/sub': { type: 'directory', mode: 0o755 } };
for (const at of ['/', '/sub/']) {
  for (const mode of MODES) {
    image[`${at}empty-${mode.toString(8)}`] = { type: 'file', content: '', mode };
    image[`${at}full-${mode.toString(8)}`] = { type: 'file', content: `content of ${mode.toString(8)}`, mode };
    image[`${at}dir-${mode.toString(8)}`] = { type: 'directory', mode: mode | 0o700 };
  }
}
const expected = Object.entries(image).filter(([p]) => p !== '/').map(([p, e]) => `${p.slice(1)} ${((e as { mode: number }).mode).toString(8)}`).sort();
const modesOf = (dir: string) => execFileSync('find', ['.', '-mindepth', '1', '-printf', '%P %m\n'], { cwd: dir, encoding: 'utf8' }).trim().split('\n').sort();

describe('exportDir modes under every umask', () => {
  const saved = process.umask();
  afterEach(() => {
    process.umask(saved);
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  for (const addon of [true, false]) {
    it(`${addon ? 'with' : 'without'} the native addon: each file and directory has its mode exactly, from memory and from a layer file`, async () => {
      if (!addon) vi.stubEnv('LAYERFS_NATIVE_ADDON', 'none');
      vi.resetModules();
      const lib = await import('../../src/index.js');
      const tar = join(work, `layer-${addon}.tar`);
      fs.writeFileSync(tar, await layerToTar(MemoryLayer.fromJSON(image, 'L0')));
      const onDisk = await lib.TarLayer.from(tar);
      expect(onDisk.info.contentOnDisk).toBe(true);
      for (const umask of UMASKS) {
        process.umask(umask);
        for (const layer of [lib.MemoryLayer.fromJSON(image, 'L0'), onDisk]) {
          const out = fresh('out');
          new lib.Overlay({ lower: [layer] }).exportDir(out);
          expect(modesOf(out), `umask ${umask.toString(8)}, ${layer === onDisk ? 'layer file' : 'memory'}`).toEqual(expected);
          // Without root a mode without owner write still holds its content.
          expect(fs.readFileSync(join(out, 'sub/full-444'), 'utf8')).toBe('content of 444');
          execFileSync('chmod', ['-R', 'u+rwx', out]);
        }
      }
    });
  }

  it('the umask read for it is /proc/self/status\'s, never process.umask() (which sets it to 0 and back)', async () => {
    process.umask(0o027);
    const spy = vi.spyOn(process, 'umask');
    const out = fresh('out');
    new Overlay({ lower: [MemoryLayer.fromJSON({ '/f': { type: 'file', content: 'x', mode: 0o640 } }, 'L0')] }).exportDir(out);
    expect(spy).not.toHaveBeenCalled();
    expect(fs.statSync(join(out, 'f')).mode & 0o7777).toBe(0o640);
    spy.mockRestore();
  });
});

