import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Dir as OverlayDir, MemoryLayer, Overlay } from '../../src/index.js';
import { outcome, outcomeAsync, sides, snapshot, type Side, type Tree } from './surface-harness.js';

/**
 * opendir/Dir and cp/cpSync against Node 20's own on a real directory holding the same tree.
 */

const T = Date.UTC(2011, 1, 2);
const tree: Tree = {
  '/d/a': 'a',
  '/d/b': 'bb',
  '/d/sub/c': 'c',
  '/d/sub/deep/e': 'e',
  '/d/empty': null,
  '/d/rel': { type: 'symlink', linkTarget: 'a' },
  '/d/up': { type: 'symlink', linkTarget: '../d/sub' },
  '/d/ro': { type: 'file', content: 'read only', mode: 0o444 },
  '/d/exe': { type: 'file', content: '#!/bin/sh', mode: 0o755 },
  '/f': 'file',
  '/many': null,
  ...Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`/many/n${i}/x`, 'x'])),
  ...Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`/many/n0/y${i}`, 'y'])),
};

type AnyDirent = { name: unknown; parentPath: unknown; path: unknown; isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean };
const dirent = (d: AnyDirent | null, root: string) => d && { name: d.name, parentPath: String(d.parentPath).split(root).join(''), path: String(d.path).split(root).join(''), file: d.isFile(), dir: d.isDirectory(), link: d.isSymbolicLink() };

function readAll(s: Side, path: string, options?: fs.OpenDirOptions) {
  const dir = s.fs.opendirSync(s.at(path), options) as fs.Dir;
  const out = [];
  for (let d = dir.readSync(); d; d = dir.readSync()) out.push(dirent(d, s.root));
  dir.closeSync();
  return out;
}

const byName = (a: { name: unknown } | null, b: { name: unknown } | null) => String(a?.name).localeCompare(String(b?.name));

