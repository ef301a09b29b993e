import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay, StatFs } from '../../src/index.js';
import { KernelOverlay } from '../kernel/kernel-overlay.js';
import { requireKernelOverlay } from '../kernel/require-kernel.js';
import { outcome, outcomeAsync, sides, type Side, type Tree } from './surface-harness.js';

/**
 * The smaller calls of issue 15 against Node 20 on a real directory with the same tree:
 * mkdtemp, readv/writev, the descriptor forms of chmod/chown/utimes/fdatasync, lchmod (which
 * Linux lacks), realpathSync.native, statfs (its f_type against a kernel overlay mount), rm's
 * options, stat with `bigint`, readdir with `encoding: 'buffer'` and Dirent's parentPath/path.
 */

const tree: Tree = {
  '/d/a': 'hello world',
  '/d/sub/c': 'c',
  '/d/rel': { type: 'symlink', linkTarget: 'sub/c' },
  '/d/loop': { type: 'symlink', linkTarget: 'loop' },
  '/d/dangling': { type: 'symlink', linkTarget: 'nowhere' },
  '/f': 'file',
};

type Call = (s: Side) => unknown;
function same(calls: Call[], fresh = false): void {
  let shared = fresh ? undefined : sides(tree);
  for (const [i, c] of calls.entries()) {
    const { real, ov } = fresh || !shared ? sides(tree) : shared;
    if (!fresh) shared = { real, ov };
    expect(outcome(() => c(ov), ov.root), `case ${i}: ${c.toString()}`).toEqual(outcome(() => c(real), real.root));
  }
}

describe('mkdtempSync / promises.mkdtemp', () => {
  it('makes prefix + six characters, mode 0700, named in the encoding asked for', async () => {
    const made = (s: Side, options?: unknown) => {
      const p = (s.fs.mkdtempSync as (p: string, o: unknown) => string | Buffer)(s.at('/d/tmp-'), options);
      const text = Buffer.isBuffer(p) ? p.toString() : options === 'hex' ? Buffer.from(p, 'hex').toString() : p;
      const st = s.fs.statSync(text);
      return { shape: text.split(s.root).join('').replace(/[A-Za-z0-9]{6}$/, 'XXXXXX'), buffer: Buffer.isBuffer(p), mode: st.mode.toString(8), dir: st.isDirectory() };
    };
    const { real, ov } = sides(tree);
    for (const options of [undefined, 'buffer', 'hex', { encoding: 'buffer' }]) expect(made(ov, options)).toEqual(made(real, options));
    expect(ov.ov!.mkdtempSync('/d/x')).not.toBe(ov.ov!.mkdtempSync('/d/x'));
    const viaPromise = async (s: Side) => String(await s.fs.promises.mkdtemp(s.at('/d/p-'))).split(s.root).join('').length;
    expect(await viaPromise(ov)).toBe(await viaPromise(real));
  });

  it('fails as Node does', async () => {
    same([
      (s) => (s.fs as typeof fs).mkdtempSync(s.at('/nope/x')),
      (s) => (s.fs as typeof fs).mkdtempSync(s.at('/f/x')),
      (s) => (s.fs as typeof fs).mkdtempSync(42 as never),
      (s) => (s.fs as typeof fs).mkdtempSync(s.at('/d/x'), { encoding: 'nope' as never }),
      (s) => (s.fs as typeof fs).mkdtempSync(s.at('/d/x\0')),
    ]);
    const { real, ov } = sides(tree);
    // The promise's error names the random name it tried.
    const c = async (s: Side) => JSON.parse(JSON.stringify(await outcomeAsync(() => s.fs.promises.mkdtemp(s.at('/nope/x')), s.root)).replace(/\/x[A-Za-z0-9]{6}/g, '/xRANDOM'));
    expect(await c(ov)).toEqual(await c(real));
  });
});

