import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TarLayer } from '../../src/layer/tar/tar-layer.js';
import { openContentStore } from '../../src/store/directory-store.js';
import { openStoredLayer } from '../../src/store/layer-index.js';
import { indexPath, keptTarPath } from '../../src/store/saved-index-paths.js';
import { scratch } from '../support/scratch.js';
import { flip, rows } from './support/layer-rows.js';
import { chunks, sha256 } from './support/demo-blobs.js';

// Pull, verify and index in one pass (issue 18): an ingest given `index: true` streams a layer
// blob through TarLayer's pass as it writes and hashes it, and saves the entry index (and a
// compressed layer's inflated tar) once the blob is stored, so the first open replays the
// index and reads no byte of the blob. The index is still checked as any saved index is.

const { fresh } = scratch('lfs-ingest-index-');
const sh = (script: string, cwd: string) => execFileSync('sh', ['-c', script], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
const MEDIA = { none: 'application/vnd.oci.image.layer.v1.tar', gzip: 'application/vnd.oci.image.layer.v1.tar+gzip', zstd: 'application/vnd.oci.image.layer.v1.tar+zstd' } as const;

function layerBlobs(): Record<'none' | 'gzip' | 'zstd', Buffer> {
  const d = fresh('src');
  sh(`mkdir -p root/etc root/usr/lib && printf host > root/etc/hostname && head -c 3000000 /dev/urandom > root/usr/lib/big.so
    ln -s ../usr/lib/big.so root/etc/link && ln root/etc/hostname root/etc/hard
    setfattr -n user.bin -v 0x00ff80fe root/etc/hostname
    tar --format=pax --xattrs --xattrs-include='user.*' -C root -cf l.tar . && gzip -k l.tar && zstd -q l.tar -o l.tar.zst`, d);
  return { none: fs.readFileSync(join(d, 'l.tar')), gzip: fs.readFileSync(join(d, 'l.tar.gz')), zstd: fs.readFileSync(join(d, 'l.tar.zst')) };
}

afterEach(() => vi.restoreAllMocks());

describe.each(['none', 'gzip', 'zstd'] as const)('ingest with index (%s)', (compression) => {
  const blobs = layerBlobs();
  const blob = blobs[compression];
  const digest = sha256(blob);
  const ingested = async (opts: { index?: boolean } = { index: true }) => {
    const store = await openContentStore(fresh('store'));
    // 64 KiB chunks, as fetch gives them.
    await store.ingest({ digest, size: blob.length, mediaType: MEDIA[compression] }, chunks(blob, 65536), opts);
    return store;
  };

  it('saves the index while it ingests: the first open replays it, reading no byte of the blob, with the entries and content a full open gives', async () => {
    const store = await ingested();
    expect(fs.existsSync(indexPath(store, digest))).toBe(true);
    expect(fs.existsSync(keptTarPath(store, digest))).toBe(compression !== 'none');
    const full = vi.spyOn(TarLayer, 'keepingTar');
    // No byte of the blob or the kept tar is read: their atimes stay (relatime moves an atime
    // not later than the mtime on the first read, as the control read below shows).
    const files = [store.blobPath(digest), ...(compression === 'none' ? [] : [keptTarPath(store, digest)])];
    const atimes = () => files.map((f) => fs.statSync(f, { bigint: true }).atimeNs);
    const before = atimes();
    const opened = await openStoredLayer(store, digest);
    expect(opened.fromIndex).toBe(true);
    expect(full).not.toHaveBeenCalled();
    expect(atimes()).toEqual(before);
    const want = await TarLayer.from(blob);
    expect(rows(opened.layer)).toEqual(rows(want));
    expect(opened.layer.info.diffId).toBe(want.info.diffId);
    opened.layer.close();
    want.close();
    for (const f of files) fs.readFileSync(f);
    expect(atimes().every((t, i) => t !== before[i])).toBe(true);
  });

  it.each(['tars', 'index'])('a symlinked .layerfs/%s is not written through by the ingest: nothing lands where it points, and the blob is stored', async (sub) => {
    const store = await openContentStore(fresh('store'));
    const outside = fresh('outside');
    fs.rmSync(join(store.dir, '.layerfs', sub), { recursive: true, force: true });
    fs.symlinkSync(outside, join(store.dir, '.layerfs', sub));
    await store.ingest({ digest, size: blob.length, mediaType: MEDIA[compression] }, chunks(blob, 65536), { index: true });
    expect(fs.readFileSync(store.blobPath(digest)).equals(blob)).toBe(true);
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('without index: nothing is saved, and the first open is a full one (the check can fail)', async () => {
    const store = await ingested({});
    expect(fs.existsSync(indexPath(store, digest))).toBe(false);
    const opened = await openStoredLayer(store, digest);
    expect(opened.fromIndex).toBe(false);
    opened.layer.close();
  });

  it('a tampered index is not used: the open is a full one, and gives the same layer', async () => {
    const store = await ingested();
    flip(indexPath(store, digest), fs.statSync(indexPath(store, digest)).size - 10);
    const opened = await openStoredLayer(store, digest);
    expect(opened.fromIndex).toBe(false);
    const want = await TarLayer.from(blob);
    expect(rows(opened.layer)).toEqual(rows(want));
    opened.layer.close();
    want.close();
  });

  it('a blob changed after the ingest is opened in full and refused (by its digest, or as a broken stream before that), never served from the index', async () => {
    const store = await ingested();
    flip(store.blobPath(digest), Math.floor(blob.length / 2));
    const full = vi.spyOn(TarLayer, 'keepingTar');
    await expect(openStoredLayer(store, digest)).rejects.toMatchObject({ code: compression === 'none' ? 'ERR_STORE_DIGEST_MISMATCH' : expect.stringMatching(/^(ERR_STORE_DIGEST_MISMATCH|ERR_TAR_LAYER)$/) });
    expect(full).toHaveBeenCalled();
  });

  it('a body that does not hash to the digest stores nothing: no blob, no index, no kept tar, no temporary', async () => {
    const store = await openContentStore(fresh('store'));
    const other = Buffer.from(blob);
    other[other.length - 1]! ^= 1;
    await expect(store.ingest({ digest, size: blob.length, mediaType: MEDIA[compression] }, chunks(other, 65536), { index: true })).rejects.toMatchObject({ code: compression === 'none' ? 'ERR_STORE_DIGEST_MISMATCH' : expect.stringMatching(/^ERR_STORE_/) });
    expect(await store.has(digest)).toBe(false);
    expect(fs.existsSync(indexPath(store, digest))).toBe(false);
    expect(fs.existsSync(keptTarPath(store, digest))).toBe(false);
    expect(fs.readdirSync(join(store.dir, '.layerfs/ingest'))).toEqual([]);
  });
});

describe('ingest with index: what is not a readable layer', () => {
  it('a blob of a layer type that is not a tar is stored all the same, without an index; its open says what is wrong', async () => {
    const store = await openContentStore(fresh('store'));
    const junk = Buffer.alloc(5000, 'x');
    const digest = sha256(junk);
    await store.ingest({ digest, size: junk.length, mediaType: MEDIA.gzip }, chunks(junk, 1000), { index: true });
    expect(await store.has(digest)).toBe(true);
    expect(fs.existsSync(indexPath(store, digest))).toBe(false);
    expect(fs.readdirSync(join(store.dir, '.layerfs/ingest'))).toEqual([]);
    await expect(openStoredLayer(store, digest)).rejects.toThrow(/corrupt|truncated|archive/);
  });

  it('a config blob (not a layer type) is not indexed', async () => {
    const store = await openContentStore(fresh('store'));
    const cfg = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    const digest = sha256(cfg);
    await store.ingest({ digest, size: cfg.length, mediaType: 'application/vnd.oci.image.config.v1+json' }, chunks(cfg, 10), { index: true });
    expect(fs.existsSync(indexPath(store, digest))).toBe(false);
  });
});