describe('opendirSync / Dir (against Node 20 on a real directory)', () => {
  const { real, ov } = sides(tree);

  it('reads the same entries (as a set: the kernel gives its own order, the overlay sorted), then null', () => {
    expect(readAll(ov, '/d').sort(byName)).toEqual(readAll(real, '/d').sort(byName));
    const dir = ov.fs.opendirSync('/d');
    expect(dir).toBeInstanceOf(OverlayDir);
    expect(dir.path).toBe('/d');
    while (dir.readSync() !== null);
    expect(dir.readSync()).toBe(null);
  });

  it('recursive with a small bufferSize: only the first batch of each subdirectory, as Node 20', () => {
    const opts = { recursive: true, bufferSize: 2 };
    const r = readAll(real, '/many', opts);
    const o = readAll(ov, '/many', opts);
    // Which names make a batch depends on the directory's order; the count and the shape do not.
    expect(o.length).toBe(r.length);
    expect(o.filter((d) => d!.dir).length).toBe(r.filter((d) => d!.dir).length);
    expect(readAll(ov, '/d', { recursive: true }).sort(byName)).toEqual(readAll(real, '/d', { recursive: true }).sort(byName));
  });

  it('names in an encoding, and as Buffers', () => {
    for (const encoding of ['buffer', 'hex', 'latin1'] as const) {
      const names = (s: Side) => readAll(s, '/d', { encoding: encoding as BufferEncoding }).map((d) => (Buffer.isBuffer(d!.name) ? `buf:${d!.name.toString('hex')}` : d!.name)).sort();
      expect(names(ov), encoding).toEqual(names(real));
    }
  });

  it('errors: a missing path, a file, bad options; closed and concurrent handles', async () => {
    const cases: Array<(s: Side) => unknown> = [
      (s) => s.fs.opendirSync(s.at('/nope')),
      (s) => s.fs.opendirSync(s.at('/f')),
      (s) => s.fs.opendirSync(s.at('/d'), { bufferSize: 0 }),
      (s) => s.fs.opendirSync(s.at('/d'), { bufferSize: 1.5 }),
      (s) => s.fs.opendirSync(s.at('/d'), { bufferSize: 'x' as never }),
      (s) => s.fs.opendirSync(s.at('/d'), { encoding: 'nope' as never }),
      (s) => s.fs.opendirSync(42 as never),
      (s) => {
        const d = s.fs.opendirSync(s.at('/d'));
        d.closeSync();
        return d.readSync();
      },
      (s) => {
        const d = s.fs.opendirSync(s.at('/d'));
        d.closeSync();
        d.closeSync();
      },
      (s) => {
        const d = s.fs.opendirSync(s.at('/d'));
        void d.read();
        return d.readSync();
      },
      (s) => {
        const d = s.fs.opendirSync(s.at('/d'));
        void d.read();
        d.closeSync();
      },
      (s) => {
        const d = s.fs.opendirSync(s.at('/d'));
        d.read(42 as never);
      },
    ];
    for (const [i, c] of cases.entries()) expect(outcome(() => c(ov), ov.root), `case ${i}`).toEqual(outcome(() => c(real), real.root));
    const asyncCases: Array<(s: Side) => Promise<unknown>> = [
      (s) => (s.fs.promises.opendir as typeof fs.promises.opendir)(s.at('/nope')),
      (s) => (s.fs.promises.opendir as typeof fs.promises.opendir)(s.at('/f')),
      async (s) => {
        const d = s.fs.opendirSync(s.at('/d'));
        await d.close();
        return d.close();
      },
      async (s) => {
        const d = s.fs.opendirSync(s.at('/d'));
        await d.close();
        return new Promise((resolve) => d.close((err) => resolve(err && { code: (err as NodeJS.ErrnoException).code, message: err.message })));
      },
      async (s) => {
        const d = s.fs.opendirSync(s.at('/d'));
        await d.close();
        return d.read();
      },
    ];
    for (const [i, c] of asyncCases.entries()) expect(await outcomeAsync(() => c(ov), ov.root), `async case ${i}`).toEqual(await outcomeAsync(() => c(real), real.root));
  });

  it('read() as a promise and with a callback, entries(), for await (which closes it)', async () => {
    const viaPromise = async (s: Side) => {
      const d = s.fs.opendirSync(s.at('/d/sub'));
      const out = [await d.read(), await d.read(), await d.read()];
      await d.close();
      return out.map((x) => dirent(x, s.root)?.name ?? null).sort();
    };
    expect(await viaPromise(ov)).toEqual(await viaPromise(real));
    const viaCallback = (s: Side) => new Promise((resolve, reject) => {
      const d = s.fs.opendirSync(s.at('/d/sub'));
      const names: Array<string | null> = [];
      const next = () => d.read((err, x) => {
        if (err) return reject(err);
        names.push(x ? String(x.name) : null);
        if (x) next();
        else d.close(() => resolve(names.sort()));
      });
      next();
    });
    expect(await viaCallback(ov)).toEqual(await viaCallback(real));
    const viaForAwait = async (s: Side) => {
      const d = await (s.fs.promises.opendir as typeof fs.promises.opendir)(s.at('/d'));
      const names = [];
      for await (const x of d) names.push(x.name);
      return { names: names.sort(), closed: outcome(() => d.closeSync(), s.root) };
    };
    expect(await viaForAwait(ov)).toEqual(await viaForAwait(real));
    const viaEntries = async (s: Side) => {
      const names = [];
      for await (const x of (s.fs.opendirSync(s.at('/d')) as unknown as { entries(): AsyncIterable<{ name: string }> }).entries()) names.push(x.name);
      return names.sort();
    };
    expect(await viaEntries(ov)).toEqual(await viaEntries(real));
  });

  it('has the members of Node 20\'s Dir (no Symbol.dispose or Symbol.asyncDispose there, so none here)', () => {
    const d = fs.opendirSync(real.at('/d'));
    const mine = ov.fs.opendirSync('/d');
    const members = (o: object) => [...Object.getOwnPropertyNames(Object.getPrototypeOf(o)), ...Object.getOwnPropertySymbols(Object.getPrototypeOf(o)).map(String)].filter((k) => !k.startsWith('Symbol(k') && k !== 'processReadResult' && k !== 'readSyncRecursive').sort();
    expect(members(mine)).toEqual(members(d));
    d.closeSync();
    mine.closeSync();
  });
});

