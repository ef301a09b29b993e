import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openImage } from '../../src/image/image.js';
import { cachedLayerCount } from '../../src/image/layer-cache.js';
import { TarLayer } from '../../src/layer/tar/tar-layer.js';
import { openContentStore } from '../../src/store/directory-store.js';
import { indexPath, keptTarPath } from '../../src/store/layer-index.js';
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

describe('one TarLayer per digest per process', () => {
  it('two images sharing layers get the same layer objects; closing one leaves them open for the other; the last close closes them', async () => {
    const dir = await demoStore();
    const demo = await openImage(dir, { ref: 'demo' });
    const base = await openImage(dir, { ref: 'base' });
    const other = await openImage(DEMO); // another directory holding the same blobs: shared too
    expect(base.layers.length).toBe(2);
    expect(base.layers[0]!.layer).toBe(demo.layers[0]!.layer);
    expect(base.layers[1]!.layer).toBe(demo.layers[1]!.layer);
    expect(other.layers.map((l) => l.layer)).toEqual(demo.layers.map((l) => l.layer));
    const shared = demo.layers[0]!.layer;
    const file = [...shared.entries.values()].find((e) => e.type === 'file' && e.size > 0)!;
    demo.close();
    demo.close(); // idempotent: one image's close releases its uses once
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

  it("a failed open does not poison the cache: a layout whose blob is tampered fails, the same digest from a good one opens, at once or after", async () => {
    expect(cachedLayerCount()).toBe(0);
    const bad = fresh('bad');
    fs.cpSync(DEMO, bad, { recursive: true });
    const digest = demoImage().blobs[0]!.desc.digest;
    const blob = join(bad, 'blobs', 'sha256', digest.slice(7));
    const bytes = fs.readFileSync(blob);
    bytes[bytes.length - 9]! ^= 1;
    fs.writeFileSync(blob, bytes);
    const [b, g] = await Promise.allSettled([openImage(bad), openImage(DEMO)]);
    expect(b.status).toBe('rejected');
    expect(g.status).toBe('fulfilled');
    const good = (g as PromiseFulfilledResult<Awaited<ReturnType<typeof openImage>>>).value;
    const layer = good.layers[0]!.layer;
    expect(layer.info.digest).toBe(digest);
    // While the digest is open in this process, an image naming it shares the verified layer
    // (its own copy of the blob is not read: the bytes it gets are the digest's).
    const sharing = await openImage(bad);
    expect(sharing.layers[0]!.layer).toBe(layer);
    sharing.close();
    good.close();
    expect(cachedLayerCount()).toBe(0);
    await expect(openImage(bad)).rejects.toThrow(digest);
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
