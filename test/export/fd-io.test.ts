import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readWhole } from '../../src/host/fd-io.js';

const work = mkdtempSync(join(tmpdir(), 'lfs-fdio-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** readWhole over a file holding `bytes`, told it has `size`: the outcome and what it handed on. */
async function readAs(bytes: number, size: number): Promise<{ outcome: string; seen: number }> {
  const path = join(work, `f-${bytes}-${size}`);
  writeFileSync(path, Buffer.alloc(bytes, 1));
  const fd = openSync(path, 'r');
  try {
    let seen = 0;
    const outcome = await readWhole(fd, size, (c) => void (seen += c.length));
    return { outcome, seen };
  } finally {
    closeSync(fd);
  }
}

describe('readWhole', () => {
  it('a file of the size it was measured with is whole, handed on in full', async () => {
    expect(await readAs(0, 0)).toEqual({ outcome: 'whole', seen: 0 });
    expect(await readAs(3 << 20, 3 << 20)).toEqual({ outcome: 'whole', seen: 3 << 20 });
  });

  it('a file holding more (it grew after it was measured) is seen as grown after at most size + 1 bytes', async () => {
    expect(await readAs(10, 0)).toMatchObject({ outcome: 'grew', seen: 0 });
    expect(await readAs((2 << 20) + 5, 2 << 20)).toEqual({ outcome: 'grew', seen: 2 << 20 });
  });

  it('a file holding fewer bytes (truncated since) is seen as shrunk', async () => {
    expect(await readAs(5, 6)).toEqual({ outcome: 'shrank', seen: 5 });
  });
});
