import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openImage } from '../../src/image/image.js';
import { cachedLayerCount } from '../../src/image/layer-cache.js';
import { TarLayer } from '../../src/layer/tar/tar-layer.js';
import { openContentStore } from '../../src/store/directory-store.js';
import { indexPath, keptTarPath } from '../../src/store/saved-index-paths.js';
import { scratch } from '../support/scratch.js';
import { baseImage, DEMO, demoImage, put } from '../store/support/demo-blobs.js';

// openImage on a content store opens each layer from its saved index (verify once), and one
// TarLayer per digest per process is shared by the images that use it (layer-cache.ts).

const { fresh } = scratch('lfs-store-open-');

afterEach(() => {
  vi.restoreAllMocks();
});

async function demoStore(): Promise<string> {
  const dir = fresh('store');
  const store = await openContentStore(dir);
  await put(store, demoImage(), 'demo');
  await put(store, baseImage(2, 'base'), 'base');
  return dir;
}

/** Every file of an image's layers, with content, as rows. */
const rowsOf = (image: Awaited<ReturnType<typeof openImage>>) => image.layers.map((l) => [...l.layer.entries].map(([p, e]) => [p, e.type, e.mode, e.size, e.type === 'file' ? l.layer.read(e).toString('base64') : null]));

describe('openImage from a content store: verify once', () => {
  it('the first open saves each layer index (and a gzip layer its inflated tar); the next opens replay them, with the same entries and content', async () => {
    const dir = await demoStore();
    const full = vi.spyOn(TarLayer, 'keepingTar');
    const first = await openImage(dir, { ref: 'demo' });
    expect(full).toHaveBeenCalledTimes(first.layers.length);
    for (const l of first.layers) {
      expect(fs.existsSync(indexPath({ dir }, l.digest))).toBe(true);
      expect(fs.existsSync(keptTarPath({ dir }, l.digest))).toBe(l.layer.info.compression !== 'none');
    }
    const want = rowsOf(first);
    first.close();
    expect(cachedLayerCount()).toBe(0);
    full.mockClear();
    const again = await openImage(dir, { ref: 'demo' });
    expect(full).not.toHaveBeenCalled();
    expect(rowsOf(again)).toEqual(want);
    // The same image as a plain layout (no store) gives the same entries.
    const layout = await openImage(DEMO);
    expect(rowsOf(again)).toEqual(rowsOf(layout));
    again.close();
    layout.close();
  });

  it('a tampered layer blob in the store is refused by the reopen (hashed again), naming the layer', async () => {
    const dir = await demoStore();
    (await openImage(dir, { ref: 'demo' })).close();
    const digest = demoImage().blobs[0]!.desc.digest;
    const blob = join(dir, 'blobs', 'sha256', digest.slice(7));
    const bytes = fs.readFileSync(blob);
    bytes[bytes.length - 9]! ^= 1; // in the gzip trailer's CRC: the size stays
    fs.writeFileSync(blob, bytes);
    await expect(openImage(dir, { ref: 'demo' })).rejects.toThrow(digest);
    expect(cachedLayerCount()).toBe(0);
  });
});

describe('a .layerfs/ that someone else may write is not trusted', () => {
  // A saved index is no secret: whoever may write .layerfs/ may forge one (docs/store.md).
  // Such a layout is opened as a plain one, each blob hashed again, no index read.
  it.each([
    ['owned by another user', (d: string) => fs.chownSync(d, 12345, 12345)],
    ['writable by its group', (d: string) => fs.chmodSync(d, 0o775)],
    ['writable by anyone', (d: string) => fs.chmodSync(d, 0o777)],
    ['its index/ writable by anyone', (d: string) => fs.chmodSync(join(d, 'index'), 0o777)],
    ['its index/ owned by another user', (d: string) => fs.chownSync(join(d, 'index'), 12345, 12345)],
    ['its tars/ writable by its group', (d: string) => fs.chmodSync(join(d, 'tars'), 0o775)],
  ])('%s: opened in full, with the blobs hashed, not from the saved indexes', async (_what, loosen) => {
    const dir = await demoStore();
    (await openImage(dir, { ref: 'demo' })).close();
    const hashed = vi.spyOn(TarLayer, 'from');
    const replayed = vi.spyOn(TarLayer, 'keepingTar');
    const trusted = await openImage(dir, { ref: 'demo' });
    trusted.close();
    expect(hashed).not.toHaveBeenCalled();
    loosen(join(dir, '.layerfs'));
    const plain = await openImage(dir, { ref: 'demo' });
    expect(hashed).toHaveBeenCalledTimes(plain.layers.length);
    expect(replayed).not.toHaveBeenCalled();
    plain.close();
  });
});

