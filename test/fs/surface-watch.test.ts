import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay, FSWatcher, StatWatcher } from '../../src/index.js';
import { KernelOverlay } from '../kernel/kernel-overlay.js';
import { requireKernelOverlay } from '../kernel/require-kernel.js';
import { outcome, outcomeAsync, sides, type Side, type Tree } from './surface-harness.js';

/**
 * fs.watch / watchFile / promises.watch on the overlay, driven by its own changes, against
 * Node 20's fs.watch (inotify) on a real directory and on a kernel overlay mount. The
 * operations of a batch run synchronously, as one turn of the event loop; then both sides
 * settle and the event lists are compared in order (inotify's queue merges equal events in
 * a row; in one synchronous batch that is deterministic).
 */

const tree: Tree = { '/d/a': 'a', '/d/sub/x': 'x', '/other': 'o' };
const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

type Op = (s: Side) => void;
const ops: Array<[string, Op]> = [
  ['create', (s) => s.fs.writeFileSync(s.at('/d/n'), 'x')],
  ['write an existing file', (s) => s.fs.writeFileSync(s.at('/d/a'), 'y')],
  ['write nothing', (s) => s.fs.writeFileSync(s.at('/d/a'), '')],
  ['chmod', (s) => s.fs.chmodSync(s.at('/d/a'), 0o600)],
  ['chown', (s) => s.fs.chownSync(s.at('/d/a'), 5, 6)],
  ['rename', (s) => {
    s.fs.writeFileSync(s.at('/d/n'), 'x');
    s.fs.renameSync(s.at('/d/n'), s.at('/d/m'));
  }],
  ['rename out and in', (s) => {
    s.fs.renameSync(s.at('/d/a'), s.at('/a2'));
    s.fs.renameSync(s.at('/other'), s.at('/d/o'));
  }],
  ['unlink', (s) => s.fs.unlinkSync(s.at('/d/a'))],
  ['mkdir and rmdir', (s) => {
    s.fs.mkdirSync(s.at('/d/s2'));
    s.fs.rmdirSync(s.at('/d/s2'));
  }],
  ['symlink and link', (s) => {
    s.fs.symlinkSync('a', s.at('/d/l'));
    s.fs.linkSync(s.at('/d/a'), s.at('/d/h'));
  }],
  ['truncate, utimes, append', (s) => {
    s.fs.truncateSync(s.at('/d/a'), 1);
    s.fs.utimesSync(s.at('/d/a'), 1, 1);
    s.fs.appendFileSync(s.at('/d/a'), 'z');
  }],
  ['a change below a subdirectory', (s) => s.fs.writeFileSync(s.at('/d/sub/x'), 'y')],
  ['copyFile', (s) => s.fs.copyFileSync(s.at('/d/a'), s.at('/d/c'))],
  ['rm -r of the subdirectory', (s) => s.fs.rmSync(s.at('/d/sub'), { recursive: true })],
  ['writes through a descriptor', (s) => {
    const fd = s.fs.openSync(s.at('/d/a'), 'r+');
    s.fs.writeSync(fd, 'A');
    s.fs.writeSync(fd, '');
    s.fs.ftruncateSync(fd, 5);
    s.fs.fchmodSync(fd, 0o640);
    s.fs.closeSync(fd);
  }],
];

/** The events of watching `paths` (a directory and a file in it) while `op` runs. */
async function events(s: Side, paths: string[], op: Op, options: fs.WatchOptions = {}): Promise<unknown[]> {
  const seen: unknown[] = [];
  const watchers = paths.map((p, i) => s.fs.watch(s.at(p), options, (type, name) => seen.push([i, type, Buffer.isBuffer(name) ? `buf:${name}` : name])));
  await settle(30);
  op(s);
  await settle();
  for (const w of watchers) w.close();
  return seen;
}

