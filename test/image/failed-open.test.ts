import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageError, openImage } from '../../src/index.js';
import { heldFiles } from '../support/held-fds.js';
import { writeOciLayout } from '../support/oci-layout.js';
import { packTar } from '../support/to-tar.js';

/**
 * An image that fails to open leaves nothing open: not the blob of a layer that failed a check
 * after it was read (digest, size, diff_id), not its spill file, not the layers opened before.
 */
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-failed-open-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let serial = 0;
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const PLAIN = 'application/vnd.oci.image.layer.v1.tar';

/** A fresh image directory and spill directory. */
function dirs(): { root: string; spillDir: string } {
  const root = join(dir, `image${serial++}`);
  const spillDir = join(dir, `spill${serial++}`);
  fs.mkdirSync(spillDir);
  return { root, spillDir };
}

describe('openImage leaves nothing open when it fails', () => {
  it('a gzip layer with a wrong diff_id: its blob and its spill file are closed', async () => {
    const { root, spillDir } = dirs();
    const tar = await packTar([{ header: { name: 'f' }, body: Buffer.alloc(300_000, 'f') }]);
    writeOciLayout(root, [gzipSync(tar)], GZIP, { diffIds: [sha(Buffer.from('another tar'))] });
    await expect(openImage(root, { memoryBytes: 0, spillDir })).rejects.toThrow(/diff_id mismatch/);
    expect([...heldFiles(root), ...heldFiles(spillDir)]).toEqual([]);
  });

  it('the layers opened before a failing one are closed', async () => {
    const { root, spillDir } = dirs();
    const good = await packTar([{ header: { name: 'good' }, body: 'good\n' }]);
    const big = await packTar([{ header: { name: 'big' }, body: Buffer.alloc(300_000, 'b') }]);
    const corrupt = gzipSync(good).subarray(0, 30); // a gzip stream cut short
    writeOciLayout(root, [good, gzipSync(big), corrupt], [PLAIN, GZIP, GZIP], { diffIds: [sha(good), sha(big), sha(good)] });
    const err = await openImage(root, { memoryBytes: 0, spillDir }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as Error).message).toContain(sha(corrupt));
    expect([...heldFiles(root), ...heldFiles(spillDir)]).toEqual([]);
  });

  it('layers whose stack does not resolve (a hard link to a lower file that is not there): all closed', async () => {
    const { root } = dirs();
    const base = await packTar([{ header: { name: 'bin/busybox' }, body: 'busybox\n' }]);
    const link = await packTar([{ header: { name: 'usr/bin/env', type: 'link', linkname: 'bin/nothing' } as never }]);
    writeOciLayout(root, [base, link]);
    await expect(openImage(root)).rejects.toThrow(/nothing/);
    expect(heldFiles(root)).toEqual([]);
  });
});