describe('cpSync / promises.cp (against Node 20 on a real directory)', () => {
  const copies: Array<[string, (s: Side) => unknown]> = [
    ['a tree, recursive', (s) => s.fs.cpSync(s.at('/d'), s.at('/copy'), { recursive: true })],
    ['a tree, verbatim symlinks', (s) => s.fs.cpSync(s.at('/d'), s.at('/copy'), { recursive: true, verbatimSymlinks: true })],
    ['a tree, dereferenced', (s) => s.fs.cpSync(s.at('/d'), s.at('/copy'), { recursive: true, dereference: true })],
    ['a tree, filtered', (s) => s.fs.cpSync(s.at('/d'), s.at('/copy'), { recursive: true, filter: (src) => !src.endsWith('/b') && !src.endsWith('deep') })],
    ['a tree into a missing parent', (s) => s.fs.cpSync(s.at('/d'), s.at('/new/parent/copy'), { recursive: true })],
    // /d/sub has no symlinks: over an existing copy, the first symlink met fails (EINVAL), and
    // which one is met first is the real directory's order.
    ['a tree onto an existing copy (force)', (s) => {
      s.fs.cpSync(s.at('/d/sub'), s.at('/copy'), { recursive: true });
      s.fs.writeFileSync(s.at('/copy/c'), 'changed');
      s.fs.cpSync(s.at('/d/sub'), s.at('/copy'), { recursive: true });
    }],
    ['a tree onto an existing copy (no force: kept)', (s) => {
      s.fs.cpSync(s.at('/d/sub'), s.at('/copy'), { recursive: true });
      s.fs.writeFileSync(s.at('/copy/c'), 'changed');
      s.fs.cpSync(s.at('/d/sub'), s.at('/copy'), { recursive: true, force: false });
    }],
    ['a symlink onto a copy of itself', (s) => {
      s.fs.cpSync(s.at('/d/rel'), s.at('/copy'));
      s.fs.cpSync(s.at('/d/rel'), s.at('/copy'));
    }],
    ['a symlink onto a symlink elsewhere', (s) => {
      s.fs.symlinkSync('f', s.at('/copy'));
      s.fs.cpSync(s.at('/d/rel'), s.at('/copy'));
    }],
    ['a file', (s) => s.fs.cpSync(s.at('/d/a'), s.at('/copy'))],
    ['a file with a mode (COPYFILE_EXCL onto an existing one)', (s) => s.fs.cpSync(s.at('/d/a'), s.at('/f'), { mode: fs.constants.COPYFILE_EXCL })],
    ['a read-only file with its times', (s) => s.fs.cpSync(s.at('/d/ro'), s.at('/copy'), { preserveTimestamps: true })],
    ['a symlink', (s) => s.fs.cpSync(s.at('/d/rel'), s.at('/copy'))],
  ];
  for (const [name, copy] of copies) {
    it(`copies ${name} as Node does`, () => {
      const { real, ov } = sides(tree);
      const r = outcome(() => copy(real), real.root);
      const o = outcome(() => copy(ov), ov.root);
      expect(o).toEqual(r);
      expect(snapshot(ov.fs, '/', '')).toEqual(snapshot(fs, real.root, real.root));
      if (name.includes('times')) {
        // utimes takes a Date: milliseconds (Node rounds).
        const same = (s: Side) => Math.abs(s.fs.statSync(s.at('/copy')).mtimeMs - s.fs.statSync(s.at('/d/ro')).mtimeMs) < 1;
        expect([same(ov), same(real)]).toEqual([true, true]);
      }
    });
  }

  it('fails as Node does, with its SystemErrors and argument errors', () => {
    const failing: Array<(s: Side) => unknown> = [
      (s) => s.fs.cpSync(s.at('/d'), s.at('/copy')),
      (s) => s.fs.cpSync(s.at('/d'), s.at('/d/sub/inside'), { recursive: true }),
      (s) => s.fs.cpSync(s.at('/d'), s.at('/d'), { recursive: true }),
      (s) => s.fs.cpSync(s.at('/d'), s.at('/f'), { recursive: true }),
      (s) => s.fs.cpSync(s.at('/f'), s.at('/d')),
      (s) => s.fs.cpSync(s.at('/f'), s.at('/d/a'), { force: false, errorOnExist: true }),
      (s) => s.fs.cpSync(s.at('/nope'), s.at('/copy')),
      (s) => s.fs.cpSync(s.at('/d'), s.at('/copy'), { recursive: true, filter: (async () => true) as never }),
      (s) => s.fs.cpSync(s.at('/d'), s.at('/copy'), { dereference: true, verbatimSymlinks: true }),
      (s) => s.fs.cpSync(s.at('/d'), s.at('/copy'), { force: 'yes' as never }),
      (s) => s.fs.cpSync(s.at('/d'), s.at('/copy'), { filter: 'x' as never }),
      (s) => s.fs.cpSync(s.at('/d'), s.at('/copy'), { mode: 8 }),
      (s) => s.fs.cpSync(s.at('/d'), s.at('/copy'), 'x' as never),
      (s) => s.fs.cpSync(s.at('/d'), 42 as never),
      (s) => {
        s.fs.symlinkSync(s.at('/d/sub'), s.at('/lnk'));
        s.fs.cpSync(s.at('/d/up'), s.at('/lnk'));
      },
    ];
    for (const [i, c] of failing.entries()) {
      const { real, ov } = sides(tree);
      expect(outcome(() => c(ov), ov.root), `case ${i}`).toEqual(outcome(() => c(real), real.root));
    }
  });

  it('promises.cp: the same trees and errors (its ERR_FS_EISDIR has errno EISDIR, an async filter is awaited)', async () => {
    const cases: Array<(s: Side) => Promise<unknown>> = [
      (s) => s.fs.promises.cp(s.at('/d'), s.at('/copy'), { recursive: true, filter: async (src: string) => !src.endsWith('/a') }),
      (s) => s.fs.promises.cp(s.at('/d'), s.at('/copy')),
      (s) => s.fs.promises.cp(s.at('/d'), s.at('/d/x'), { recursive: true }),
      (s) => s.fs.promises.cp(s.at('/d'), s.at('/copy'), { recursive: true, filter: async () => { throw new Error('filter failed'); } }),
      (s) => s.fs.promises.cp(s.at('/d'), s.at('/copy'), { errorOnExist: 1 as never }),
    ];
    for (const [i, c] of cases.entries()) {
      const { real, ov } = sides(tree);
      expect(await outcomeAsync(() => c(ov), ov.root), `case ${i}`).toEqual(await outcomeAsync(() => c(real), real.root));
      expect(snapshot(ov.fs, '/', ''), `case ${i}`).toEqual(snapshot(fs, real.root, real.root));
    }
  });

  it('an fs-extra-style recursive copy inside the overlay: the lower source is read, never copied up', async () => {
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/src/a': { type: 'file', content: 'a', mode: 0o640, mtimeMs: T }, '/src/sub/b': 'b', '/src/l': { type: 'symlink', linkTarget: 'sub/b' } })] });
    const copiedUp: string[] = [];
    ov.on('copy-up', (e) => copiedUp.push(e.path));
    await ov.promises.cp('/src', '/dst', { recursive: true, preserveTimestamps: true });
    ov.cpSync('/src', '/dst2', { recursive: true, verbatimSymlinks: true });
    expect(copiedUp).toEqual([]);
    expect(Object.keys(ov.upper.toJSON()).sort()).toEqual(['/dst/a', '/dst/sub/b', '/dst2/a', '/dst2/sub/b']);
    expect(['/src', '/src/a', '/src/l', '/dst/l', '/dst2/l'].map((p) => ov.whereIs(p).provider)).toEqual([0, 0, 0, 'upper', 'upper']);
    expect(ov.statSync('/dst/a').mtimeMs).toBe(T);
    expect(ov.statSync('/dst/a').mode & 0o777).toBe(0o640);
    expect(ov.readlinkSync('/dst/l')).toBe('/src/sub/b');
    expect(ov.readlinkSync('/dst2/l')).toBe('sub/b');
  });
});