describe('fs.watch on the overlay, against inotify on a real directory', () => {
  for (const [name, op] of ops) {
    it(`${name}: the same events, in the same order, for a watched directory and a watched file in it`, async () => {
      const { real, ov } = sides(tree);
      const r = await events(real, ['/d', '/d/a'], op);
      const o = await events(ov, ['/d', '/d/a'], op);
      expect(o).toEqual(r);
    });
  }

  for (const [name, op] of [
    ['rm -r', (s: Side) => s.fs.rmSync(s.at('/d/sub'), { recursive: true })],
    ['chmod', (s: Side) => s.fs.chmodSync(s.at('/d/sub'), 0o700)],
    ['utimes', (s: Side) => s.fs.utimesSync(s.at('/d/sub'), 5, 5)],
  ] as Array<[string, Op]>) {
    it(`${name} of a watched directory: its own events and its parent's`, async () => {
      const { real, ov } = sides(tree);
      expect(await events(ov, ['/d/sub', '/d'], op)).toEqual(await events(real, ['/d/sub', '/d'], op));
    });
  }

  it('filenames in the encoding asked for; a watched file reports its basename', async () => {
    const { real, ov } = sides(tree);
    const op: Op = (s) => s.fs.writeFileSync(s.at('/d/a'), 'q');
    for (const encoding of ['buffer', 'hex'] as const) expect(await events(ov, ['/d', '/d/a'], op, { encoding })).toEqual(await events(real, ['/d', '/d/a'], op, { encoding }));
  });

  it('a watcher of a symlink watches its target (inotify follows it)', async () => {
    const { real, ov } = sides({ ...tree, '/d/la': { type: 'symlink', linkTarget: 'a' } });
    const op: Op = (s) => s.fs.writeFileSync(s.at('/d/a'), 'q');
    expect(await events(ov, ['/d/la'], op)).toEqual(await events(real, ['/d/la'], op));
  });

  it('close() emits close once, on a later tick; ref/unref return the watcher; a missing path throws as Node', async () => {
    const { real, ov } = sides(tree);
    const life = async (s: Side) => {
      const w = s.fs.watch(s.at('/d'));
      const log: string[] = [];
      w.on('close', () => log.push('close'));
      log.push(String(w.ref() === w), String(w.unref() === w));
      w.close();
      log.push('closed');
      w.close();
      await settle(10);
      return log;
    };
    expect(await life(ov)).toEqual(await life(real));
    expect(ov.fs.watch('/d')).toBeInstanceOf(FSWatcher);
    for (const bad of [(s: Side) => s.fs.watch(s.at('/nope')), (s: Side) => s.fs.watch(42 as never), (s: Side) => s.fs.watch(s.at('/d'), 'nope' as never)]) {
      const shapeOf = (s: Side) => {
        const o = outcome(() => bad(s), s.root) as Record<string, unknown>;
        return o;
      };
      expect(shapeOf(ov)).toEqual(shapeOf(real));
    }
    for (const w of [ov.fs.watch('/d')]) w.close();
  });

  it('an AbortSignal closes the watcher', async () => {
    const { real, ov } = sides(tree);
    const run = async (s: Side) => {
      const ac = new AbortController();
      const log: string[] = [];
      const w = s.fs.watch(s.at('/d'), { signal: ac.signal }, (t, f) => log.push(`${t} ${f}`));
      w.on('close', () => log.push('close'));
      ac.abort();
      s.fs.writeFileSync(s.at('/d/a'), 'late');
      await settle();
      return log;
    };
    expect(await run(ov)).toEqual(await run(real));
  });

  it('recursive (Node 20 on Linux watches in JavaScript): after each step settles, the same set of events', async () => {
    const { real, ov } = sides(tree);
    const steps: Op[] = [
      (s) => s.fs.writeFileSync(s.at('/d/sub/new'), 'y'),
      (s) => s.fs.writeFileSync(s.at('/d/sub/x'), 'changed'),
      (s) => s.fs.chmodSync(s.at('/d/sub/x'), 0o600),
      (s) => s.fs.unlinkSync(s.at('/d/sub/new')),
      (s) => s.fs.mkdirSync(s.at('/d/sub/deeper')),
    ];
    const run = async (s: Side) => {
      const seen: string[][] = [];
      const w = s.fs.watch(s.at('/d'), { recursive: true });
      await settle(50);
      for (const step of steps) {
        const now = new Set<string>();
        const on = (t: string, f: string) => now.add(`${t} ${f}`);
        w.on('change', on);
        step(s);
        await settle(200);
        w.off('change', on);
        seen.push([...now].sort());
      }
      w.close();
      return seen;
    };
    expect(await run(ov)).toEqual(await run(real));
  });
});

describe('promises.watch', () => {
  it('yields { eventType, filename } and ends with an AbortError when the signal aborts, as Node', async () => {
    const { real, ov } = sides(tree);
    const run = async (s: Side) => {
      const ac = new AbortController();
      const got: unknown[] = [];
      const iter = (s.fs.promises.watch as typeof fs.promises.watch)(s.at('/d'), { signal: ac.signal });
      setTimeout(() => s.fs.writeFileSync(s.at('/d/n'), 'x'), 50);
      const result = await outcomeAsync(async () => {
        for await (const e of iter) {
          got.push(e);
          if (got.length === 2) ac.abort();
        }
      }, s.root);
      return { got, result };
    };
    expect(await run(ov)).toEqual(await run(real));
  });

  it('checks its arguments at the first next(), as Node', async () => {
    const { real, ov } = sides(tree);
    const bad: Array<(s: Side) => unknown> = [
      (s) => s.fs.promises.watch(s.at('/d'), { persistent: 1 } as never),
      (s) => s.fs.promises.watch(s.at('/d'), { recursive: 'x' } as never),
      (s) => s.fs.promises.watch(s.at('/d'), { signal: {} } as never),
      (s) => s.fs.promises.watch(s.at('/d'), { encoding: 'nope' } as never),
      (s) => s.fs.promises.watch(s.at('/d'), 'x' as never),
      (s) => s.fs.promises.watch(s.at('/nope')),
      (s) => s.fs.promises.watch(42 as never),
      (s) => {
        const ac = new AbortController();
        ac.abort();
        return s.fs.promises.watch(s.at('/d'), { signal: ac.signal });
      },
    ];
    for (const [i, b] of bad.entries()) {
      const first = (s: Side) => outcomeAsync(async () => {
        const it = b(s) as AsyncIterator<unknown>;
        return it.next();
      }, s.root);
      expect(await first(ov), `case ${i}`).toEqual(await first(real));
    }
  });
});

