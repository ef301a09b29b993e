import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RegistryError } from '../../src/registry/errors.js';
import { pull } from '../../src/registry/pull.js';
import { push } from '../../src/registry/push.js';
import { openContentStore } from '../../src/store/directory-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { DEMO } from '../support/save-check.js';
import { scratch } from '../support/scratch.js';
import { startUploadCountingProxy, type UploadCountingProxy } from './support/upload-counting-proxy.js';
import { layoutBlobs } from './support/layout-sink.js';
import { writeMultiPlatform } from './support/multi-platform.js';
import { skopeoPush, startRegistry, type RunningRegistry } from './support/reference-registry.js';
import { writeSecondImage } from './support/second-image.js';
import { writeTwoLayerImage, type TwoLayerImage } from './support/two-layer-image.js';

/**
 * push() against the reference registry (distribution 2.8.2), with skopeo as the cross-check:
 * what push sends, `skopeo copy docker://… oci:…` pulls to the very blobs of the source (every
 * blob compared by its bytes' hash, the manifest digest too) and `skopeo inspect` reads. The
 * other direction (skopeo pushes, layerfs pulls byte for byte) is test/registry/pull.test.ts's
 * first test. Bytes on the wire are counted by a proxy in front of the registry.
 */

const run = promisify(execFile);
const { fresh } = scratch('layerfs-push-');
const DEMO_MANIFEST = JSON.parse(fs.readFileSync(join(DEMO, 'index.json'), 'utf8')).manifests[0].digest as string;
const DEMO_BLOBS = layoutBlobs(DEMO);
const USER = { username: 'carol', password: 'push pass 11' };
let plain: RunningRegistry;
let basic: RunningRegistry;
let proxy: UploadCountingProxy;
let two: TwoLayerImage;

beforeAll(async () => {
  [plain, basic] = await Promise.all([startRegistry(), startRegistry({ htpasswd: USER })]);
  proxy = await startUploadCountingProxy(plain.host);
  two = writeTwoLayerImage(fresh('two'));
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await Promise.all([plain?.stop(), basic?.stop()]);
});

afterEach(() => vi.restoreAllMocks());

/** skopeo pulls `repoTag` from the registry; its layout's blobs (name and bytes' hash) and manifest digest. */
async function skopeoCopy(registry: RunningRegistry, repoTag: string) {
  const dir = fresh('skopeo');
  const creds = registry.credentials ? ['--src-creds', `${registry.credentials.username}:${registry.credentials.password}`] : [];
  // Without the flag skopeo would gzip an uncompressed layer on its way into the layout.
  await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', '--dest-oci-accept-uncompressed-layers', ...creds, `docker://${registry.host}/${repoTag}`, `oci:${dir}:x`], { timeout: 60_000 });
  const index = JSON.parse(fs.readFileSync(join(dir, 'index.json'), 'utf8'));
  return { blobs: layoutBlobs(dir), digest: index.manifests[0].digest as string };
}

async function skopeoInspect(host: string, repoTag: string, creds?: { username: string; password: string }) {
  const auth = creds ? ['--creds', `${creds.username}:${creds.password}`] : [];
  const { stdout } = await run('skopeo', ['inspect', '--no-tags', '--tls-verify=false', ...auth, `docker://${host}/${repoTag}`], { timeout: 60_000 });
  return JSON.parse(stdout) as { Digest: string; Layers: string[] };
}

async function* once(data: Buffer) {
  yield data;
}

const digests = (list: Array<{ digest: string }>) => list.map((d) => d.digest).sort();

