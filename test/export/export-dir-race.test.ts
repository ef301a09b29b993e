import { spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportError, MemoryLayer, Overlay, type LayerJSON } from '../../src/index.js';
import { snapshot, type FsLike } from '../support/tree.js';

// A second process, unprivileged (nobody, through setpriv) and as root, swaps the target's
// directories for symlinks to a victim directory while exportDir writes (issue 13: before
// exportDir wrote relative to descriptors, 3 of 20 runs wrote files into the victim).
const RACER_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'support/swap-racer.c');
const RUNS = Number(process.env.LAYERFS_RACE_RUNS ?? 30);
const isRoot = process.getuid?.() === 0;
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-race-'));
fs.chmodSync(work, 0o755);
const RACER = join(work, 'swap-racer');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/**
 * 8 top-level directories of 40 files and 2 subdirectories of 20 files each: about 650
 * entries. The root stays writable for the unprivileged racer once exported, so it can always
 * put back what it moved, and a complete export can be compared as a whole.
 */
const image: LayerJSON = { '/': { type: 'directory', mode: 0o777 } };
for (let d = 0; d < 8; d++) {
  for (let f = 0; f < 40; f++) image[`/d${d}/f${f}`] = `file ${d}/${f}\n`;
  for (let s = 0; s < 2; s++) {
    for (let f = 0; f < 20; f++) image[`/d${d}/s${s}/f${f}`] = `file ${d}/${s}/${f}\n`;
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

/** Starts the racer against `target`; resolves once it loops. `stop()` ends it with every directory put back. */
async function startRacer(target: string, victim: string, as: 'nobody' | 'root') {
  const stopFile = join(work, `stop${n++}`);
  const args = [target, victim, stopFile, as === 'root' ? '2' : '1'];
  const child = as === 'nobody'
    ? spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', RACER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(RACER, args, { stdio: ['ignore', 'pipe', 'inherit'] });
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
    execFileSync('cc', ['-O2', '-o', RACER, RACER_SOURCE]);
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
        const racer = await startRacer(target, victim, as);
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
