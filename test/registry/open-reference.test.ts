import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { imageTarget, openImage, openImageManifest, RegistryError } from '../../src/index.js';
import { openContentStore } from '../../src/store/directory-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { DEMO } from '../support/save-check.js';
import { scratch } from '../support/scratch.js';
import { essentials, snapshot, type FsLike } from '../support/tree.js';
import { writeMultiPlatform } from './support/multi-platform.js';
import { writeSecondImage } from './support/second-image.js';
import { skopeoPush, startRegistry, type RunningRegistry } from './support/reference-registry.js';

/**
 * openImage's reference form (src/registry/open-reference.ts) against the reference registry
 * (distribution 2.8.2): the written rule between a path and a reference, a store lookup before
 * any request, each pull policy, a digest reference without the network, and the manifest-only
 * open that fetches no layer.
 */

const { work, fresh } = scratch('layerfs-open-ref-');
const DEMO_MANIFEST = JSON.parse(fs.readFileSync(join(DEMO, 'index.json'), 'utf8')).manifests[0].digest as string;
let registry: RunningRegistry;
let v2: { layout: string; manifest: string; newLayer: string };

const view = (root: { overlay(): unknown }) => essentials(snapshot(root.overlay() as FsLike, ''));
const requests = (spy: { mock: { calls: unknown[][] } }): string[] => spy.mock.calls.map((c) => String(c[0] instanceof Request ? c[0].url : c[0]));
let demoView: unknown;

beforeAll(async () => {
  registry = await startRegistry();
  await skopeoPush(`${DEMO}:latest`, registry, 'demo:latest');
  v2 = await writeSecondImage(DEMO, fresh('v2'));
  await skopeoPush(`${v2.layout}:v2`, registry, 'demo:v2');
  demoView = view(await openImage(DEMO));
}, 60_000);
afterAll(() => registry?.stop());
afterEach(() => vi.restoreAllMocks());

async function rejection(p: Promise<unknown>): Promise<RegistryError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(RegistryError);
  return e as RegistryError;
}

describe('the rule between a path and a reference', () => {
  it('docker:// is always a reference; an existing path always the path; else docker\'s grammar decides', async () => {
    // The repository root is vitest's working directory: images/demo exists there, relative.
    const rel = relative(process.cwd(), DEMO);
    expect(await imageTarget(rel)).toEqual({ path: rel });
    expect(await imageTarget(`docker://${rel}`)).toMatchObject({ reference: { domain: 'docker.io', repository: rel, tag: 'latest' } });
    // No such path, and a reference by the grammar: docker.io's short forms as skopeo reads them.
    expect(await imageTarget(`${rel}:latest`)).toMatchObject({ reference: { domain: 'docker.io', repository: rel, tag: 'latest' } });
    expect(await imageTarget('busybox')).toMatchObject({ reference: { domain: 'docker.io', repository: 'library/busybox', tag: 'latest' } });
    expect(await imageTarget('docker://busybox')).toMatchObject({ reference: { domain: 'docker.io', repository: 'library/busybox', tag: 'latest' } });
    // A `.` first component is no host: a path, as is anything the grammar refuses.
    expect(await imageTarget('./busybox:latest')).toEqual({ path: './busybox:latest' });
    expect(await imageTarget('Not A Ref')).toEqual({ path: 'Not A Ref' });
    // A directory named like a reference is that directory.
    const dir = join(fresh('named'), 'busybox:latest');
    fs.cpSync(DEMO, dir, { recursive: true });
    expect(await imageTarget(dir)).toEqual({ path: dir });
    expect(view(await openImage(dir, { pull: 'never' }))).toEqual(demoView);
    await expect(imageTarget('docker://demo/UPPER')).rejects.toMatchObject({ code: 'ERR_REFERENCE' });
  });

  it('a missing relative path that reads as a reference fails naming both readings', async () => {
    const e = await rejection(openImage(`${registry.host}/no-such-repo:latest`, { store: new MemoryStore() }));
    expect(e.code).toBe('ERR_NOT_FOUND');
    expect(e.message).toMatch(/no such file or directory, and as a registry reference: /);
  });
});