describe('push to the reference registry', () => {
  it('pushes the bundled image from an OCI layout: skopeo copies back the same blobs and manifest, skopeo inspect reads it', async () => {
    const result = await push(DEMO, `${plain.host}/demo:pushed`);
    expect(result.reference).toBe(`${plain.host}/demo:pushed`);
    expect(result.manifest.digest).toBe(DEMO_MANIFEST);
    expect(result.pushed).toHaveLength(5);
    expect(result.present).toEqual([]);
    expect(result.mounted).toEqual([]);
    const back = await skopeoCopy(plain, 'demo:pushed');
    expect(back.digest).toBe(DEMO_MANIFEST);
    expect(back.blobs).toEqual(DEMO_BLOBS);
    const inspect = await skopeoInspect(plain.host, 'demo:pushed');
    expect(inspect.Digest).toBe(DEMO_MANIFEST);
    expect(inspect.Layers).toHaveLength(4);
  });

  it('pushes a two-layer image from a MemoryStore; the bytes on the wire are its blobs and manifest, once', async () => {
    const store = new MemoryStore();
    for (const b of two.blobs) await store.ingest(b, once(b.data));
    await store.ingest({ digest: two.manifest, size: two.manifestBytes.length }, once(two.manifestBytes));
    await store.tag('two', { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: two.manifest, size: two.manifestBytes.length });
    const before = proxy.requests.length;
    const result = await push(store, `${proxy.host}/two:v1`, { ref: 'two' });
    expect(digests(result.pushed)).toEqual(digests(two.blobs));
    const total = two.blobs.reduce((n, b) => n + b.size, 0) + two.manifestBytes.length;
    expect(result.bytes).toBe(total);
    const seen = proxy.requests.slice(before);
    expect(seen.reduce((n, r) => n + r.bodyBytes, 0)).toBe(total);
    const back = await skopeoCopy(plain, 'two:v1');
    expect(back.digest).toBe(two.manifest);
    expect(back.blobs).toEqual(layoutBlobs(two.layout));
  });

  it('a second image on the same base sends only its new blobs (counted by a proxy), and its tag last', async () => {
    await push(DEMO, `${proxy.host}/app:v1`);
    const v2 = await writeSecondImage(DEMO, fresh('v2'));
    const before = proxy.requests.length;
    const result = await push(v2.layout, `${proxy.host}/app:v2`);
    const seen = proxy.requests.slice(before);
    const manifest = JSON.parse(fs.readFileSync(join(v2.layout, 'blobs', 'sha256', v2.manifest.slice(7)), 'utf8'));
    const fresh2 = [manifest.config, manifest.layers.at(-1)];
    expect(digests(result.pushed)).toEqual(digests(fresh2));
    expect(result.present).toHaveLength(4);
    const manifestSize = fs.statSync(join(v2.layout, 'blobs', 'sha256', v2.manifest.slice(7))).size;
    const expected = fresh2.reduce((n: number, b: { size: number }) => n + b.size, 0) + manifestSize;
    expect(seen.reduce((n, r) => n + r.bodyBytes, 0)).toBe(expected);
    expect(result.bytes).toBe(expected);
    // Each shared layer: one HEAD answered 200, and nothing else.
    for (const layer of manifest.layers.slice(0, 4)) {
      expect(seen.filter((r) => r.path.includes(layer.digest)).map((r) => `${r.method} ${r.status}`)).toEqual(['HEAD 200']);
    }
    expect(seen.at(-1)).toMatchObject({ method: 'PUT', path: '/v2/app/manifests/v2', status: 201 });
    expect((await skopeoCopy(plain, 'app:v2')).digest).toBe(v2.manifest);
  });

  it('mounts the blobs of an image pulled from another repository of the same registry (each mount answered 201)', async () => {
    await push(DEMO, `${plain.host}/base:latest`);
    const store = await openContentStore(fresh('store'));
    await pull(`${plain.host}/base:latest`, { sink: store });
    const spy = vi.spyOn(globalThis, 'fetch');
    const result = await push(store, `${plain.host}/team/copy:latest`, { ref: `${plain.host}/base:latest` });
    expect(result.from).toBe('base');
    expect(result.mounted).toHaveLength(5);
    expect(result.pushed).toEqual([]);
    expect(result.bytes).toBe(fs.statSync(store.blobPath(DEMO_MANIFEST)).size);
    const mounts = spy.mock.calls.map((c, i) => ({ url: String(c[0]), method: c[1]?.method, i })).filter((c) => c.url.includes('mount='));
    expect(mounts).toHaveLength(5);
    for (const m of mounts) {
      expect(m.method).toBe('POST');
      expect(m.url).toContain('from=base');
      expect((await (spy.mock.results[m.i]!.value as Promise<Response>)).status).toBe(201);
    }
    expect(spy.mock.calls.filter((c) => c[1]?.method === 'PATCH' || (c[1]?.method === 'PUT' && String(c[0]).includes('/blobs/')))).toEqual([]);
    expect((await skopeoCopy(plain, 'team/copy:latest')).blobs).toEqual(DEMO_BLOBS);
  });

  it('a mount the registry cannot make (202: the blob is not in `from`) falls back to the upload it opened', async () => {
    const result = await push(two.layout, `${plain.host}/two-mount:v1`, { from: 'nothing-here' });
    expect(result.mounted).toEqual([]);
    expect(result.pushed).toHaveLength(3);
    expect((await skopeoCopy(plain, 'two-mount:v1')).blobs).toEqual(layoutBlobs(two.layout));
  });

  it('uploads in chunks above chunkSize: PATCH with Content-Range of each chunk, then the PUT', async () => {
    const spy = vi.spyOn(globalThis, 'fetch');
    const chunk = 64 * 1024;
    const result = await push(two.layout, `${plain.host}/chunked:v1`, { chunkSize: chunk });
    const big = two.blobs.find((b) => b.size > chunk)!;
    const patches = spy.mock.calls.filter((c) => c[1]?.method === 'PATCH').map((c) => (c[1]!.headers as Record<string, string>)['content-range']);
    const expected: string[] = [];
    for (let at = 0; at < big.size; at += chunk) expected.push(`${at}-${Math.min(at + chunk, big.size) - 1}`);
    expect(patches).toEqual(expected);
    expect(result.bytes).toBe(two.blobs.reduce((n, b) => n + b.size, 0) + two.manifestBytes.length);
    expect((await skopeoCopy(plain, 'chunked:v1')).blobs).toEqual(layoutBlobs(two.layout));
  });

  it('pushes a multi-platform index: the manifests by digest first, then the index by its tag', async () => {
    const layout = join(fresh('multi'), 'l');
    const multi = writeMultiPlatform(DEMO, layout);
    const spy = vi.spyOn(globalThis, 'fetch');
    const result = await push(layout, `${plain.host}/multi:all`, { ref: 'multi' });
    expect(result.manifest.digest).toBe(multi.index);
    const puts = spy.mock.calls.filter((c) => c[1]?.method === 'PUT' && String(c[0]).includes('/manifests/')).map((c) => new URL(String(c[0])).pathname);
    expect(puts).toEqual([`/v2/multi/manifests/${multi.amd64}`, `/v2/multi/manifests/${multi.arm64}`, '/v2/multi/manifests/all']);
    const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${plain.host}/multi:all`]);
    expect(Buffer.from(stdout)).toEqual(fs.readFileSync(join(layout, 'blobs', 'sha256', multi.index.slice(7))));
  });

  it('an index whose manifest the source lacks: pushed when the repository has that manifest, else ERR_SOURCE naming it before any upload', async () => {
    const layout = join(fresh('partial'), 'l');
    const multi = writeMultiPlatform(DEMO, layout);
    fs.rmSync(join(layout, 'blobs', 'sha256', multi.arm64.slice(7)));
    const before = proxy.requests.length;
    const e = await push(layout, `${proxy.host}/partial:all`, { ref: 'multi' }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'ERR_SOURCE', digest: multi.arm64 });
    expect(proxy.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([`HEAD /v2/partial/manifests/${multi.arm64}`]);
    // Once the repository has the arm64 manifest (pushed from the whole layout), the partial source pushes.
    const whole = join(fresh('whole'), 'l');
    writeMultiPlatform(DEMO, whole);
    await push(whole, `${plain.host}/partial:whole`, { ref: 'multi' });
    const result = await push(layout, `${plain.host}/partial:all`, { ref: 'multi' });
    expect(result.manifest.digest).toBe(multi.index);
    expect(result.present.map((d) => d.digest)).toContain(multi.arm64);
  });

  it('pushes a Docker schema 2 manifest with its own media type, byte for byte', async () => {
    await skopeoPush(`${DEMO}:latest`, plain, 'docker-src:v1', { format: 'v2s2' });
    const store = await openContentStore(fresh('docker'));
    const pulled = await pull(`${plain.host}/docker-src:v1`, { sink: store });
    expect(pulled.manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    const result = await push(store, `${plain.host}/docker-copy:v1`, { ref: `${plain.host}/docker-src:v1` });
    expect(result.manifest).toEqual(pulled.manifest);
    expect(result.mounted).toHaveLength(5);
    const served = await fetch(`http://${plain.host}/v2/docker-copy/manifests/v1`, { headers: { accept: pulled.manifest.mediaType } });
    expect(served.headers.get('content-type')).toBe(pulled.manifest.mediaType);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(fs.readFileSync(store.blobPath(pulled.manifest.digest)));
  });

  it('a source blob whose bytes do not match its digest is ERR_DIGEST naming it: never sent whole, no manifest, no tag', async () => {
    const dir = join(fresh('bad'), 'l');
    fs.cpSync(two.layout, dir, { recursive: true });
    const layer = two.blobs[1]!;
    const file = join(dir, 'blobs', 'sha256', layer.digest.slice(7));
    const data = fs.readFileSync(file);
    data[data.length - 1] = data[data.length - 1]! ^ 0xff;
    fs.writeFileSync(file, data);
    for (const chunkSize of [undefined, 64 * 1024]) {
      const before = proxy.requests.length;
      const e = await push(dir, `${proxy.host}/bad:v1`, chunkSize ? { chunkSize } : {}).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(RegistryError);
      expect(e).toMatchObject({ code: 'ERR_DIGEST', digest: layer.digest });
      expect((e as Error).message).toContain(layer.digest);
      const seen = proxy.requests.slice(before);
      // The registry got less than the blob and its upload was cancelled.
      const sent = seen.filter((r) => r.path.includes('/blobs/uploads/') && (r.method === 'PATCH' || r.method === 'PUT'));
      expect(sent.reduce((n, r) => n + r.bodyBytes, 0)).toBeLessThan(layer.size);
      expect(seen.some((r) => r.method === 'DELETE')).toBe(true);
      expect(seen.some((r) => r.path.includes('/manifests/'))).toBe(false);
      const head = await fetch(`http://${plain.host}/v2/bad/blobs/${layer.digest}`, { method: 'HEAD' });
      expect(head.status).toBe(404);
    }
  });

  it('a digest reference must be the image\'s digest, checked before any request', async () => {
    const spy = vi.spyOn(globalThis, 'fetch');
    const other = `sha256:${'2'.repeat(64)}`;
    const e = await push(DEMO, `${plain.host}/demo@${other}`).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'ERR_DIGEST', digest: other });
    expect(spy).not.toHaveBeenCalled();
    const ok = await push(DEMO, `${plain.host}/pinned@${DEMO_MANIFEST}`);
    expect(ok.reference).toBe(`${plain.host}/pinned@${DEMO_MANIFEST}`);
    expect((await skopeoInspect(plain.host, `pinned@${DEMO_MANIFEST}`)).Digest).toBe(DEMO_MANIFEST);
  });

  it('a source that lacks the ref, or is not a layout, is ERR_SOURCE before any request', async () => {
    const spy = vi.spyOn(globalThis, 'fetch');
    await expect(push(DEMO, `${plain.host}/demo:x`, { ref: 'nope' })).rejects.toMatchObject({ code: 'ERR_SOURCE', message: expect.stringContaining('no image has ref nope (refs: latest)') });
    await expect(push(fresh('empty'), `${plain.host}/demo:x`)).rejects.toMatchObject({ code: 'ERR_SOURCE' });
    await expect(push(new MemoryStore(), `${plain.host}/demo:x`)).rejects.toMatchObject({ code: 'ERR_SOURCE', message: expect.stringContaining('holds no image') });
    expect(spy).not.toHaveBeenCalled();
  });
});

