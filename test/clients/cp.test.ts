import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Overlay } from '../../src/index.js';
import { essentials, snapshot, type FsLike } from '../support/tree.js';
import { demoAndExport, scratch } from './export-demo.js';

/**
 * An fs-extra-style recursive copy inside the overlay (`ov.fs.cpSync` / `ov.fs.promises.cp` /
 * the callback `ov.fs.cp`) on the bundled image, against Node's own `fs.cpSync` of the same
 * tree in the image exported to a real directory: the copies must agree entry for entry
 * (type, mode, owner, size, content, link target, and with preserveTimestamps the times), the
 * source must stay where it was (a copy reads lower files, it copies nothing up), and the
 * upper layer must hold the copy and nothing else.
 */
const work = scratch('cp');
let ov: Overlay;
let dir: string;
beforeAll(async () => {
  ({ ov, dir } = await demoAndExport(work));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** Every entry of a tree with its essentials and, when asked, its mtime. */
function tree(f: FsLike, root: string, times: boolean): Record<string, unknown> {
  const snap = snapshot(f, root);
  const out = essentials(snap);
  if (times) for (const [p, e] of snap) if (p !== '/') out[p] = { ...(out[p] as object), mtime: e.mtime };
  return out;
}

describe('cp -r inside the overlay (ov.fs) against Node on the exported image', () => {
  const cases: Array<[string, string, fs.CopySyncOptions]> = [
    ['/etc', '/etc.copy', { recursive: true }],
    ['/usr', '/usr.copy', { recursive: true, preserveTimestamps: true }],
    ['/bin', '/opt/bin.copy', { recursive: true, filter: (src: string) => !src.endsWith('/sh'), verbatimSymlinks: true }],
  ];
  for (const [src, dest, options] of cases) {
    it(`cpSync ${src} ${dest} ${JSON.stringify(options)}`, () => {
      const realFilter = options.filter && ((s: string) => options.filter!(s.slice(dir.length) || '/', ''));
      fs.cpSync(join(dir, src), join(dir, dest), { ...options, ...(realFilter ? { filter: realFilter as never } : {}) });
      ov.fs.cpSync(src, dest, options);
      const real = tree(fs as unknown as FsLike, join(dir, dest), Boolean(options.preserveTimestamps));
      expect(Object.keys(real).length).toBeGreaterThan(2);
      expect(tree(ov.fs as unknown as FsLike, dest, Boolean(options.preserveTimestamps))).toEqual(real);
    });
  }

  it('the sources stay in their lower layers, and the upper layer holds only the copies', () => {
    for (const p of ['/etc/passwd', '/usr', '/bin']) expect(ov.whereIs(p).provider, p).not.toBe('upper');
    const upperTop = ov.upper.readdirSync('/').map(String).sort();
    expect(upperTop).toEqual(['etc.copy', 'opt', 'usr.copy']);
  });

  it('promises.cp and the callback cp give what cpSync gives', async () => {
    await ov.fs.promises.cp('/etc', '/etc.p', { recursive: true });
    await new Promise<void>((resolve, reject) => ov.fs.cp('/etc', '/etc.cb', { recursive: true }, (err) => (err ? reject(err) : resolve())));
    const sync = tree(ov.fs as unknown as FsLike, '/etc.copy', false);
    expect(tree(ov.fs as unknown as FsLike, '/etc.p', false)).toEqual(sync);
    expect(tree(ov.fs as unknown as FsLike, '/etc.cb', false)).toEqual(sync);
  });

  it('a copy into itself fails as Node fails (ERR_FS_CP_EINVAL), nothing written', () => {
    const node = (() => {
      try {
        fs.cpSync(join(dir, '/'), join(dir, '/srv/all'), { recursive: true });
      } catch (e) {
        return e as NodeJS.ErrnoException;
      }
    })();
    expect(node?.code).toBe('ERR_FS_CP_EINVAL');
    expect(() => ov.fs.cpSync('/', '/srv/all', { recursive: true })).toThrow(expect.objectContaining({ code: node!.code, name: node!.name }));
    expect(ov.fs.existsSync('/srv/all')).toBe(fs.existsSync(join(dir, '/srv/all')));
  });

  it('a copy onto an existing file with errorOnExist fails as Node fails', () => {
    const node = (() => {
      try {
        fs.cpSync(join(dir, '/etc/passwd'), join(dir, '/etc.copy/passwd'), { force: false, errorOnExist: true });
      } catch (e) {
        return e as NodeJS.ErrnoException;
      }
    })();
    expect(node?.code).toBe('ERR_FS_CP_EEXIST');
    expect(() => ov.fs.cpSync('/etc/passwd', '/etc.copy/passwd', { force: false, errorOnExist: true })).toThrow(expect.objectContaining({ code: node!.code, name: node!.name }));
  });
});
