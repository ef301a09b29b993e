import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openContentStore } from '../../src/store/directory-store.js';
import { scratch } from '../support/scratch.js';

// A body is any async iterable: it may refill one buffer between chunks, so the store must
// write what it hashed (a copy), not a reference to a buffer the body reuses.

const { fresh } = scratch('lfs-reused-');
const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('DirectoryStore ingest of a body that reuses its buffer', () => {
  it('stores the bytes it hashed when every chunk is the same refilled buffer', async () => {
    const whole = Buffer.alloc(256 * 1024);
    for (let i = 0; i < whole.length; i++) whole[i] = (i * 7 + (i >> 14)) & 0xff;
    const store = await openContentStore(fresh('store'));
    async function* refilled() {
      const buf = Buffer.alloc(16 * 1024);
      for (let off = 0; off < whole.length; off += buf.length) {
        whole.copy(buf, 0, off, off + buf.length);
        yield buf;
      }
    }
    const digest = `sha256:${hex(whole)}`;
    await store.ingest({ digest, size: whole.length }, refilled());
    expect(hex(fs.readFileSync(join(store.dir, 'blobs', 'sha256', hex(whole))))).toBe(hex(whole));
  });

  it('writes a body of one-byte chunks in time linear in its size', async () => {
    // 128 KiB as one-byte chunks: quadratic per-batch bookkeeping took tens of seconds.
    const whole = Buffer.alloc(128 * 1024, 0);
    for (let i = 0; i < whole.length; i++) whole[i] = i & 0xff;
    const store = await openContentStore(fresh('store'));
    async function* bytes() {
      for (let i = 0; i < whole.length; i++) yield whole.subarray(i, i + 1);
    }
    await store.ingest({ digest: `sha256:${hex(whole)}`, size: whole.length }, bytes());
    expect(fs.readFileSync(join(store.dir, 'blobs', 'sha256', hex(whole))).equals(whole)).toBe(true);
  }, 8000);
});