describe('one TarLayer per digest per process', () => {
  it('two images sharing layers get the same layer objects; closing one leaves them open for the other; the last close closes them', async () => {
    const dir = await demoStore();
    const demo = await openImage(dir, { ref: 'demo' });
    const base = await openImage(dir, { ref: 'base' });
    const other = await openImage(DEMO); // another directory holding the same blobs: read from its own files
    expect(base.layers.length).toBe(2);
    expect(base.layers[0]!.layer).toBe(demo.layers[0]!.layer);
    expect(base.layers[1]!.layer).toBe(demo.layers[1]!.layer);
    expect(other.layers[0]!.layer).not.toBe(demo.layers[0]!.layer);
    const third = await openImage(DEMO);
    expect(third.layers[0]!.layer).toBe(other.layers[0]!.layer);
    third.close();
    const shared = demo.layers[0]!.layer;
    const file = [...shared.entries.values()].find((e) => e.type === 'file' && e.size > 0)!;
    demo.close();
    demo.close(); // idempotent: one image's close releases its uses once
    other.close();
    other.close();
    expect(shared.read(file).length).toBe(file.size);
    expect(() => demo.layers[2]!.layer.read([...demo.layers[2]!.layer.entries.values()].find((e) => e.type === 'file')!)).toThrow(expect.objectContaining({ code: 'ERR_LAYER_CLOSED' }));
    base.close();
    expect(() => shared.read(file)).toThrow(expect.objectContaining({ code: 'ERR_LAYER_CLOSED' }));
    expect(cachedLayerCount()).toBe(0);
    // Opened again after all closed: a fresh layer.
    const reopened = await openImage(dir, { ref: 'base' });
    expect(reopened.layers[0]!.layer).not.toBe(shared);
    expect(reopened.layers[0]!.layer.read(reopened.layers[0]!.layer.entries.get([...shared.entries.keys()].find((p) => shared.entries.get(p) === file)!)!).length).toBe(file.size);
    reopened.close();
  });

  it("content: 'none' and content layers are kept apart", async () => {
    const dir = await demoStore();
    const withContent = await openImage(dir, { ref: 'demo' });
    const indexOnly = await openImage(dir, { ref: 'demo', content: 'none' });
    expect(indexOnly.layers[0]!.layer).not.toBe(withContent.layers[0]!.layer);
    const file = [...withContent.layers[0]!.layer.entries.values()].find((e) => e.type === 'file' && e.size > 0)!;
    expect(withContent.layers[0]!.layer.read(file).length).toBe(file.size);
    withContent.close();
    indexOnly.close();
    expect(cachedLayerCount()).toBe(0);
  });

  it("a failed open does not poison the cache: a store whose blob is damaged fails (at once twice, then again), and opens once the blob is restored", async () => {
    expect(cachedLayerCount()).toBe(0);
    const dir = await demoStore();
    const digest = demoImage().blobs[0]!.desc.digest;
    const blob = join(dir, 'blobs', 'sha256', digest.slice(7));
    const good = fs.readFileSync(blob);
    const bad = Buffer.from(good);
    bad[bad.length - 9]! ^= 1;
    fs.writeFileSync(blob, bad);
    const both = await Promise.allSettled([openImage(dir, { ref: 'demo' }), openImage(dir, { ref: 'base' })]);
    expect(both.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(openImage(dir, { ref: 'demo' })).rejects.toThrow(digest);
    expect(cachedLayerCount()).toBe(0);
    fs.writeFileSync(blob, good);
    const opened = await openImage(dir, { ref: 'demo' });
    expect(opened.layers[0]!.layer.info.digest).toBe(digest);
    opened.close();
    expect(cachedLayerCount()).toBe(0);
  });

  it('a shared layer whose blob changed in place is not handed out: the next open reads the files afresh and refuses them', async () => {
    const dir = await demoStore();
    const held = await openImage(dir, { ref: 'demo' });
    const digest = demoImage().blobs[0]!.desc.digest;
    const blob = join(dir, 'blobs', 'sha256', digest.slice(7));
    const bytes = fs.readFileSync(blob);
    bytes[bytes.length - 9]! ^= 1;
    fs.writeFileSync(blob, bytes);
    await expect(openImage(dir, { ref: 'base' })).rejects.toThrow(digest);
    await expect(held.layerBlob(0)).rejects.toEqual(expect.objectContaining({ code: 'ERR_LAYER_CHANGED' }));
    held.close();
    expect(cachedLayerCount()).toBe(0);
  });

  it("an image refused after its layers opened (a diff_id the config does not give) releases them: the other image's stay open", async () => {
    const dir = await demoStore();
    const demo = await openImage(dir, { ref: 'demo' });
    const wrong = fresh('wrong');
    fs.cpSync(DEMO, wrong, { recursive: true });
    // A config whose first diff_id is another's: the layer (shared) opens, the check refuses it.
    const index = JSON.parse(fs.readFileSync(join(wrong, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; size: number }> };
    const mPath = join(wrong, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7));
    const manifest = JSON.parse(fs.readFileSync(mPath, 'utf8')) as { config: { digest: string; size: number } };
    const config = JSON.parse(fs.readFileSync(join(wrong, 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8')) as { rootfs: { diff_ids: string[] } };
    config.rootfs.diff_ids[0] = config.rootfs.diff_ids[1]!;
    const { createHash } = await import('node:crypto');
    const put = (data: Buffer) => {
      const hex = createHash('sha256').update(data).digest('hex');
      fs.writeFileSync(join(wrong, 'blobs', 'sha256', hex), data);
      return { digest: `sha256:${hex}`, size: data.length };
    };
    manifest.config = { ...manifest.config, ...put(Buffer.from(JSON.stringify(config))) };
    index.manifests[0] = { ...index.manifests[0]!, ...put(Buffer.from(JSON.stringify(manifest))) };
    fs.writeFileSync(join(wrong, 'index.json'), JSON.stringify(index));
    await expect(openImage(wrong)).rejects.toThrow('diff_id mismatch');
    const file = [...demo.layers[0]!.layer.entries.values()].find((e) => e.type === 'file' && e.size > 0)!;
    expect(demo.layers[0]!.layer.read(file).length).toBe(file.size);
    demo.close();
    expect(cachedLayerCount()).toBe(0);
  });
});
