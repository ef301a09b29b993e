import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RegistryError } from '../../src/registry/errors.js';
import { LayerfsError } from '../../src/util/errors.js';
import { pull } from '../../src/registry/pull.js';
import { DEMO } from '../support/save-check.js';
import { scratch } from '../support/scratch.js';
import { layoutBlobs, LayoutSink } from './support/layout-sink.js';
import { writeMultiPlatform } from './support/multi-platform.js';
import { openContentStore } from '../../src/store/directory-store.js';
import { startCountingProxy } from './support/counting-proxy.js';
import { skopeoPull, skopeoPush, startRegistry, type RunningRegistry } from './support/reference-registry.js';

/**
 * pull() against the reference registry (distribution 2.8.2), with skopeo as the cross-check:
 * what skopeo pushed, pull fetches into an OCI layout that skopeo inspects, umoci unpacks, and
 * that holds the same bytes as `skopeo copy docker://… oci:…`.
 */

const { fresh } = scratch('layerfs-pull-');
const DEMO_MANIFEST = JSON.parse(fs.readFileSync(join(DEMO, 'index.json'), 'utf8')).manifests[0].digest as string;
const USER = { username: 'alice', password: 'correct horse 7' };
let plain: RunningRegistry;
let basic: RunningRegistry;
let multi: { amd64: string; arm64: string; index: string };

beforeAll(async () => {
  [plain, basic] = await Promise.all([startRegistry(), startRegistry({ htpasswd: USER })]);
  await skopeoPush(`${DEMO}:latest`, plain, 'demo:latest');
  await skopeoPush(`${DEMO}:latest`, basic, 'team/demo:v1');
  const layout = fresh('multi');
  fs.rmdirSync(layout);
  multi = writeMultiPlatform(DEMO, layout);
  await skopeoPush(`${layout}:multi`, plain, 'demo:multi', { all: true });
  await skopeoPush(`${DEMO}:latest`, plain, 'demo:docker', { format: 'v2s2' });
}, 60_000);

afterAll(async () => {
  await Promise.all([plain?.stop(), basic?.stop()]);
});

afterEach(() => vi.restoreAllMocks());

function indexEntries(dir: string) {
  return JSON.parse(fs.readFileSync(join(dir, 'index.json'), 'utf8')).manifests.map((m: Record<string, unknown>) => ({ mediaType: m.mediaType, digest: m.digest, size: m.size, ref: (m.annotations as Record<string, string>)['org.opencontainers.image.ref.name'] }));
}

async function rejection(p: Promise<unknown>): Promise<RegistryError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(RegistryError);
  expect(e).toBeInstanceOf(LayerfsError);
  expect(e).toMatchObject({ name: 'RegistryError' });
  return e as RegistryError;
}