describe('readvSync / writevSync', () => {
  it('read and write buffers in order, at a position or the descriptor\'s', () => {
    same([
      (s) => {
        const fd = s.fs.openSync(s.at('/d/a'), 'r');
        const a = Buffer.alloc(3), b = Buffer.alloc(4), c = Buffer.alloc(20);
        const out = [s.fs.readvSync(fd, [a, b], 2), a.toString(), b.toString(), s.fs.readvSync(fd, [a]), a.toString(), s.fs.readvSync(fd, [c], null as never), c.toString('hex'), s.fs.readvSync(fd, [a, c], 'x' as never)];
        s.fs.closeSync(fd);
        return out;
      },
      (s) => {
        const fd = s.fs.openSync(s.at('/d/a'), 'r+');
        const out = [s.fs.writevSync(fd, [Buffer.from('AB'), new Uint8Array([67, 68])]), s.fs.writevSync(fd, [Buffer.from('xyz')], 8), s.fs.writevSync(fd, []), s.fs.writevSync(fd, [Buffer.from('!')])];
        s.fs.closeSync(fd);
        return [...out, s.fs.readFileSync(s.at('/d/a'), 'utf8')];
      },
      (s) => {
        const fd = s.fs.openSync(s.at('/d/new'), 'a');
        s.fs.writevSync(fd, [Buffer.from('one')], 0);
        s.fs.writevSync(fd, [Buffer.from('two')], 0);
        s.fs.closeSync(fd);
        return s.fs.readFileSync(s.at('/d/new'), 'utf8');
      },
    ], true);
  });

  it('fails as Node does', () => {
    same([
      (s) => s.fs.readvSync(999, [Buffer.alloc(1)]),
      (s) => s.fs.readvSync(999, []),
      (s) => s.fs.writevSync(999, [Buffer.alloc(1)]),
      (s) => s.fs.writevSync(999, []),
      (s) => s.fs.readvSync(-1, []),
      (s) => s.fs.readvSync('3' as never, []),
      (s) => s.fs.readvSync(3, 'x' as never),
      (s) => s.fs.readvSync(3, [Buffer.alloc(1), 'x'] as never),
      (s) => s.fs.writevSync(3, {} as never),
      (s) => {
        const fd = s.fs.openSync(s.at('/d/a'), 'r');
        try {
          return s.fs.writevSync(fd, [Buffer.from('x')]);
        } finally {
          s.fs.closeSync(fd);
        }
      },
      (s) => {
        const fd = s.fs.openSync(s.at('/d'), 'r');
        try {
          return s.fs.readvSync(fd, [Buffer.alloc(1)]);
        } finally {
          s.fs.closeSync(fd);
        }
      },
      (s) => {
        const fd = s.fs.openSync(s.at('/d/a'), 'r');
        try {
          return s.fs.readvSync(fd, []);
        } finally {
          s.fs.closeSync(fd);
        }
      },
    ]);
  });
});

describe('fchmodSync / fchownSync / futimesSync / fdatasyncSync', () => {
  const onFd = (flags: string, fn: (s: Side, fd: number) => unknown) => (s: Side) => {
    const fd = s.fs.openSync(s.at('/d/a'), flags);
    try {
      fn(s, fd);
      const st = s.fs.fstatSync(fd);
      // Times only where the call set them (the trees' own times differ: now on disk, 0 in the layer).
      const set = (t: number) => (t > 0 && t < 1e7 ? t : 'not set');
      return { mode: st.mode.toString(8), uid: st.uid, gid: st.gid, mtimeMs: set(st.mtimeMs), atimeMs: set(st.atimeMs) };
    } finally {
      s.fs.closeSync(fd);
    }
  };
  it('change the open file, read-only descriptors too (a lower file is copied up)', () => {
    same([
      onFd('r', (s, fd) => s.fs.fchmodSync(fd, 0o4751)),
      onFd('r', (s, fd) => s.fs.fchmodSync(fd, '640')),
      onFd('r+', (s, fd) => s.fs.fchownSync(fd, 12, 34)),
      onFd('r', (s, fd) => s.fs.fchownSync(fd, -1, 7)),
      onFd('r', (s, fd) => s.fs.futimesSync(fd, 1000, 2000.5)),
      onFd('r', (s, fd) => s.fs.futimesSync(fd, new Date(5000), '3')),
      onFd('r', (s, fd) => s.fs.fdatasyncSync(fd)),
    ], true);
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/x': 'x' })] });
    const fd = ov.openSync('/x', 'r');
    ov.fchmodSync(fd, 0o600);
    expect(ov.whereIs('/x').provider).toBe('upper');
    expect(ov.statSync('/x').mode & 0o7777).toBe(0o600);
    ov.closeSync(fd);
  });

  it('fail as Node does: the mode, owner and times before the descriptor', () => {
    same([
      (s) => s.fs.fchmodSync(999, 0o644),
      (s) => s.fs.fchmodSync(999, 'x' as never),
      (s) => s.fs.fchmodSync('x' as never, 0o644),
      (s) => s.fs.fchmodSync(10n as never, 0o644),
      (s) => s.fs.fchmodSync(1.5, 0o644),
      (s) => s.fs.fchmodSync(-1, 0o644),
      (s) => s.fs.fchownSync(999, 1, 1),
      (s) => s.fs.fchownSync(999, 1.5, 1),
      (s) => s.fs.fchownSync('x' as never, 1, -2),
      (s) => s.fs.futimesSync(999, 1, 1),
      (s) => s.fs.futimesSync(999, 'x' as never, 1),
      (s) => s.fs.futimesSync(999, 1, {} as never),
      (s) => s.fs.fdatasyncSync(999),
      (s) => s.fs.fdatasyncSync(-1),
      (s) => s.fs.fdatasyncSync('1' as never),
    ]);
  });
});

