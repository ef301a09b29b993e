import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openImage } from '../../src/index.js';
import { TarLayer } from '../../src/layer/tar/tar-layer.js';
import { pull } from '../../src/registry/pull.js';
import { openContentStore } from '../../src/store/directory-store.js';
import { indexPath } from '../../src/store/saved-index-paths.js';
import { DEMO } from '../support/save-check.js';
import { scratch } from '../support/scratch.js';
import { essentials, snapshot, type FsLike } from '../support/tree.js';
import { skopeoPush, startRegistry, type RunningRegistry } from './support/reference-registry.js';

/**
 * Pull, verify and index in one pass (issue 18), against the reference registry: after a pull
 * into a DirectoryStore, every layer's entry index is saved, and the first openImage of the
 * image opens each layer from it, reading no byte of a layer blob (no full open runs, and the
 * blobs' atimes do not move), with the merged view of the layout itself. A tampered index is
 * not used: that layer is opened in full again, and the view is the same.
 */

const { fresh } = scratch('layerfs-pull-index-');
let registry: RunningRegistry;
const view = (root: { overlay(): unknown }) => essentials(snapshot(root.overlay() as FsLike, ''));

beforeAll(async () => {
  registry = await startRegistry();
  await skopeoPush(`${DEMO}:latest`, registry, 'demo:latest');
}, 60_000);
afterAll(() => registry?.stop());
afterEach(() => vi.restoreAllMocks());

describe('pull indexes the layers it fetches', () => {
  it('the first openImage after a pull reads no layer blob, and gives the layout\'s merged view', async () => {
    const dir = join(fresh('store'), 'store');
    const store = await openContentStore(dir, { create: true });
    const result = await pull(`${registry.host}/demo:latest`, { sink: store });
    const layers = result.blobs.filter((b) => (b.mediaType ?? '').includes('layer'));
    expect(layers.length).toBeGreaterThan(0);
    for (const l of layers) expect(fs.existsSync(indexPath(store, l.digest)), l.digest).toBe(true);
    const atimes = () => layers.map((l) => fs.statSync(store.blobPath(l.digest), { bigint: true }).atimeNs);
    const before = atimes();
    const full = vi.spyOn(TarLayer, 'keepingTar');
    const image = await openImage(dir, { ref: result.reference });
    expect(full).not.toHaveBeenCalled();
    expect(atimes()).toEqual(before);
    const layout = await openImage(DEMO);
    expect(view(image)).toEqual(view(layout));
    image.close();
    layout.close();
  });

  it('a tampered index is detected: that layer is opened in full (hashed again), the view the same', async () => {
    const dir = join(fresh('store'), 'store');
    const store = await openContentStore(dir, { create: true });
    const result = await pull(`${registry.host}/demo:latest`, { sink: store });
    const layer = result.blobs.find((b) => (b.mediaType ?? '').includes('layer'))!;
    const idx = indexPath(store, layer.digest);
    const bytes = fs.readFileSync(idx);
    bytes[bytes.length - 5]! ^= 0x40;
    fs.writeFileSync(idx, bytes);
    const full = vi.spyOn(TarLayer, 'keepingTar');
    const image = await openImage(dir, { ref: result.reference });
    expect(full.mock.calls.map((c) => String(c[0]))).toEqual([store.blobPath(layer.digest)]);
    const layout = await openImage(DEMO);
    expect(view(image)).toEqual(view(layout));
    image.close();
    layout.close();
  });
});
