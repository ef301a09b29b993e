import * as fs from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { openContentStore, type DirectoryStore } from '../../src/store/directory-store.js';
import { indexPath, openStoredLayer } from '../../src/store/layer-index.js';
import type { Layer } from '../../src/layer/layer.js';
import { scratch } from '../support/scratch.js';
import { chunks, DEMO, demoImage, sha256 } from './support/demo-blobs.js';

// Verify once: a stored layer tar's entry index is kept beside it, and used by the next
// open only while the blob file is the one hashed.

const { fresh } = scratch('lfs-layer-index-');

/** The demo's first layer, inflated: an uncompressed layer tar, stored under its diff_id. */
async function storedTar(): Promise<{ store: DirectoryStore; digest: string }> {
  const store = await openContentStore(fresh('store'));
  const gz = demoImage().blobs[0]!;
  const tar = gunzipSync(fs.readFileSync(join(DEMO, 'blobs', 'sha256', gz.desc.digest.slice(7))));
  const digest = sha256(tar);
  await store.ingest({ digest, size: tar.length }, chunks(tar));
  return { store, digest };
}

/** A layer's entries as comparable rows, with each file's content. */
const rows = (l: Layer) => [...l.entries].map(([path, e]) => [path, e.type, e.mode, e.uid, e.gid, e.mtimeMs, e.size, e.linkTarget, e.type === 'file' ? l.read(e).toString('base64') : null]);

describe('openStoredLayer: verify once', () => {
  it('the first open hashes and saves the index; the second replays it, with the same entries and content', async () => {
    const { store, digest } = await storedTar();
    const first = await openStoredLayer(store, digest);
    expect(first.fromIndex).toBe(false);
    expect(fs.existsSync(indexPath(store, digest))).toBe(true);
    const second = await openStoredLayer(store, digest);
    expect(second.fromIndex).toBe(true);
    expect(rows(second.layer)).toEqual(rows(first.layer));
    expect(rows(second.layer).length).toBeGreaterThan(10);
    expect(second.layer.info).toEqual(expect.objectContaining({ digest, diffId: digest, entryCount: first.layer.info.entryCount, contentOnDisk: true }));
    first.layer.close();
    second.layer.close();
  });

  it('an edited or torn index is not used (its checksum fails): the layer is opened in full', async () => {
    const { store, digest } = await storedTar();
    (await openStoredLayer(store, digest)).layer.close();
    const text = fs.readFileSync(indexPath(store, digest), 'utf8');
    fs.writeFileSync(indexPath(store, digest), text.replace('"mode":', '"mode": '));
    const again = await openStoredLayer(store, digest);
    expect(again.fromIndex).toBe(false);
    again.layer.close();
    fs.writeFileSync(indexPath(store, digest), text.slice(0, text.length / 2));
    const torn = await openStoredLayer(store, digest);
    expect(torn.fromIndex).toBe(false);
    torn.layer.close();
    expect((await openStoredLayer(store, digest)).fromIndex).toBe(true); // saved afresh
  });

  it('a blob written since it was indexed (same size) is hashed again, and refused', async () => {
    const { store, digest } = await storedTar();
    (await openStoredLayer(store, digest)).layer.close();
    const path = store.blobPath(digest);
    const bytes = fs.readFileSync(path);
    // A byte of a file's content (not a header), the size unchanged: only ctime and mtime tell.
    const saved = JSON.parse(fs.readFileSync(indexPath(store, digest), 'utf8').split('\n')[1]!) as { headers: Array<{ type: string; size: number; byteOffset: number }> };
    const file = saved.headers.find((h) => h.type === 'file' && h.size > 0)!;
    const at = file.byteOffset;
    const fd = fs.openSync(path, 'r+');
    fs.writeSync(fd, Buffer.from([bytes[at]! ^ 1]), 0, 1, at);
    fs.closeSync(fd);
    await expect(openStoredLayer(store, digest)).rejects.toEqual(expect.objectContaining({ code: 'ERR_STORE_DIGEST_MISMATCH', digest }));
  });

  it('gc removes the index with its blob', async () => {
    const { store, digest } = await storedTar();
    (await openStoredLayer(store, digest)).layer.close();
    expect((await store.gc()).removed.map((r) => r.digest)).toEqual([digest]);
    expect(fs.existsSync(indexPath(store, digest))).toBe(false);
  });
});
