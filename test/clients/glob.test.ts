import * as fs from 'node:fs';
import { join } from 'node:path';
import fastGlob from 'fast-glob';
import { glob, globSync } from 'glob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Overlay } from '../../src/index.js';
import { demoAndExport, scratch } from './export-demo.js';

/**
 * fast-glob and glob, handed `ov.fs` as their `fs` option, on the bundled image: the same
 * matches as the same call on the image exported to a real directory. A file written to the
 * overlay after the export must show too, and nothing of the host's: a silent fallback to the
 * host fs (issue 15) gives the host's /etc instead.
 */
const work = scratch('glob');
let ov: Overlay;
let changed: Overlay;
let dir: string;
beforeAll(async () => {
  ({ ov, dir } = await demoAndExport(work));
  // Another overlay of the image, with a file written after the export.
  ({ ov: changed } = await demoAndExport(work));
  changed.writeFileSync('/etc/only-in-the-overlay', 'x');
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The export's matches, and the file written after the export for the overlay that has it. */
const withNewFile = (real: string[]) => [...real, 'only-in-the-overlay'].sort();

describe('fast-glob with { fs: ov.fs }', () => {
  const patterns: Array<[string, string, fastGlob.Options]> = [
    ['/etc', '**/*', { dot: true, onlyFiles: false }],
    ['/etc', '**', { dot: true }],
    ['/', '**/*', { onlyDirectories: true, dot: true }],
    ['/', '*', { dot: true, onlyFiles: false, markDirectories: true }],
    ['/', '**/*', { dot: true, followSymbolicLinks: false, onlyFiles: false }],
    ['/usr', '**/{README,*.md}', { dot: true, caseSensitiveMatch: false }],
    ['/bin', '*', { onlyFiles: true }],
  ];
  for (const [cwd, pattern, options] of patterns) {
    it(`${cwd} ${pattern} ${JSON.stringify(options)}: sync, async and stream give the export's matches`, async () => {
      const real = fastGlob.sync(pattern, { ...options, cwd: join(dir, cwd) }).sort();
      expect(real.length).toBeGreaterThan(0);
      const expected = real;
      if (cwd === '/etc') expect(fastGlob.sync(pattern, { ...options, cwd, fs: changed.fs }).sort()).toEqual(withNewFile(real));
      expect(fastGlob.sync(pattern, { ...options, cwd, fs: ov.fs }).sort()).toEqual(expected);
      expect((await fastGlob(pattern, { ...options, cwd, fs: ov.fs })).sort()).toEqual(expected);
      const streamed: string[] = [];
      for await (const m of fastGlob.stream(pattern, { ...options, cwd, fs: ov.fs })) streamed.push(String(m));
      expect(streamed.sort()).toEqual(expected);
    });
  }

  it('over the whole image (and the file written since), with stats: the same entries, sizes and types', async () => {
    const shape = (e: fastGlob.Entry) => [e.path.replace(dir, ''), e.stats!.size, e.stats!.isFile(), e.dirent.isSymbolicLink()];
    const real = fastGlob.sync('**', { cwd: dir, absolute: true, stats: true, dot: true, onlyFiles: false, objectMode: true }).map(shape).sort();
    const mine = (await fastGlob('**', { cwd: '/', fs: changed.fs, absolute: true, stats: true, dot: true, onlyFiles: false, objectMode: true })).map(shape).sort();
    expect(mine).toEqual([...real, ['/etc/only-in-the-overlay', 1, true, false]].sort());
  });
});

describe('glob with { fs: ov.fs }', () => {
  const patterns: Array<[string, string, Record<string, unknown>]> = [
    ['/etc', '**/*', { dot: true }],
    ['/etc', '**', { dot: true, nodir: true }],
    ['/usr', '*/', { dot: true }],
    ['/usr', '**/*', { dot: true, follow: true }],
    ['/var', '**', { dot: true, mark: true, stat: true }],
    ['/bin', '*', { realpath: true }],
    ['/usr', '**', { realpath: true, nodir: true }],
    ['/usr', '**/*', { dot: true, ignore: ['**/doc/**'] }],
  ];
  for (const [cwd, pattern, options] of patterns) {
    it(`${cwd} ${pattern} ${JSON.stringify(options)}: sync and async give the export's matches`, async () => {
      // (glob gives realpath results absolute, and inside the export they name its place on the host.)
      const real = globSync(pattern, { ...options, cwd: join(dir, cwd) }).map((p) => (p.startsWith(dir) ? p.slice(dir.length) : p)).sort();
      expect(real.length).toBeGreaterThan(0);
      const expected = real;
      if (cwd === '/etc') expect(globSync(pattern, { ...options, cwd, fs: changed.fs }).sort()).toEqual(withNewFile(real));
      expect(globSync(pattern, { ...options, cwd, fs: ov.fs }).sort()).toEqual(expected);
      expect((await glob(pattern, { ...options, cwd, fs: ov.fs })).sort()).toEqual(expected);
    });
  }
});