describe('pull from the reference registry', () => {
  it('pulls a tag into a layout that skopeo and umoci read, byte-identical to skopeo copy', async () => {
    const dir = fresh('pulled');
    const sink = new LayoutSink(dir, 'latest');
    const result = await pull(`${plain.host}/demo:latest`, { sink });
    expect(result.reference).toBe(`${plain.host}/demo:latest`);
    expect(result.manifest.digest).toBe(DEMO_MANIFEST);
    expect(result.fetched).toHaveLength(5);
    expect(sink.calls.at(-1)).toBe(`tag ${plain.host}/demo:latest`);

    const other = fresh('skopeo');
    await skopeoPull(plain, 'demo:latest', other, 'latest');
    expect(layoutBlobs(dir)).toEqual(layoutBlobs(other));
    expect(layoutBlobs(dir)).toEqual(layoutBlobs(DEMO));
    expect(indexEntries(dir)).toEqual(indexEntries(other));

    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${dir}:latest`], { encoding: 'utf8' }));
    expect(inspect.Digest).toBe(DEMO_MANIFEST);
    const bundle = join(fresh('bundle'), 'b');
    execFileSync('umoci', ['unpack', '--image', `${dir}:latest`, bundle], { stdio: 'pipe' });
    expect(fs.existsSync(join(bundle, 'rootfs'))).toBe(true);
  });

  it('fetches only the blobs the sink lacks, at most 3 at once', async () => {
    const dir = fresh('again');
    const first = new LayoutSink(dir, 'latest');
    await pull(`${plain.host}/demo:latest`, { sink: first });
    expect(first.maxInFlight).toBe(3);
    const config = JSON.parse(fs.readFileSync(join(dir, 'blobs', 'sha256', DEMO_MANIFEST.slice(7)), 'utf8')).config.digest as string;
    fs.rmSync(join(dir, 'blobs', 'sha256', config.slice(7)));
    const second = new LayoutSink(dir, 'latest');
    const result = await pull(`${plain.host}/demo:latest`, { sink: second, concurrency: 1 });
    expect(result.fetched.map((d) => d.digest)).toEqual([config]);
    expect(result.present).toHaveLength(4);
    expect(second.calls.filter((c) => c.startsWith('ingest'))).toEqual([`ingest ${config}`]);
    expect(layoutBlobs(dir)).toEqual(layoutBlobs(DEMO));
  });

  it('pulls a digest reference, and tags it by that reference', async () => {
    const sink = new LayoutSink(fresh('bydigest'), 'pinned');
    const result = await pull(`${plain.host}/demo@${DEMO_MANIFEST}`, { sink });
    expect(result.manifest.digest).toBe(DEMO_MANIFEST);
    expect(result.reference).toBe(`${plain.host}/demo@${DEMO_MANIFEST}`);
    const both = await pull(`${plain.host}/demo:whatever@${DEMO_MANIFEST}`, { sink: new LayoutSink(fresh('both'), 'x') });
    expect(both.manifest.digest).toBe(DEMO_MANIFEST);
  });

  it('pulls a Docker schema 2 manifest (skopeo --format v2s2) as the registry serves it', async () => {
    const dir = fresh('docker');
    const result = await pull(`${plain.host}/demo:docker`, { sink: new LayoutSink(dir, 'docker') });
    expect(result.manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    const served = Buffer.from(await (await fetch(`http://${plain.host}/v2/demo/manifests/docker`, { headers: { accept: result.manifest.mediaType } })).arrayBuffer());
    expect(fs.readFileSync(join(dir, 'blobs', 'sha256', result.manifest.digest.slice(7)))).toEqual(served);
    const manifest = JSON.parse(served.toString());
    expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(Array(4).fill('application/vnd.docker.image.rootfs.diff.tar.gzip'));
    // The layers are the demo's bytes; the config and manifest are skopeo's conversion.
    const names = layoutBlobs(dir);
    for (const line of layoutBlobs(DEMO).filter((l) => manifest.layers.some((x: { digest: string }) => l.startsWith(x.digest)))) expect(names).toContain(line);
    expect(names).toHaveLength(6);
  });

  it('a digest the repository does not hold is a typed ERR_NOT_FOUND naming it', async () => {
    const missing = `sha256:${'0'.repeat(64)}`;
    const e = await rejection(pull(`${plain.host}/demo@${missing}`, { sink: new LayoutSink(fresh('missing'), 'x') }));
    expect(e.code).toBe('ERR_NOT_FOUND');
    expect(e.message).toContain(missing);
    expect(e.message).toContain('MANIFEST_UNKNOWN');
    const tag = await rejection(pull(`${plain.host}/demo:nope`, { sink: new LayoutSink(fresh('missing'), 'x') }));
    expect(tag.code).toBe('ERR_NOT_FOUND');
  });

  it('chooses the platform from an index, and the manifest is checked against the index digest', async () => {
    const arm = await pull(`${plain.host}/demo:multi`, { sink: new LayoutSink(fresh('arm'), 'multi'), platform: 'linux/arm64' });
    expect(arm.manifest.digest).toBe(multi.arm64);
    const amd = await pull(`${plain.host}/demo:multi`, { sink: new LayoutSink(fresh('amd'), 'multi'), platform: { os: 'linux', architecture: 'amd64' } });
    expect(amd.manifest.digest).toBe(multi.amd64);
    const byIndex = await pull(`${plain.host}/demo@${multi.index}`, { sink: new LayoutSink(fresh('idx'), 'multi'), platform: 'linux/arm64/v8' });
    expect(byIndex.manifest.digest).toBe(multi.arm64);
    const none = await rejection(pull(`${plain.host}/demo:multi`, { sink: new LayoutSink(fresh('none'), 'multi'), platform: 'linux/s390x' }));
    expect(none.code).toBe('ERR_PLATFORM');
    expect(none.message).toContain(multi.index);
    expect(none.message).toContain('linux/amd64, linux/arm64');
  });
});

