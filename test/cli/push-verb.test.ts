import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInScratch } from '../support/cli-binary.js';
import { DEMO } from '../support/save-check.js';
import { startRegistry, type RunningRegistry } from '../registry/support/reference-registry.js';
import { writeTwoLayerImage, type TwoLayerImage } from '../registry/support/two-layer-image.js';

/**
 * `layerfs push` through the built program against the reference registry (distribution
 * 2.8.2), with skopeo reading back what it pushed: from an OCI layout, from the content store
 * by its ref (mounting the blobs of an image pulled from the same registry), in chunks.
 */
const { work, layerfs } = cliInScratch('lfs-cli-push-');
const DEMO_MANIFEST = JSON.parse(fs.readFileSync(join(DEMO, 'index.json'), 'utf8')).manifests[0].digest as string;
let registry: RunningRegistry;
let two: TwoLayerImage;
const json = (...args: string[]) => {
  const r = layerfs(...args, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};
const inspected = (repoTag: string) => JSON.parse(execFileSync('skopeo', ['inspect', '--no-tags', '--tls-verify=false', `docker://${registry.host}/${repoTag}`], { encoding: 'utf8' })).Digest as string;

beforeAll(async () => {
  registry = await startRegistry();
  fs.mkdirSync(join(work, 'two'));
  two = writeTwoLayerImage(join(work, 'two'));
}, 60_000);
afterAll(() => registry?.stop());

describe('layerfs push', () => {
  it('pushes an OCI layout (oci:DIR:TAG); a second push sends only the manifest; skopeo inspect reads it', () => {
    const ref = `${registry.host}/demo:cli`;
    const first = json('push', `oci:${DEMO}:latest`, ref);
    expect(first).toMatchObject({ reference: ref, source: DEMO, digest: DEMO_MANIFEST, mediaType: 'application/vnd.oci.image.manifest.v1+json', mounted: [], present: [], from: null });
    expect(first.pushed).toHaveLength(5);
    const manifestSize = fs.statSync(join(DEMO, 'blobs/sha256', DEMO_MANIFEST.slice(7))).size;
    expect(first.bytes).toBe(first.pushed.reduce((n: number, b: { size: number }) => n + b.size, 0) + manifestSize);
    expect(inspected('demo:cli')).toBe(DEMO_MANIFEST);
    const again = layerfs('push', DEMO, ref);
    expect(again, again.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toBe(`${ref}: ${DEMO_MANIFEST}\n  0 blobs pushed (${manifestSize} B sent), 5 already there\n`);
  });

  it('pushes an image of the store by its ref, mounting the blobs from the repository it was pulled from', () => {
    const store = join(work, 'store');
    json('pull', `${registry.host}/demo:cli`, '--store', store);
    const pushed = json('push', `${registry.host}/demo:cli`, `${registry.host}/team/copy:v1`, '--store', store);
    expect(pushed.from).toBe('demo');
    expect(pushed.mounted).toHaveLength(5);
    expect(pushed.pushed).toEqual([]);
    expect(pushed.source).toBe(store);
    expect(inspected('team/copy:v1')).toBe(DEMO_MANIFEST);
    const text = layerfs('push', `${registry.host}/demo:cli`, `${registry.host}/team/copy2:v1`, '--store', store);
    expect(text.stdout).toMatch(/, 5 mounted from demo, 0 already there\n$/);
  });

  it('--chunk-size sends a larger blob in PATCH chunks (K, M, G units); skopeo reads the image', () => {
    const r = json('push', `${two.layout}:two`, `${registry.host}/two:chunked`, '--chunk-size', '64K');
    expect(r.pushed).toHaveLength(3);
    expect(inspected('two:chunked')).toBe(two.manifest);
  });

  it('errors: usage errors exit 2, a missing image or ref exits 1 with one line', () => {
    const ref = `${registry.host}/demo:x`;
    expect(layerfs('push', DEMO)).toMatchObject({ code: 2, stderr: expect.stringMatching(/^layerfs: push: IMAGE and REF are needed/) });
    expect(layerfs('push', DEMO, ref, '--chunk-size', '0')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--chunk-size takes a number of bytes >= 1/) });
    expect(layerfs('push', DEMO, ref, '--chunk-size', 'lots')).toMatchObject({ code: 2 });
    expect(layerfs('push', DEMO, ref, '--platform', 'linux/amd64')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--platform is not taken/) });
    expect(layerfs('push', `docker-archive:${join(work, 'x.tar')}`, ref)).toMatchObject({ code: 2, stderr: expect.stringMatching(/push reads an OCI layout or the content store/) });
    const missing = layerfs('push', 'nowhere/image:tag', ref, '--store', join(work, 'store'));
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toMatch(/^layerfs: push: nowhere\/image:tag: no such file or directory, and the store .* has no image of that ref \(refs: .*demo:cli\)\n$/);
    const noRef = layerfs('push', `${DEMO}:nope`, ref);
    expect(noRef).toMatchObject({ code: 1 });
    expect(noRef.stderr).toMatch(/^layerfs: .*no image has ref nope \(refs: latest\)\n$/);
    const remote = layerfs('push', DEMO, 'registry.invalid:5000/demo:latest');
    expect(remote).toMatchObject({ code: 1, stdout: '' });
    expect(remote.stderr).toMatch(/^layerfs: registry\.invalid:5000\/demo:latest \(sha256:[0-9a-f]{64}\): HEAD blob .*ENOTFOUND\n$/);
  });

  it('help lists push; its help fits 80 columns', () => {
    expect(layerfs('--help').stdout).toMatch(/\n  push +\S/);
    const h = layerfs('help', 'push');
    expect(h.stdout).toMatch(/^usage: layerfs push IMAGE REF/);
    expect(h.stdout).toContain('--chunk-size N');
    expect(h.stdout.split('\n').filter((l) => l.length > 80)).toEqual([]);
    expect(layerfs('push', '--help').stdout).toBe(h.stdout);
  });
});