describe('openImage(REF)', () => {
  it('docker://REF and the bare REF pull into the store once, then open from it without a request', async () => {
    const dir = join(fresh('store'), 'store');
    const ref = `${registry.host}/demo:latest`;
    const image = await openImage(`docker://${ref}`, { store: dir });
    expect(image.manifestDigest).toBe(DEMO_MANIFEST);
    expect(view(image)).toEqual(demoView);
    image.close();
    const store = await openContentStore(dir, { create: false });
    expect((await store.resolve(ref)).digest).toBe(DEMO_MANIFEST);

    const spy = vi.spyOn(globalThis, 'fetch');
    const again = await openImage(ref, { store: dir });
    expect(again.manifestDigest).toBe(DEMO_MANIFEST);
    expect(view(again)).toEqual(demoView);
    again.close();
    expect(requests(spy)).toEqual([]);
  });

  it('a digest reference the store holds opens with no request, whatever pull says, under any repository name', async () => {
    const dir = join(fresh('digest'), 'store');
    (await openImage(`${registry.host}/demo:latest`, { store: dir })).close();
    const spy = vi.spyOn(globalThis, 'fetch').mockRejectedValue(new Error('no network in this test'));
    for (const pull of ['never', 'missing', 'always'] as const) {
      const image = await openImage(`${registry.host}/other@${DEMO_MANIFEST}`, { store: dir, pull });
      expect(image.manifestDigest).toBe(DEMO_MANIFEST);
      image.close();
    }
    expect(requests(spy)).toEqual([]);
  });

  it("pull 'never': the store only; a reference it lacks is ERR_NOT_STORED naming it, and a missing store directory is not made", async () => {
    const dir = join(fresh('never'), 'store');
    const spy = vi.spyOn(globalThis, 'fetch');
    const e = await rejection(openImage(`${registry.host}/demo:latest`, { store: dir, pull: 'never' }));
    expect(e.code).toBe('ERR_NOT_STORED');
    expect(e.reference).toBe(`${registry.host}/demo:latest`);
    expect(e.message).toContain(dir);
    expect(fs.existsSync(dir)).toBe(false);
    // Without a store, a reference goes to a new MemoryStore: 'never' has nothing to open.
    expect((await rejection(openImage(`${registry.host}/demo:latest`, { pull: 'never' }))).code).toBe('ERR_NOT_STORED');
    expect(requests(spy)).toEqual([]);
  });

  it("pull 'missing' keeps what the store has for a tag; 'always' asks the registry again and follows a moved tag, fetching only new blobs", async () => {
    const dir = join(fresh('always'), 'store');
    await skopeoPush(`${DEMO}:latest`, registry, 'demo:moving');
    const ref = `${registry.host}/demo:moving`;
    expect((await openImage(ref, { store: dir })).manifestDigest).toBe(DEMO_MANIFEST);
    await skopeoPush(`${v2.layout}:v2`, registry, 'demo:moving');

    const spy = vi.spyOn(globalThis, 'fetch');
    expect((await openImage(ref, { store: dir, pull: 'missing' })).manifestDigest).toBe(DEMO_MANIFEST);
    expect(requests(spy)).toEqual([]);

    const moved = await openImage(ref, { store: dir, pull: 'always' });
    expect(moved.manifestDigest).toBe(v2.manifest);
    const blobs = requests(spy).filter((u) => u.includes('/blobs/'));
    // v2 adds one layer and has its own config: the demo's layers are not fetched again.
    expect(blobs.some((u) => u.endsWith(v2.newLayer))).toBe(true);
    expect(blobs).toHaveLength(2);
    expect(requests(spy).some((u) => u.includes('/manifests/moving'))).toBe(true);
    expect((await (await openContentStore(dir, { create: false })).resolve(ref)).digest).toBe(v2.manifest);
  });

  it('a MemoryStore (and the default, a fresh one per call) opens the image from memory', async () => {
    const store = new MemoryStore();
    const image = await openImage(`docker://${registry.host}/demo:latest`, { store });
    expect(view(image)).toEqual(demoView);
    expect((await store.resolve(`${registry.host}/demo:latest`)).digest).toBe(DEMO_MANIFEST);
    expect(view(await openImage(`docker://${registry.host}/demo:latest`))).toEqual(demoView);
  });

  it('refuses options that cannot apply: ref with a reference, an unknown pull policy, a store that is none', async () => {
    await expect(openImage(`docker://${registry.host}/demo:latest`, { ref: 'latest' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/options\.ref.*is a reference/) });
    await expect(openImage(DEMO, { pull: 'sometimes' as 'never' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(openImage(DEMO, { store: 42 as unknown as string })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });
});

/** The demo with its config saying linux/arm64 (so another config and manifest digest), tagged `arm`, as a layout in `dir`. */
function armVariant(dir: string): string {
  fs.cpSync(DEMO, dir, { recursive: true });
  const blob = (d: string) => join(dir, 'blobs/sha256', d.slice(7));
  const put = (data: Buffer) => {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    fs.writeFileSync(blob(digest), data);
    return { digest, size: data.length };
  };
  const index = JSON.parse(fs.readFileSync(join(dir, 'index.json'), 'utf8'));
  const manifest = JSON.parse(fs.readFileSync(blob(index.manifests[0].digest), 'utf8'));
  const config = JSON.parse(fs.readFileSync(blob(manifest.config.digest), 'utf8'));
  manifest.config = { ...manifest.config, ...put(Buffer.from(JSON.stringify({ ...config, architecture: 'arm64' }))) };
  const m = put(Buffer.from(JSON.stringify(manifest)));
  index.manifests = [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': 'arm' } }];
  fs.writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  return m.digest;
}

describe('what the store holds that is not what is asked', () => {
  it("a stored manifest of another platform is not opened for --platform: 'never' names the platform it holds", async () => {
    const layout = join(fresh('arm'), 'layout');
    const arm = armVariant(layout);
    await skopeoPush(`${layout}:arm`, registry, 'demo:arm');
    const dir = join(fresh('platforms'), 'store');
    const ref = `${registry.host}/demo:arm`;
    expect((await openImage(ref, { store: dir, platform: 'linux/arm64' })).manifestDigest).toBe(arm);
    const e = await rejection(openImage(ref, { store: dir, platform: 'linux/amd64', pull: 'never' }));
    expect(e.code).toBe('ERR_NOT_STORED');
    expect(e.message).toContain('the store holds it for linux/arm64, not linux/amd64');
    // Without a platform the stored one opens, as a layout's one image does.
    expect((await openImage(ref, { store: dir, pull: 'never' })).manifestDigest).toBe(arm);
  });

  // The multi-platform image holds linux/amd64 and linux/arm64: the host's and the other one.
  const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const otherArch = hostArch === 'arm64' ? 'amd64' : 'arm64';
  it.runIf(process.arch === 'x64' || process.arch === 'arm64')("without --platform, a tag stored for another platform of an index is the host's choice, as a pull's: pulled ('missing'), or ERR_NOT_STORED naming both ('never')", async () => {
    const layout = join(fresh('multi-src'), 'layout');
    const multi = writeMultiPlatform(DEMO, layout);
    await skopeoPush(`${layout}:multi`, registry, 'demo:multi', { all: true });
    const dir = join(fresh('multi'), 'store');
    const ref = `${registry.host}/demo:multi`;
    expect((await openImage(ref, { store: dir, platform: `linux/${otherArch}` })).manifestDigest).toBe(multi[otherArch]);
    const e = await rejection(openImage(ref, { store: dir, pull: 'never' }));
    expect(e.code).toBe('ERR_NOT_STORED');
    expect(e.message).toContain(`the store holds it for linux/${otherArch}, not linux/${hostArch}`);
    const spy = vi.spyOn(globalThis, 'fetch');
    expect((await openImage(ref, { store: dir })).manifestDigest).toBe(multi[hostArch]);
    // Only manifests were fetched: the two platforms share their blobs.
    expect(requests(spy).filter((u) => u.includes('/blobs/'))).toEqual([]);
    expect(requests(spy).some((u) => u.includes('/manifests/multi'))).toBe(true);
    // Now stored for the host: opened without a request, and so is the other platform when asked again after a pull of it.
    spy.mockClear();
    expect((await openImage(ref, { store: dir, pull: 'never' })).manifestDigest).toBe(multi[hostArch]);
    expect(requests(spy)).toEqual([]);
  });

  it("a tag entry whose platform in the store's index.json is not strings is an ImageError naming index.json, never a TypeError", async () => {
    const dir = join(fresh('odd-platform'), 'store');
    const ref = `${registry.host}/demo:latest`;
    (await openImage(ref, { store: dir })).close();
    const file = join(dir, 'index.json');
    const index = JSON.parse(fs.readFileSync(file, 'utf8'));
    index.manifests[0].platform = { os: 5, architecture: null };
    fs.writeFileSync(file, JSON.stringify(index));
    for (const platform of [undefined, 'linux/amd64']) {
      await expect(openImage(ref, { store: dir, pull: 'never', ...(platform ? { platform } : {}) })).rejects.toMatchObject({ name: 'ImageError', message: expect.stringMatching(/index\.json.*not an object of os and architecture strings/) });
    }
  });

  it.runIf(process.arch === 'x64' || process.arch === 'arm64')("a digest reference to a stored index whose chosen manifest the store lacks: pulled ('missing'), ERR_NOT_STORED naming it ('never'), never an ImageError", async () => {
    const layout = join(fresh('index-src'), 'layout');
    const multi = writeMultiPlatform(DEMO, layout);
    await skopeoPush(`${layout}:multi`, registry, 'demo:index-only', { all: true });
    const dir = join(fresh('index-only'), 'store');
    const store = await openContentStore(dir);
    // The index alone, as a copy of only the index (or a gc of its platforms) leaves it.
    const index = fs.readFileSync(join(layout, 'blobs', 'sha256', multi.index.slice(7)));
    await store.ingest({ digest: multi.index, size: index.length }, (async function* () {
      yield index;
    })());
    const ref = `${registry.host}/demo@${multi.index}`;
    const e = await rejection(openImage(ref, { store: dir, pull: 'never' }));
    expect(e.code).toBe('ERR_NOT_STORED');
    expect(e.message).toContain(`the store holds the index ${multi.index} but not its manifest ${multi[hostArch]} for linux/${hostArch}`);
    const image = await openImage(ref, { store: dir });
    expect(image.manifestDigest).toBe(multi[hostArch]);
    expect(view(image)).toEqual(demoView);
    image.close();
    // The other platform, asked for: its manifest is missing too, and pulled (its blobs are stored now: no blob fetched).
    const spy = vi.spyOn(globalThis, 'fetch');
    expect((await openImage(ref, { store: dir, platform: `linux/${otherArch}` })).manifestDigest).toBe(multi[otherArch]);
    expect(requests(spy).filter((u) => u.includes('/blobs/'))).toEqual([]);
    // Both are stored now: the index opens from the store for either, with no request.
    spy.mockClear();
    expect((await openImage(ref, { store: dir, pull: 'never' })).manifestDigest).toBe(multi[hostArch]);
    expect((await openImage(ref, { store: dir, pull: 'never', platform: `linux/${otherArch}` })).manifestDigest).toBe(multi[otherArch]);
    expect(requests(spy)).toEqual([]);
  });

  it('a digest reference naming a stored blob that is no manifest is an ImageError naming it, not an image', async () => {
    const dir = join(fresh('not-manifest'), 'store');
    const image = await openImage(`${registry.host}/demo:latest`, { store: dir });
    const config = (image.manifest as { config: { digest: string } }).config.digest;
    image.close();
    await expect(openImage(`${registry.host}/demo@${config}`, { store: dir, pull: 'never' })).rejects.toMatchObject({ name: 'ImageError', message: expect.stringContaining(config) });
  });
});

describe('openImageManifest(REF)', () => {
  it('a reference the store lacks: manifest and config from the registry, no layer fetched, nothing stored', async () => {
    const dir = join(work, 'manifest-only');
    const spy = vi.spyOn(globalThis, 'fetch');
    const m = await openImageManifest(`docker://${registry.host}/demo:v2`, { store: dir });
    expect(m.manifestDigest).toBe(v2.manifest);
    expect(m.layers.map((l) => l.digest)).toContain(v2.newLayer);
    const blobs = requests(spy).filter((u) => u.includes('/blobs/'));
    expect(blobs).toHaveLength(1); // the config
    expect(blobs[0]).toContain(m.configDigest);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('a reference the store holds is read from it, with no request', async () => {
    const dir = join(fresh('manifest-stored'), 'store');
    (await openImage(`${registry.host}/demo:latest`, { store: dir })).close();
    const spy = vi.spyOn(globalThis, 'fetch');
    expect((await openImageManifest(`${registry.host}/demo:latest`, { store: dir })).manifestDigest).toBe(DEMO_MANIFEST);
    expect(requests(spy)).toEqual([]);
  });
});
