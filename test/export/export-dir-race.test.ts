import { spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ExportError, MemoryLayer, Overlay, type LayerJSON } from '../../src/index.js';
import { snapshot, type FsLike } from '../support/tree.js';

// A second process, unprivileged (nobody, through setpriv) and as root, swaps the target's
// directories for symlinks to a victim directory while exportDir writes, or exchanges a file
// of its own with the temporaries it sees (issue 13; docs/export.md has what the export
// before this design did).
const SUPPORT = join(dirname(fileURLToPath(import.meta.url)), 'support');
const RUNS = Number(process.env.LAYERFS_RACE_RUNS ?? 30);
const isRoot = process.getuid?.() === 0;
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-race-'));
fs.chmodSync(work, 0o755);
const RACER = join(work, 'swap-racer');
const TEMP_RACER = join(work, 'temp-racer');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/**
 * 8 top-level directories of 40 files, 5 symlinks, a hard link, a fifo and a device node, and
 * 2 subdirectories of 20 files, a symlink and a hard link each; the same kinds at the top: about
 * 800 entries. Every kind is made through its own call (open, mkdir, symlink, link, mknodat,
 * and the O_PATH open that sets a node's metadata), each of which must stay relative to a
 * descriptor. The root stays writable for the unprivileged racer once exported, so it can
 * always put back what it moved, and a complete export can be compared as a whole.
 */
const image: LayerJSON = { '/': { type: 'directory', mode: 0o777 } };
const others = (dir: string, links: number) => {
  for (let l = 0; l < links; l++) image[`${dir}/l${l}`] = { type: 'symlink', linkTarget: `f${l}` };
  image[`${dir}/hard`] = { type: 'hardlink', target: `${dir}/f0` };
};
for (let f = 0; f < 20; f++) image[`/f${f}`] = `top file ${f}\n`;
others('', 5);
image['/fifo'] = { type: 'fifo', mode: 0o600 };
image['/null'] = { type: 'char', rdev: 259, mode: 0o666 };
for (let d = 0; d < 8; d++) {
  for (let f = 0; f < 40; f++) image[`/d${d}/f${f}`] = `file ${d}/${f}\n`;
  others(`/d${d}`, 5);
  image[`/d${d}/fifo`] = { type: 'fifo', mode: 0o600 };
  image[`/d${d}/null`] = { type: 'char', rdev: 259, mode: 0o666 };
  for (let s = 0; s < 2; s++) {
    for (let f = 0; f < 20; f++) image[`/d${d}/s${s}/f${f}`] = `file ${d}/${s}/${f}\n`;
    others(`/d${d}/s${s}`, 1);
  }
}
const overlay = () => new Overlay({ lower: [MemoryLayer.fromJSON(image, 'L0')] });
/**
 * The tree without directory mtimes: the racer's renames inside a directory change its mtime
 * after the export has set it, which is the racer's doing, not a wrong export.
 */
const tree = (dir: string) => {
  const t = snapshot(fs as unknown as FsLike, dir);
  t.delete('/');
  for (const e of t.values()) if (e.type === 'directory') e.mtime = '';
  return Object.fromEntries(t);
};
let n = 0;

/**
 * Starts `program` with `args` and a stop file last; resolves once it prints "ready". `stop()`
 * makes the stop file and waits for it to end (it puts back what it moved).
 */
async function startRacer(program: string, args: string[], as: 'nobody' | 'root') {
  const stopFile = join(work, `stop${n++}`);
  args = [...args, stopFile];
  const child = as === 'nobody'
    ? spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', program, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(program, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`racer exited early (${code})`)));
  });
  return {
    stop: async () => {
      fs.writeFileSync(stopFile, '');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

describe.skipIf(!isRoot)('exportDir against a racing process that swaps directories for symlinks', () => {
  let expected: ReturnType<typeof tree>;
  beforeAll(() => {
    execFileSync('cc', ['-O2', '-o', RACER, join(SUPPORT, 'swap-racer.c')]);
    execFileSync('cc', ['-O2', '-o', TEMP_RACER, join(SUPPORT, 'temp-racer.c')]);
    const d = join(work, 'expected');
    fs.mkdirSync(d);
    overlay().exportDir(d);
    expected = tree(d);
  });

  for (const as of ['nobody', 'root'] as const) {
    it(`writes nothing outside the target in ${RUNS} runs (racer as ${as}); each run is a complete export or an ExportError`, async () => {
      const escapes: string[] = [];
      for (let run = 0; run < RUNS; run++) {
        const base = join(work, `run${n++}`);
        const target = join(base, 'target');
        const victim = join(base, 'victim');
        fs.mkdirSync(target, { recursive: true });
        fs.mkdirSync(victim);
        fs.chmodSync(base, 0o755);
        // A target the unprivileged racer can write in, as a shared directory would be.
        fs.chmodSync(target, 0o777);
        const racer = await startRacer(RACER, [target, victim, as === 'root' ? '2' : '1'], as);
        let error: unknown;
        try {
          overlay().exportDir(target);
        } catch (e) {
          error = e;
        } finally {
          expect(await racer.stop()).toBe(0);
        }
        const found = execFileSync('find', [victim, '-mindepth', '1'], { encoding: 'utf8' }).trim();
        if (found) escapes.push(`run ${run}: ${found.split('\n').length} entries in the victim, e.g. ${found.split('\n')[0]}`);
        if (error === undefined) expect(tree(target)).toEqual(expected);
        else expect(error).toBeInstanceOf(ExportError);
        fs.rmSync(base, { recursive: true, force: true });
      }
      expect(escapes).toEqual([]);
    }, 300_000);
  }
});

describe.skipIf(!isRoot)('exportDir against a racing process that exchanges its own file with temporary names', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  for (const addon of [true, false]) {
    it(`never publishes another process's file under a name of the image in ${RUNS} runs (racer as nobody; ${addon ? 'native addon: unnamed files' : 'no addon: random temporary names'})`, async () => {
      execFileSync('cc', ['-O2', '-o', TEMP_RACER, join(SUPPORT, 'temp-racer.c')]);
      if (!addon) vi.stubEnv('LAYERFS_NATIVE_ADDON', 'none');
      vi.resetModules();
      const lib = await import('../../src/index.js');
      const exportOnce = (target: string) => new lib.Overlay({ lower: [lib.MemoryLayer.fromJSON(image, 'L0')] }).exportDir(target);
      const reference = join(work, `expected${n++}`);
      fs.mkdirSync(reference);
      exportOnce(reference);
      const expected = tree(reference);
      const planted: string[] = [];
      for (let run = 0; run < RUNS; run++) {
        const base = join(work, `run${n++}`);
        const target = join(base, 'target');
        fs.mkdirSync(target, { recursive: true });
        fs.chmodSync(base, 0o755);
        fs.chmodSync(target, 0o777);
        const racer = await startRacer(TEMP_RACER, [target], 'nobody');
        let error: unknown;
        try {
          exportOnce(target);
        } catch (e) {
          error = e;
        } finally {
          expect(await racer.stop()).toBe(0);
        }
        const files = execFileSync('find', ['.', '-type', 'f'], { cwd: target, encoding: 'utf8' }).split('\n').filter(Boolean);
        for (const f of files) if (fs.readFileSync(join(target, f), 'utf8') === 'attacker\n') planted.push(`run ${run}: ${f}`);
        if (error === undefined) expect(tree(target)).toEqual(expected);
        else expect(error).toBeInstanceOf(lib.ExportError);
        fs.rmSync(base, { recursive: true, force: true });
      }
      expect(planted).toEqual([]);
    }, 300_000);
  }
});
