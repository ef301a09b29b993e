import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { openContentStore } from '../../src/store/directory-store.js';
import { scratch } from '../support/scratch.js';

/**
 * `layerfs images` and `prune --dry-run` read a store and change nothing, so they work on a
 * store they cannot write: a read-only bind mount (a store baked into an image, a shared
 * read-only volume). images counts what prune would remove with gc's dry run, which took the
 * store's lock, a file made in the store: EROFS there, and `images` failed where it had listed.
 */
const { fresh } = scratch('layerfs-images-ro-');
const isRoot = process.getuid?.() === 0;
const mounted: string[] = [];
afterAll(() => {
  for (const m of mounted) execFileSync('umount', [m]);
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (t) => void (stdout += t.toString()), stderr: (t) => void (stderr += t), stderrIsTTY: false, color: false });
  return { code, stdout, stderr };
}

describe('a read-only store', () => {
  it.runIf(isRoot)('images lists it, with the bytes no image reaches; prune --dry-run lists them; nothing is written', async () => {
    const dir = fresh('store');
    const store = await openContentStore(dir, { create: true });
    const stray = Buffer.from('a blob no image reaches');
    const digest = `sha256:${createHash('sha256').update(stray).digest('hex')}`;
    await store.ingest({ digest, size: stray.length, mediaType: 'application/octet-stream' }, (async function* () { yield stray; })());
    const ro = fresh('ro');
    fs.mkdirSync(ro, { recursive: true });
    execFileSync('mount', ['--bind', '-o', 'ro', dir, ro]);
    mounted.push(ro);
    const images = await cli('images', '--store', ro, '--json');
    expect(images.stderr).toBe('');
    expect(images.code).toBe(0);
    expect(JSON.parse(images.stdout)).toMatchObject({ images: [], unreachableBytes: stray.length, diskBytes: stray.length });
    const dry = await cli('prune', '--store', ro, '--dry-run', '--json');
    expect(dry.stderr).toBe('');
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, removed: [{ digest, size: stray.length }] });
    expect(fs.existsSync(join(dir, 'blobs', 'sha256', digest.slice(7)))).toBe(true);
  });
});