describe('lchmod', () => {
  it('is missing on Linux, and promises.lchmod rejects with ERR_METHOD_NOT_IMPLEMENTED, as Node 20', async () => {
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/l': { type: 'symlink', linkTarget: 'x' } })] });
    const loose = (o: object) => o as Record<string, unknown>;
    expect([typeof loose(ov).lchmodSync, typeof loose(ov).lchmod]).toEqual([typeof loose(fs).lchmodSync, typeof loose(fs).lchmod]);
    const call = (p: typeof fs.promises | Overlay['promises']) => (p as typeof fs.promises).lchmod('/l', 0o600);
    expect(await outcomeAsync(() => call(ov.promises), '')).toEqual(await outcomeAsync(() => call(fs.promises), ''));
  });
});

describe('realpathSync.native', () => {
  it('is realpath(3): symlinks resolved, errors named realpath', () => {
    same([
      (s) => (s.fs.realpathSync.native(s.at('/d/rel')) as string).split(s.root).join(''),
      (s) => (s.fs.realpathSync.native(s.at('/d/sub/../rel'), 'buffer') as Buffer).toString().split(s.root).join(''),
      (s) => s.fs.realpathSync.native(s.at('/d/nope')),
      (s) => s.fs.realpathSync.native(s.at('/d/loop')),
      (s) => s.fs.realpathSync.native(s.at('/d/dangling')),
      (s) => s.fs.realpathSync.native(s.at('/f/x')),
      (s) => s.fs.realpathSync.native(s.at('/f/')),
      (s) => s.fs.realpathSync.native(42 as never),
      (s) => s.fs.realpathSync.native(s.at('/d'), { encoding: 'nope' as never }),
    ]);
  });
});

describe('statfsSync / promises.statfs', () => {
  it('has Node\'s StatFs shape, numbers or BigInts, and fails as Node does', async () => {
    const { real, ov } = sides(tree);
    const shapeOf = (v: object) => Object.entries(v).map(([k, x]) => [k, typeof x]);
    expect(ov.fs.statfsSync('/')).toBeInstanceOf(StatFs);
    expect(shapeOf(ov.fs.statfsSync('/d'))).toEqual(shapeOf(fs.statfsSync(real.at('/d'))));
    expect(shapeOf(ov.fs.statfsSync('/d', { bigint: true }))).toEqual(shapeOf(fs.statfsSync(real.at('/d'), { bigint: true })));
    expect(shapeOf(await ov.fs.promises.statfs('/d', { bigint: true }))).toEqual(shapeOf(await fs.promises.statfs(real.at('/d'), { bigint: true })));
    const s = ov.fs.statfsSync('/');
    expect([s.bsize, s.files, s.ffree, s.bfree === s.bavail, s.blocks >= s.bfree]).toEqual([4096, 0, 0, true, true]);
    same([
      (x) => x.fs.statfsSync(x.at('/nope')),
      (x) => x.fs.statfsSync(x.at('/f/x')),
      (x) => x.fs.statfsSync(x.at('/d/loop')),
      (x) => x.fs.statfsSync(42 as never),
    ]);
  });

  if (requireKernelOverlay('statfs f_type on a kernel overlay mount')) {
    const k = new KernelOverlay([MemoryLayer.fromJSON({ '/a': 'a' })], { upperRoot: { mode: 0o755, uid: 0, gid: 0, atimeMs: 0, mtimeMs: 0 } });
    afterAll(() => k.dispose());
    it('reports the f_type statfs(2) gives on a kernel overlay mount (OVERLAYFS_SUPER_MAGIC)', () => {
      const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/a': 'a' })] });
      expect(ov.statfsSync('/a').type).toBe(fs.statfsSync(`${k.mountpoint}/a`).type);
      expect(ov.statfsSync('/a', { bigint: true }).type).toBe(fs.statfsSync(`${k.mountpoint}/a`, { bigint: true }).type);
    });
  }
});

