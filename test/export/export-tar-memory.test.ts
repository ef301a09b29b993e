import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleForNode } from '../support/node-bundle.js';
import { scratch } from '../support/scratch.js';
import { writeBigImage } from './support/big-image.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const { work } = scratch('lfs-export-tar-memory-');
const MiB = 2 ** 20;
/** The largest file of the image: one Buffer of it would show in the peak. */
const BIG = 96 * MiB;

/**
 * exportTar streams (issue 17): a child process exports a generated two-layer image of plain
 * tar layers (one layer replaces the other's 96 MiB file, so the tar holds two) to /dev/null.
 * Its peak RSS may pass what the open took by far less than one such file, and while its
 * reader waits it has read from the layers only the few pieces in flight, not whole files.
 */
describe('exportTar holds a few pieces of content, not files or the tar', () => {
  let child: string;
  let layout: string;
  let imageBytes: number;
  beforeAll(async () => {
    child = join(work, 'export-tar-child.mjs');
    await bundleForNode(join(HERE, 'support/export-tar-child.ts'), child);
    layout = join(work, 'image');
    imageBytes = await writeBigImage(layout, { layers: 2, bigFiles: 1, bigFileBytes: BIG, smallFiles: 500 });
  }, 120_000);

  it('a 300 MiB image exports with a peak RSS a fraction of one big file above the open', () => {
    const r = JSON.parse(execFileSync(process.execPath, [child, layout], { encoding: 'utf8' })) as { openedRss: number; peakRss: number; readWhileWaiting: number; size: number };
    expect(imageBytes).toBeGreaterThan(3 * BIG);
    expect(r.size).toBeGreaterThan(2 * BIG);
    expect(r.readWhileWaiting).toBeLessThan(8 * MiB);
    expect(r.peakRss - r.openedRss).toBeLessThan(BIG / 2);
  }, 120_000);
});