describe('push with htpasswd (Basic)', () => {
  it('pushes with the credentials; skopeo copies the same blobs back', async () => {
    const result = await push(DEMO, `${basic.host}/team/demo:v1`, { credentials: USER });
    expect(result.pushed).toHaveLength(5);
    const back = await skopeoCopy(basic, 'team/demo:v1');
    expect(back.blobs).toEqual(DEMO_BLOBS);
    expect(back.digest).toBe(DEMO_MANIFEST);
  });

  it('without credentials, or with a wrong password, is ERR_UNAUTHORIZED after one retry, the password in no message', async () => {
    await expect(push(DEMO, `${basic.host}/team/demo:v2`)).rejects.toMatchObject({ code: 'ERR_UNAUTHORIZED' });
    const wrong = { username: 'carol', password: 'wrong-pass-77' };
    const spy = vi.spyOn(globalThis, 'fetch');
    const e = (await push(DEMO, `${basic.host}/team/demo:v2`, { credentials: wrong }).catch((x: unknown) => x)) as RegistryError;
    expect(e).toMatchObject({ code: 'ERR_UNAUTHORIZED' });
    expect(spy.mock.calls.length).toBeLessThanOrEqual(2 * 3 + 2);
    expect(JSON.stringify({ m: e.message, s: e.stack })).not.toContain(wrong.password);
  });
});
