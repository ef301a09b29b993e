import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openContentStore, type DirectoryStore } from '../../src/store/directory-store.js';
import { openStoredLayer } from '../../src/store/layer-index.js';
import { indexPath, keptTarPath } from '../../src/store/saved-index-paths.js';
import type { Layer } from '../../src/layer/layer.js';
import { scratch } from '../support/scratch.js';
import { flip, rows } from './support/layer-rows.js';
import { chunks, sha256 } from './support/demo-blobs.js';

// Verify once: a stored layer's entry index (and a compressed layer's inflated tar) is kept
// beside its blob, and used by the next open only while the files are the ones verified.
// Each tamper class is detected: a fallback to a full open (which hashes the blob again and
// refuses one that is not its digest), or ERR_LAYER_CHANGED on a read; never other bytes.

const { fresh } = scratch('lfs-layer-index-');
const sh = (script: string, cwd: string) => execFileSync('sh', ['-c', script], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/** A layer made by GNU tar: files (one large), a directory, a symlink, a hard link, a binary xattr; as plain, gzip and zstd blobs. */
function layerBlobs(tag: string): Record<'none' | 'gzip' | 'zstd', Buffer> {
  const d = fresh('src');
  sh(`mkdir -p root/etc root/usr/lib && printf '%s' "${tag}" > root/etc/hostname && head -c 300000 /dev/urandom > root/usr/lib/big.so
    ln -s ../usr/lib/big.so root/etc/link && ln root/etc/hostname root/etc/hard
    setfattr -n user.bin -v 0x00ff80fe root/etc/hostname
    tar --format=pax --xattrs --xattrs-include='user.*' -C root -cf l.tar . && gzip -k l.tar && zstd -q l.tar -o l.tar.zst`, d);
  return { none: fs.readFileSync(join(d, 'l.tar')), gzip: fs.readFileSync(join(d, 'l.tar.gz')), zstd: fs.readFileSync(join(d, 'l.tar.zst')) };
}

async function stored(blob: Buffer, store?: DirectoryStore): Promise<{ store: DirectoryStore; digest: string }> {
  store ??= await openContentStore(fresh('store'));
  const digest = sha256(blob);
  await store.ingest({ digest, size: blob.length }, chunks(blob));
  return { store, digest };
}

const bigFileOffset = (l: Layer) => {
  const e = l.entries.get('/usr/lib/big.so')!;
  const src = (l as unknown as { contentSource(e: unknown): { offset: number } }).contentSource(e);
  return src.offset;
};

describe.each(['none', 'gzip', 'zstd'] as const)('openStoredLayer (%s): verify once', (compression) => {
  it('the first open hashes and saves the index; the second replays it, with the same entries, content and exact xattrs', async () => {
    const blob = layerBlobs('a')[compression];
    const { store, digest } = await stored(blob);
    const first = await openStoredLayer(store, digest);
    expect(first.fromIndex).toBe(false);
    expect(fs.existsSync(indexPath(store, digest))).toBe(true);
    expect(fs.existsSync(keptTarPath(store, digest))).toBe(compression !== 'none');
    const second = await openStoredLayer(store, digest);
    expect(second.fromIndex).toBe(true);
    expect(rows(second.layer)).toEqual(rows(first.layer));
    expect(rows(second.layer).find((r) => r[0] === '/etc/hostname')![10]).toBe(JSON.stringify([['user.bin', '00ff80fe']]));
    expect(second.layer.info).toEqual(first.layer.info);
    expect(second.layer.info).toEqual(expect.objectContaining({ digest, compression, contentOnDisk: true, spilledBytes: 0 }));
    // The blob as stored, through the layer's descriptor (Image.layerBlob reads it so).
    const back: Buffer[] = [];
    for await (const c of second.layer.sourceStream()!) back.push(c as Buffer);
    expect(Buffer.concat(back).equals(blob)).toBe(true);
    first.layer.close();
    second.layer.close();
  });

  it("content: 'none' reopens the index only", async () => {
    const { store, digest } = await stored(layerBlobs('n')[compression]);
    (await openStoredLayer(store, digest)).layer.close();
    const none = await openStoredLayer(store, digest, { content: 'none' });
    expect(none.fromIndex).toBe(true);
    const e = none.layer.entries.get('/etc/hostname')!;
    expect(e.size).toBe(1);
    expect(() => none.layer.read(e)).toThrow(expect.objectContaining({ code: 'ERR_LAYER_NO_CONTENT' }));
    none.layer.close();
  });

  it('index bytes flipped: ignored (the checksum fails), the layer opened in full and the index saved again', async () => {
    const { store, digest } = await stored(layerBlobs('b')[compression]);
    const first = await openStoredLayer(store, digest);
    const size = fs.statSync(indexPath(store, digest)).size;
    for (const at of [0, 22, 40, size - 3]) {
      flip(indexPath(store, digest), at);
      const again = await openStoredLayer(store, digest);
      expect(again.fromIndex).toBe(false);
      expect(rows(again.layer)).toEqual(rows(first.layer));
      again.layer.close();
    }
    fs.truncateSync(indexPath(store, digest), Math.floor(size / 2));
    expect((await openStoredLayer(store, digest)).fromIndex).toBe(false);
    expect((await openStoredLayer(store, digest)).fromIndex).toBe(true); // saved afresh
    first.layer.close();
  });

  it("an index for another digest, or two layers' indexes swapped: not used, each layer opened in full with its own entries", async () => {
    const { store, digest: a } = await stored(layerBlobs('one')[compression]);
    const { digest: b } = await stored(layerBlobs('two-two')[compression], store);
    const la = await openStoredLayer(store, a);
    const lb = await openStoredLayer(store, b);
    const ia = fs.readFileSync(indexPath(store, a));
    const ib = fs.readFileSync(indexPath(store, b));
    fs.writeFileSync(indexPath(store, a), ib);
    fs.writeFileSync(indexPath(store, b), ia);
    const ra = await openStoredLayer(store, a);
    const rb = await openStoredLayer(store, b);
    expect([ra.fromIndex, rb.fromIndex]).toEqual([false, false]);
    expect(rows(ra.layer)).toEqual(rows(la.layer));
    expect(rows(rb.layer)).toEqual(rows(lb.layer));
    expect(ra.layer.read(ra.layer.entries.get('/etc/hostname')!).toString()).toBe('one');
    expect(rb.layer.read(rb.layer.entries.get('/etc/hostname')!).toString()).toBe('two-two');
    for (const l of [la, lb, ra, rb]) l.layer.close();
  });

  it('a blob rewritten in place (same size) since it was indexed: hashed again, and refused; an open layer reading it is ERR_LAYER_CHANGED', async () => {
    const blob = layerBlobs('c')[compression];
    const { store, digest } = await stored(blob);
    (await openStoredLayer(store, digest)).layer.close();
    const open = await openStoredLayer(store, digest);
    expect(open.fromIndex).toBe(true);
    flip(store.blobPath(digest), Math.floor(blob.length / 2));
    // Hashed again: a digest mismatch (a compressed blob may fail to inflate first: its own check).
    await expect(openStoredLayer(store, digest)).rejects.toEqual(compression === 'none'
      ? expect.objectContaining({ code: 'ERR_STORE_DIGEST_MISMATCH', digest })
      : expect.objectContaining({ code: expect.stringMatching(/^(ERR_STORE_DIGEST_MISMATCH|ERR_TAR_LAYER)$/) }));
    if (compression === 'none') {
      // Its content is the blob: a read sees the change, verifies again, and refuses.
      expect(() => open.layer.read(open.layer.entries.get('/usr/lib/big.so')!)).toThrow(expect.objectContaining({ code: 'ERR_LAYER_CHANGED' }));
    } else {
      // Its content is the kept tar, unchanged; the blob itself, read back, is refused.
      await expect((async () => {
        for await (const _ of open.layer.sourceStream()!) { /* read it all */ }
      })()).rejects.toEqual(expect.objectContaining({ code: 'ERR_LAYER_CHANGED' }));
    }
    open.layer.close();
  });

  it.runIf(compression !== 'none')('the inflated tar truncated or rewritten (same size): the layer opened in full and the tar written again; an open layer reading it is ERR_LAYER_CHANGED', async () => {
    const { store, digest } = await stored(layerBlobs('d')[compression]);
    const first = await openStoredLayer(store, digest);
    const want = rows(first.layer);
    const open = await openStoredLayer(store, digest);
    expect(open.fromIndex).toBe(true);
    const at = bigFileOffset(open.layer) + 1000;
    flip(keptTarPath(store, digest), at);
    expect(() => open.layer.read(open.layer.entries.get('/usr/lib/big.so')!)).toThrow(expect.objectContaining({ code: 'ERR_LAYER_CHANGED' }));
    const rewritten = await openStoredLayer(store, digest);
    expect(rewritten.fromIndex).toBe(false);
    expect(rows(rewritten.layer)).toEqual(want);
    fs.truncateSync(keptTarPath(store, digest), 4096);
    const truncated = await openStoredLayer(store, digest);
    expect(truncated.fromIndex).toBe(false);
    expect(rows(truncated.layer)).toEqual(want);
    fs.rmSync(keptTarPath(store, digest));
    const removed = await openStoredLayer(store, digest);
    expect(removed.fromIndex).toBe(false);
    expect(rows(removed.layer)).toEqual(want);
    expect((await openStoredLayer(store, digest)).fromIndex).toBe(true);
    for (const l of [first, open, rewritten, truncated, removed]) l.layer.close();
  });

  it('gc removes the index and the kept tar with the blob', async () => {
    const { store, digest } = await stored(layerBlobs('e')[compression]);
    (await openStoredLayer(store, digest)).layer.close();
    expect((await store.gc()).removed.map((r) => r.digest)).toEqual([digest]);
    expect(fs.existsSync(indexPath(store, digest))).toBe(false);
    expect(fs.existsSync(keptTarPath(store, digest))).toBe(false);
  });
});

describe('openStoredLayer: the store', () => {
  it('a store where the index and tar cannot be saved is opened all the same (nothing saved)', async () => {
    const { store, digest } = await stored(layerBlobs('ro').gzip);
    // Files where the directories go (as root, mode bits would not stop the writes).
    fs.writeFileSync(join(store.dir, '.layerfs', 'tars'), '');
    fs.writeFileSync(join(store.dir, '.layerfs', 'index'), '');
    const opened = await openStoredLayer(store, digest);
    expect(opened.fromIndex).toBe(false);
    expect(opened.layer.read(opened.layer.entries.get('/etc/hostname')!).toString()).toBe('ro');
    opened.layer.close();
    expect((await openStoredLayer(store, digest)).fromIndex).toBe(false);
  });
});

describe('symlinks in the private directories', () => {
  it.each(['tars', 'index', 'ingest'])('a symlinked .layerfs/%s is not written through: nothing lands where it points, the layer opens in full each time', async (sub) => {
    const { store, digest } = await stored(layerBlobs('SYM').gzip);
    const outside = fresh('outside');
    fs.rmSync(join(store.dir, '.layerfs', sub), { recursive: true, force: true });
    fs.symlinkSync(outside, join(store.dir, '.layerfs', sub));
    for (let i = 0; i < 2; i++) {
      const opened = await openStoredLayer(store, digest);
      expect(opened.fromIndex).toBe(false);
      expect(opened.layer.read(opened.layer.entries.get('/etc/hostname')!).toString()).toBe('SYM');
      opened.layer.close();
    }
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('a symlinked .layerfs itself is not written through', async () => {
    const { store, digest } = await stored(layerBlobs('SYM2').gzip);
    const outside = fresh('outside');
    fs.renameSync(join(store.dir, '.layerfs'), join(outside, 'moved'));
    fs.symlinkSync(join(outside, 'moved'), join(store.dir, '.layerfs'));
    const opened = await openStoredLayer(store, digest);
    expect(opened.layer.read(opened.layer.entries.get('/etc/hostname')!).toString()).toBe('SYM2');
    opened.layer.close();
    expect(fs.readdirSync(join(outside, 'moved')).filter((n) => n === 'tars' || n === 'index')).toEqual([]);
  });
});

describe('a kept tar renamed over while the first open puts its own in place', () => {
  it('the open reads the tar it wrote and hashed, and no saved index vouches for the other file', async () => {
    const { syncBuiltinESMExports } = await import('node:module');
    const good = layerBlobs('GOOD-CONTENT-1234').gzip;
    const evilTar = layerBlobs('EVIL-CONTENT-5678').none; // the same layout: the same size
    const { store, digest } = await stored(good);
    const evil = join(fresh('evil'), 'evil.tar');
    const fsm = (await import('node:fs')).default; // the module object: its exports can be replaced
    const realRename = fsm.renameSync;
    // Right after the real rename into .layerfs/tars/, another file takes that name.
    fsm.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
      realRename(from, to);
      if (String(to).includes('/tars/') && fs.existsSync(evil) === false) {
        fs.writeFileSync(evil, evilTar);
        realRename(evil, to);
      }
    }) as typeof fs.renameSync;
    syncBuiltinESMExports();
    let first;
    try {
      first = await openStoredLayer(store, digest);
    } finally {
      fsm.renameSync = realRename;
      syncBuiltinESMExports();
    }
    const hostname = (l: Layer) => l.read(l.entries.get('/etc/hostname')!).toString();
    expect(hostname(first.layer)).toBe('GOOD-CONTENT-1234');
    first.layer.close();
    // The next opens never take the other file's bytes for the verified ones.
    for (let i = 0; i < 2; i++) {
      const again = await openStoredLayer(store, digest).then((o) => hostname(o.layer), (e: Error) => e.message);
      expect(again).not.toBe('EVIL-CONTENT-5678');
    }
  });
});