describe('pull with htpasswd (Basic)', () => {
  it('pulls with the credentials, like skopeo', async () => {
    const dir = fresh('basic');
    const result = await pull(`${basic.host}/team/demo:v1`, { sink: new LayoutSink(dir, 'v1'), credentials: USER });
    expect(result.manifest.digest).toBe(DEMO_MANIFEST);
    const other = fresh('basic-skopeo');
    await skopeoPull(basic, 'team/demo:v1', other, 'v1');
    expect(layoutBlobs(dir)).toEqual(layoutBlobs(other));
  });

  it('without credentials is a typed ERR_UNAUTHORIZED after one request', async () => {
    const spy = vi.spyOn(globalThis, 'fetch');
    const e = await rejection(pull(`${basic.host}/team/demo:v1`, { sink: new LayoutSink(fresh('anon'), 'v1') }));
    expect(e.code).toBe('ERR_UNAUTHORIZED');
    expect(e.message).toContain('none were given');
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('a wrong password is one retry and a typed ERR_UNAUTHORIZED, never quoting the password', async () => {
    const spy = vi.spyOn(globalThis, 'fetch');
    const wrong = { username: 'alice', password: 'hunter2-wrong' };
    const started = Date.now();
    const e = await rejection(pull(`${basic.host}/team/demo:v1`, { sink: new LayoutSink(fresh('wrong'), 'v1'), credentials: wrong }));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(e.code).toBe('ERR_UNAUTHORIZED');
    expect(e.message).toContain('refused the credentials');
    expect(spy).toHaveBeenCalledTimes(2);
    const everything = JSON.stringify({ message: e.message, stack: e.stack, own: { ...e } }) + String(e.cause ?? '');
    expect(everything).not.toContain(wrong.password);
    expect(everything).not.toContain(Buffer.from(`alice:${wrong.password}`).toString('base64'));
  });
});

describe('plain HTTP', () => {
  it('is refused to a host that is not loopback unless insecure, before any request', async () => {
    const spy = vi.spyOn(globalThis, 'fetch');
    const e = await rejection(pull('registry.invalid:5000/demo:latest', { sink: new LayoutSink(fresh('remote'), 'x'), insecure: false, maxRedirects: 0 }).catch((x) => Promise.reject(x)));
    // Not loopback and not insecure: https is used, and the name does not resolve.
    expect(e.code).toBe('ERR_HTTP');
    expect(spy.mock.calls[0]![0]!.toString()).toMatch(/^https:\/\/registry\.invalid:5000\/v2\/demo\/manifests\/latest$/);
  });
});

describe('a cut blob resumed against the reference registry', () => {
  it('through a proxy that drops the big layer at 300,000 bytes: one Range request for the rest, byte-identical to the demo', async () => {
    const layer = JSON.parse(fs.readFileSync(join(DEMO, 'blobs', 'sha256', DEMO_MANIFEST.slice(7)), 'utf8')).layers[0] as { digest: string; size: number };
    const CUT = 300_000;
    const proxy = await startCountingProxy(plain.host, (method, path, headers) => (method === 'GET' && path.endsWith(`/blobs/${layer.digest}`) && headers.range === undefined ? CUT : undefined));
    try {
      const dir = join(fresh('resumed'), 'store');
      const store = await openContentStore(dir);
      const result = await pull(`${proxy.host}/demo:latest`, { sink: store });
      const forLayer = proxy.log.filter((r) => r.path.endsWith(`/blobs/${layer.digest}`));
      expect(forLayer.map(({ range, status, bytes, cut }) => ({ range, status, bytes, cut }))).toEqual([
        { range: undefined, status: 200, bytes: CUT, cut: true },
        { range: `bytes=${CUT}-`, status: 206, bytes: layer.size - CUT, cut: false },
      ]);
      // distribution 2.8.2 serves blobs with http.ServeContent, with the digest as a strong ETag.
      expect(forLayer[1]!.ifRange).toBe(`"${layer.digest}"`);
      expect(result.resumes).toBe(1);
      expect(result.received).toBe(result.fetched.reduce((n, d) => n + d.size, 0));
      expect(layoutBlobs(dir)).toEqual(layoutBlobs(DEMO));
      expect((await store.images()).images.map((i) => i.manifest.digest)).toEqual([DEMO_MANIFEST]);
    } finally {
      await proxy.close();
    }
  });
});
