import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * A zstd frame's window is memory its decoder holds (up to 128 MiB). Layers open side by side
 * (openImage: one per core), so frames with large windows take turns: three `--long=27` bombs
 * opened at once peak about as high as one. Measured in a child process of its own (peak RSS).
 */
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-zwin-'));
// Inside the package, so that the bundle's dependencies (left external) resolve.
const child = join(process.cwd(), 'node_modules', '.cache', 'layerfs-test', `zstd-window-child-${process.pid}.mjs`);
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(child, { force: true });
});

function peak(file: string, copies: number): { peakRss: number; errors: string[] } {
  const r = spawnSync(process.execPath, [child, file, String(copies), String(200 << 20)], { encoding: 'utf8', cwd: process.cwd() });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

describe('zstd windows and parallel opens', () => {
  it('three layers of 128 MiB windows opened at once peak about as one does (they peaked at three windows)', () => {
    buildSync({ entryPoints: [join(import.meta.dirname, '../support/zstd-window-child.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: child, logLevel: 'error', absWorkingDir: process.cwd() });
    fs.mkdirSync(join(dir, 'src'));
    execFileSync('truncate', ['-s', '300M', join(dir, 'src', 'zeros')]);
    execFileSync('tar', ['-cf', join(dir, 'bomb.tar'), '-C', join(dir, 'src'), 'zeros']);
    const bomb = join(dir, 'bomb.zst');
    execFileSync('zstd', ['-q', '--long=27', '-1', join(dir, 'bomb.tar'), '-o', bomb]);
    fs.rmSync(join(dir, 'bomb.tar'));
    expect(execFileSync('zstd', ['-lv', bomb], { encoding: 'utf8' })).toMatch(/Window Size: 128 MiB/);
    const one = peak(bomb, 1);
    const three = peak(bomb, 3);
    // Each decode goes past 128 MiB (the window is in use) and stops at maxBytes.
    for (const e of [...one.errors, ...three.errors]) expect(e).toMatch(/exceeds the bound of 209715200 bytes/);
    expect(three.errors).toHaveLength(3);
    console.log(`zstd windows: peak RSS one open ${one.peakRss >> 20} MiB, three at once ${three.peakRss >> 20} MiB`);
    expect(one.peakRss).toBeGreaterThan(128 << 20);
    expect(three.peakRss, `one: ${one.peakRss >> 20} MiB, three: ${three.peakRss >> 20} MiB`).toBeLessThan(one.peakRss + (64 << 20));
  }, 120_000);
});