describe('rmSync / promises.rm options, as Node validates them', () => {
  const options: unknown[] = [
    { maxRetries: -1 }, { maxRetries: 1.5 }, { maxRetries: '1' }, { maxRetries: 2 ** 32 }, { maxRetries: 3 },
    { retryDelay: -1 }, { retryDelay: 2 ** 31 }, { retryDelay: 'x' }, { retryDelay: 0.5 }, { retryDelay: 5 },
    { recursive: 1 }, { force: 'yes' }, { force: true, recursive: 'no' }, null, 'x', 7, [], { force: true },
  ];
  it('rmSync', () => {
    same(options.map((o) => (s: Side) => s.fs.rmSync(s.at('/nope'), o as never)));
    same(options.map((o) => (s: Side) => s.fs.rmSync(s.at('/f'), o as never)), true);
    same(options.map((o) => (s: Side) => s.fs.rmSync(s.at('/d'), o as never)), true);
  });
  it('promises.rm', async () => {
    for (const o of options) {
      for (const p of ['/nope', '/d']) {
        const { real, ov } = sides(tree);
        const c = (s: Side) => s.fs.promises.rm(s.at(p), o as never);
        expect(await outcomeAsync(() => c(ov), ''), JSON.stringify(o)).toEqual(await outcomeAsync(() => c(real), real.root));
      }
    }
  });
});

describe('statSync({ bigint: true }), readdirSync({ encoding: "buffer" }), Dirent.parentPath/path', () => {
  it('BigIntStats has every field of Node\'s, of the same types, the *Ns consistent with the *Ms and the Dates', () => {
    const { real, ov } = sides(tree);
    const mine = ov.fs.statSync('/d/a', { bigint: true });
    const node = fs.statSync(real.at('/d/a'), { bigint: true });
    const types = (v: object) => Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x instanceof Date ? 'Date' : typeof x]));
    expect(types(mine)).toEqual(types(node));
    for (const t of ['atime', 'mtime', 'ctime', 'birthtime'] as const) {
      for (const v of [mine, node]) {
        expect(v[`${t}Ms`], t).toBe(v[`${t}Ns`] / 1_000_000n);
        expect(v[t].getTime(), t).toBe(Number(v[`${t}Ms`]));
      }
    }
    const pick = (v: fs.BigIntStats) => [v.mtimeMs, v.mtimeNs, v.mtime.getTime(), v.isFile(), v.mode, v.size, v.nlink];
    const at = (ms: number) => {
      ov.fs.utimesSync('/d/a', ms / 1000, ms / 1000);
      fs.utimesSync(real.at('/d/a'), ms / 1000, ms / 1000);
      return [pick(ov.fs.statSync('/d/a', { bigint: true }) as unknown as fs.BigIntStats), pick(fs.statSync(real.at('/d/a'), { bigint: true }))];
    };
    for (const ms of [Date.UTC(2001, 2, 3), 1, 1234]) {
      const [o, r] = at(ms);
      expect(o, String(ms)).toEqual(r);
    }
    // A documented difference (docs/api.md): the overlay keeps times to the millisecond, so
    // the nanoseconds of a time given with a fraction of one are lost.
    const [o, r] = at(Date.UTC(2001, 2, 3) + 0.25);
    expect([o![1], r![1]]).toEqual([983577600000000000n, 983577600000249000n]);
    expect(outcome(() => ov.fs.statSync('/nope', { bigint: true, throwIfNoEntry: false }), '')).toEqual({ value: 'undefined' });
  });

  it('readdir with encoding buffer, with and without file types, recursive: the same names, parentPath and path as Node', () => {
    const { real, ov } = sides(tree);
    const norm = (v: unknown, root: string): unknown => {
      if (Buffer.isBuffer(v)) return `buf:${v.toString()}`;
      if (Array.isArray(v)) return v.map((x) => norm(x, root)).sort();
      if (v && typeof v === 'object') {
        const d = v as fs.Dirent;
        return { name: norm(d.name, root), parentPath: String(norm(d.parentPath, root)).split(root).join(''), path: String(norm(d.path, root)).split(root).join(''), dir: d.isDirectory() };
      }
      return v;
    };
    for (const options of [{ encoding: 'buffer' }, 'buffer', { encoding: 'buffer', withFileTypes: true }, { encoding: 'buffer', recursive: true, withFileTypes: true }, { withFileTypes: true, recursive: true }, { encoding: 'latin1', withFileTypes: true }]) {
      const list = (x: Side) => outcome(() => norm(x.fs.readdirSync(x.at('/d'), options as never), x.root), x.root);
      expect(list(ov), JSON.stringify(options)).toEqual(list(real));
    }
    const ents = ov.fs.readdirSync('/d', { withFileTypes: true });
    expect(ents.every((d) => d.path === d.parentPath)).toBe(true);
  });
});
