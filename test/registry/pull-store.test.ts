import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openImage } from '../../src/index.js';
import { pull, type PullSink } from '../../src/registry/pull.js';
import { openContentStore } from '../../src/store/directory-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { DEMO } from '../support/save-check.js';
import { scratch } from '../support/scratch.js';
import { essentials, snapshot, type FsLike } from '../support/tree.js';
import { writeSecondImage } from './support/second-image.js';
import { skopeoPush, startRegistry, type RunningRegistry } from './support/reference-registry.js';

/**
 * pull() straight into a ContentStore (src/store/) from the reference registry: the store is
 * the sink as it is, skopeo and openImage read what it pulled, a second pull fetches nothing,
 * an image sharing the demo's layers fetches only its own, and the pull's lease keeps its
 * blobs through a gc that runs before the tag.
 */

const { fresh } = scratch('layerfs-pull-store-');
const DEMO_MANIFEST = JSON.parse(fs.readFileSync(join(DEMO, 'index.json'), 'utf8')).manifests[0].digest as string;
let registry: RunningRegistry;
/** The demo with one more layer (a file added), saved by saveImage and pushed as demo:v2. */
let v2: { layout: string; manifest: string; newLayer: string };

const view = (root: { overlay(): unknown }) => essentials(snapshot(root.overlay() as FsLike, ''));
const blobRequests = (spy: { mock: { calls: unknown[][] } }): string[] => spy.mock.calls.map((c) => String(c[0])).filter((u) => u.includes('/blobs/'));

beforeAll(async () => {
  registry = await startRegistry();
  await skopeoPush(`${DEMO}:latest`, registry, 'demo:latest');
  v2 = await writeSecondImage(DEMO, fresh('v2'));
  await skopeoPush(`${v2.layout}:v2`, registry, 'demo:v2');
}, 60_000);

afterAll(() => registry?.stop());
afterEach(() => vi.restoreAllMocks());

describe('pull into a DirectoryStore', () => {
  it('is a layout skopeo inspects and openImage opens by ref, with the demo image\'s merged view', async () => {
    const dir = join(fresh('store'), 'store');
    const store = await openContentStore(dir, { create: true });
    const result = await pull(`${registry.host}/demo:latest`, { sink: store });
    expect(result.manifest.digest).toBe(DEMO_MANIFEST);
    expect(result.fetched).toHaveLength(5);
    expect((await store.resolve(result.reference)).digest).toBe(DEMO_MANIFEST);

    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${dir}:${result.reference}`], { encoding: 'utf8' }));
    expect(inspect.Digest).toBe(DEMO_MANIFEST);
    expect(inspect.Layers).toHaveLength(4);

    const pulled = await openImage(dir, { ref: result.reference });
    const demo = await openImage(DEMO);
    try {
      expect(view(pulled)).toEqual(view(demo));
    } finally {
      pulled.close();
      demo.close();
    }
    // The lease was released: nothing of the pull's is held any more, and nothing is unreachable.
    expect(fs.readdirSync(join(dir, '.layerfs', 'leases'))).toEqual([]);
    expect((await store.gc({ dryRun: true })).removed).toEqual([]);
  });

  it('a second pull of the same image fetches no blob', async () => {
    const store = await openContentStore(join(fresh('again'), 'store'));
    await pull(`${registry.host}/demo:latest`, { sink: store });
    const spy = vi.spyOn(globalThis, 'fetch');
    const again = await pull(`${registry.host}/demo:latest`, { sink: store });
    expect(again.fetched).toEqual([]);
    expect(again.present).toHaveLength(5);
    expect(blobRequests(spy)).toEqual([]);
  });

  it('an image sharing the demo\'s layers fetches only its new layer and config', async () => {
    const store = await openContentStore(join(fresh('shared'), 'store'));
    await pull(`${registry.host}/demo:latest`, { sink: store });
    const spy = vi.spyOn(globalThis, 'fetch');
    const second = await pull(`${registry.host}/demo:v2`, { sink: store });
    expect(second.manifest.digest).toBe(v2.manifest);
    const config = JSON.parse((await store.read(v2.manifest)).toString()).config.digest as string;
    expect(second.fetched.map((d) => d.digest).sort()).toEqual([config, v2.newLayer].sort());
    expect(second.present).toHaveLength(4);
    expect(blobRequests(spy).map((u) => u.slice(u.lastIndexOf('/') + 1)).sort()).toEqual([config, v2.newLayer].sort());
    const { images } = await store.images();
    expect(images.map((i) => i.ref).sort()).toEqual([`${registry.host}/demo:latest`, `${registry.host}/demo:v2`]);
  });

  it('a gc between the ingests and the tag removes nothing of the pull (its lease holds them)', async () => {
    const store = await openContentStore(join(fresh('gc'), 'store'));
    const removed: string[] = [];
    // The store, with a gc after every ingest: without the lease, each blob ingested but not
    // yet tagged would be removed, and the tag would fail with ERR_STORE_UNKNOWN_BLOB.
    const sink: PullSink = {
      has: (d) => store.has(d),
      ingest: async (expected, body, options) => {
        const r = await store.ingest(expected, body, options);
        removed.push(...(await store.gc()).removed.map((b) => b.digest));
        return r;
      },
      tag: (ref, desc) => store.tag(ref, desc),
      lease: () => store.lease(),
    };
    const result = await pull(`${registry.host}/demo:latest`, { sink, concurrency: 1 });
    expect(removed).toEqual([]);
    expect((await store.images()).images.map((i) => i.manifest.digest)).toEqual([result.manifest.digest]);
    // A MemoryStore holds them the same way.
    const memory = new MemoryStore();
    const memorySink: PullSink = { ...sink, has: (d) => memory.has(d), tag: (r, d) => memory.tag(r, d), lease: () => memory.lease(), ingest: async (e, b, o) => {
      const r = await memory.ingest(e, b, o);
      removed.push(...(await memory.gc()).removed.map((x) => x.digest));
      return r;
    } };
    await pull(`${registry.host}/demo:latest`, { sink: memorySink });
    expect(removed).toEqual([]);
  });
});