describe('watchFile / unwatchFile', () => {
  it('polls the overlay\'s stat: (curr, prev) on a change, zeros when the file goes; one StatWatcher per file', async () => {
    const { real, ov } = sides(tree);
    const run = async (s: Side) => {
      const log: unknown[] = [];
      const listener = (curr: fs.Stats, prev: fs.Stats) => log.push({ curr: [curr.size, curr.nlink, curr.mode & 0o777], prev: [prev.size, prev.nlink, prev.mode & 0o777] });
      const w1 = s.fs.watchFile(s.at('/d/a'), { interval: 20 }, listener);
      const w2 = s.fs.watchFile(s.at('/d/a'), { interval: 20 }, () => {});
      const same = w1 === w2;
      await settle(60);
      // One write(2): libuv polls stat(2) from its thread pool, so writeFileSync's truncate
      // and write could be seen apart on the real side, which the overlay never shows.
      s.fs.appendFileSync(s.at('/d/a'), 'longer');
      await settle(120);
      s.fs.chmodSync(s.at('/d/a'), 0o600);
      await settle(120);
      s.fs.unlinkSync(s.at('/d/a'));
      await settle(120);
      s.fs.unwatchFile(s.at('/d/a'));
      s.fs.writeFileSync(s.at('/d/a'), 'again');
      await settle(120);
      return { same, log };
    };
    expect(await run(ov)).toEqual(await run(real));
    const bigint = async (s: Side) => {
      const got: string[] = [];
      s.fs.watchFile(s.at('/other'), { interval: 20, bigint: true }, (curr: fs.BigIntStats, prev: fs.BigIntStats) => got.push(`${typeof curr.size} ${curr.size} ${prev.size} ${typeof curr.mtimeNs}`));
      await settle(50);
      s.fs.appendFileSync(s.at('/other'), 'bigger');
      await settle(120);
      s.fs.unwatchFile(s.at('/other'));
      return got;
    };
    expect(await bigint(ov)).toEqual(await bigint(real));
    const w = ov.ov!.watchFile('/other', { interval: 20, bigint: true }, () => {});
    expect(w).toBeInstanceOf(StatWatcher);
    ov.ov!.unwatchFile('/other');
    expect(outcome(() => ov.fs.watchFile('/d/a', {} as never, undefined as never), '')).toEqual(outcome(() => fs.watchFile(real.at('/d/a'), {}, undefined as never), real.root));
  });
});

if (requireKernelOverlay('fs.watch on a kernel overlay mount')) {
  describe('fs.watch of lower objects, against inotify on a kernel overlay mount (copy-up raises no events)', () => {
    const layers = () => [MemoryLayer.fromJSON({ '/d/a': 'a', '/d/b': 'b', '/d/sub/x': 'x' })];
    const mounts: KernelOverlay[] = [];
    afterAll(() => mounts.forEach((k) => k.dispose()));
    const lowerOps: Array<[string, Op]> = [
      ['write (copy-up)', (s) => s.fs.writeFileSync(s.at('/d/a'), 'y')],
      ['open for writing only (copy-up)', (s) => s.fs.closeSync(s.fs.openSync(s.at('/d/a'), 'r+'))],
      ['chmod (copy-up)', (s) => s.fs.chmodSync(s.at('/d/a'), 0o600)],
      ['unlink (whiteout)', (s) => s.fs.unlinkSync(s.at('/d/b'))],
      ['rename of a lower file', (s) => s.fs.renameSync(s.at('/d/b'), s.at('/d/b2'))],
      ['rm -r of a lower directory', (s) => s.fs.rmSync(s.at('/d/sub'), { recursive: true })],
      ['mkdir over a whiteout (opaque)', (s) => {
        s.fs.rmSync(s.at('/d/sub'), { recursive: true });
        s.fs.mkdirSync(s.at('/d/sub'));
      }],
    ];
    for (const [name, op] of lowerOps) {
      it(name, async () => {
        const k = new KernelOverlay(layers(), { upperRoot: { mode: 0o755, uid: 0, gid: 0, atimeMs: 0, mtimeMs: 0 } });
        mounts.push(k);
        const kernel: Side = { fs, at: (p) => k.mountpoint + p, root: k.mountpoint };
        const ov: Side = { fs: new Overlay({ lower: layers() }), at: (p) => p, root: '' };
        expect(await events(ov, ['/d', '/d/a'], op)).toEqual(await events(kernel, ['/d', '/d/a'], op));
      });
    }
  });
}
