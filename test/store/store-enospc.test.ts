import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openContentStore } from '../../src/store/directory-store.js';
import { scratch } from '../support/scratch.js';
import { chunks, sha256 } from './support/demo-blobs.js';

// A store on a full disk: the ingest that runs out of room is a typed error naming the blob
// (ENOSPC as its cause), nothing lies under the blob's digest name, no temporary file is left,
// and the store takes the next blob that fits.

const { fresh } = scratch('lfs-store-enospc-');

it('an ingest that fills the disk fails typed, leaves nothing under the digest or in ingest/, and the store goes on', async () => {
  const mount = fresh('tiny');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount]);
  try {
    const store = await openContentStore(join(mount, 'store'));
    const big = randomBytes(4 * 2 ** 20);
    const digest = sha256(big);
    const failed = await store.ingest({ digest, size: big.length }, chunks(big)).then(() => undefined, (e: unknown) => e);
    expect(failed).toEqual(expect.objectContaining({ name: 'StoreError', code: 'ERR_STORE_IO', digest }));
    expect((failed as Error).cause).toEqual(expect.objectContaining({ code: 'ENOSPC' }));
    expect(await store.has(digest)).toBe(false);
    expect(fs.existsSync(join(mount, 'store', 'blobs', 'sha256', digest.slice(7)))).toBe(false);
    expect(fs.readdirSync(join(mount, 'store', '.layerfs', 'ingest'))).toEqual([]);
    const small = randomBytes(64 * 1024);
    expect(await store.ingest({ digest: sha256(small), size: small.length }, chunks(small))).toEqual(expect.objectContaining({ written: true }));
    expect(fs.readFileSync(join(mount, 'store', 'blobs', 'sha256', sha256(small).slice(7)))).toEqual(small);
  } finally {
    execFileSync('umount', [mount]);
  }
});
