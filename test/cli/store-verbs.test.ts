import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInScratch, runCli } from '../support/cli-binary.js';
import { DEMO } from '../support/save-check.js';
import { writeMultiPlatform } from '../registry/support/multi-platform.js';
import { writeSecondImage } from '../registry/support/second-image.js';
import { skopeoPush, startRegistry, type RunningRegistry } from '../registry/support/reference-registry.js';

/**
 * `layerfs pull`, `images` and `prune` through the built program, against the reference
 * registry (distribution 2.8.2) with skopeo as the cross-check: what pull puts in the store,
 * skopeo and `layerfs ls oci:STORE:REF` read.
 */
const { work, layerfs, built } = cliInScratch('lfs-cli-store-');
const DEMO_MANIFEST = JSON.parse(fs.readFileSync(join(DEMO, 'index.json'), 'utf8')).manifests[0].digest as string;
let registry: RunningRegistry;
let v2: Awaited<ReturnType<typeof writeSecondImage>>;
let multi: ReturnType<typeof writeMultiPlatform>;
const json = (...args: string[]) => {
  const r = layerfs(...args, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

beforeAll(async () => {
  registry = await startRegistry();
  await skopeoPush(`${DEMO}:latest`, registry, 'demo:latest');
  fs.mkdirSync(join(work, 'v2'));
  v2 = await writeSecondImage(DEMO, join(work, 'v2'));
  await skopeoPush(`${v2.layout}:v2`, registry, 'demo:v2');
  multi = writeMultiPlatform(DEMO, join(work, 'multi'));
  await skopeoPush(`${join(work, 'multi')}:multi`, registry, 'demo:multi', { all: true });
}, 60_000);
afterAll(() => registry?.stop());

describe('layerfs pull', () => {
  it('pulls into --store (made when missing), which skopeo and layerfs ls read; a second pull fetches nothing', () => {
    const store = join(work, 'made/store');
    const ref = `${registry.host}/demo:latest`;
    const first = json('pull', ref, '--store', store);
    expect(first).toMatchObject({ reference: ref, store, digest: DEMO_MANIFEST, mediaType: 'application/vnd.oci.image.manifest.v1+json' });
    expect(first.fetched).toHaveLength(5);
    expect(first.present).toEqual([]);
    expect(first.bytes).toBe(first.fetched.reduce((n: number, b: { size: number }) => n + b.size, 0));
    expect(JSON.parse(execFileSync('skopeo', ['inspect', `oci:${store}:${ref}`], { encoding: 'utf8' })).Digest).toBe(DEMO_MANIFEST);
    const ls = layerfs('ls', `oci:${store}:${ref}`, '/etc');
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toBe(layerfs('ls', DEMO, '/etc').stdout);

    const again = layerfs('pull', ref, '--store', store);
    expect(again, again.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toBe(`${ref}: ${DEMO_MANIFEST}\n  0 blobs fetched (0 B), 5 already in ${store}\n`);
  });

  it('docker://REF is the same REF, as IMAGE takes it: pulled and tagged by the reference without the transport', () => {
    const store = join(work, 'transport/store');
    const ref = `${registry.host}/demo:latest`;
    expect(json('pull', `docker://${ref}`, '--store', store)).toMatchObject({ reference: ref, digest: DEMO_MANIFEST });
    expect(json('images', '--store', store).images.map((i: { ref: string }) => i.ref)).toEqual([ref]);
  });

  it('--platform picks the manifest of an index; one the index lacks is one line listing those it has', () => {
    const store = join(work, 'platform');
    expect(json('pull', `${registry.host}/demo:multi`, '--store', store, '--platform', 'linux/arm64').digest).toBe(multi.arm64);
    expect(json('pull', `${registry.host}/demo:multi`, '--store', store, '--platform', 'linux/amd64').digest).toBe(multi.amd64);
    const none = layerfs('pull', `${registry.host}/demo:multi`, '--store', store, '--platform', 'linux/s390x');
    expect(none).toMatchObject({ code: 1, stdout: '' });
    expect(none.stderr).toMatch(/^layerfs: .*linux\/amd64, linux\/arm64.*\n$/);
  });

  it('without --store, pulls into $XDG_CACHE_HOME/layerfs/store, else ~/.cache/layerfs/store', () => {
    const ref = `${registry.host}/demo:latest`;
    const xdg = join(work, 'xdg');
    const r = runCli(built().bin, ['pull', ref, '--json'], { cwd: work, env: { XDG_CACHE_HOME: xdg } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).store).toBe(join(xdg, 'layerfs/store'));
    const home = join(work, 'home');
    // A relative XDG_CACHE_HOME is ignored (XDG Base Directory spec).
    const h = runCli(built().bin, ['pull', ref, '--json'], { cwd: work, env: { XDG_CACHE_HOME: 'relative', HOME: home } });
    expect(h.code, h.stderr).toBe(0);
    expect(JSON.parse(h.stdout).store).toBe(join(home, '.cache/layerfs/store'));
    expect(fs.existsSync(join(home, '.cache/layerfs/store/index.json'))).toBe(true);
  });

  it('errors are one line and exit 1: an unknown tag, a bad reference, a store that is not a layout, a host that does not resolve', () => {
    const store = join(work, 'errors');
    const missing = layerfs('pull', `${registry.host}/demo:nope`, '--store', store);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^layerfs: .*demo:nope.*MANIFEST_UNKNOWN.*\n$/);
    const bad = layerfs('pull', 'UPPER/Case', '--store', store);
    expect(bad.code).toBe(1);
    expect(bad.stderr.split('\n')).toHaveLength(2);
    const notLayout = join(work, 'not-a-layout');
    fs.mkdirSync(notLayout);
    fs.writeFileSync(join(notLayout, 'mine'), 'kept');
    const refused = layerfs('pull', `${registry.host}/demo:latest`, '--store', notLayout);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toMatch(/^layerfs: .*not-a-layout: not an OCI image layout.*"mine"\n$/);
    expect(fs.readdirSync(notLayout)).toEqual(['mine']);
    // A name that does not resolve (https: not loopback, no --insecure; pull.test.ts checks the scheme).
    const remote = layerfs('pull', 'registry.invalid:5000/demo:latest', '--store', store);
    expect(remote).toMatchObject({ code: 1, stdout: '' });
    expect(remote.stderr).toMatch(/^layerfs: registry\.invalid:5000\/demo:latest: .*ENOTFOUND\n$/);
    expect(layerfs('pull', '--store', store)).toMatchObject({ code: 2, stderr: expect.stringMatching(/^layerfs: pull: REF is needed/) });
    expect(layerfs('pull', 'a', 'b')).toMatchObject({ code: 2 });
    expect(layerfs('pull', '--help').stdout).toContain('--insecure');
  });
});

describe('help', () => {
  it('--help lists pull, images and prune; each one\'s help fits 80 columns and is VERB --help', () => {
    const all = layerfs('--help').stdout;
    for (const v of ['pull', 'images', 'prune']) {
      expect(all).toMatch(new RegExp(`\\n  ${v} +\\S`));
      const h = layerfs('help', v);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^usage: layerfs ${v}`));
      expect(h.stdout).toContain('--store DIR');
      expect(layerfs(v, '--help').stdout).toBe(h.stdout);
      expect(h.stdout.split('\n').filter((l) => l.length > 80)).toEqual([]);
    }
    expect(all.split('\n').filter((l) => l.length > 80)).toEqual([]);
  });
});

describe('layerfs images and prune', () => {
  it('images lists refs, digests, sizes and shared bytes; prune removes what an untagged image left, --dry-run nothing', () => {
    const store = join(work, 'two');
    expect(layerfs('images', '--store', store).stdout).toBe(`no images in ${store}\n`);
    expect(fs.existsSync(store)).toBe(false);
    json('pull', `${registry.host}/demo:latest`, '--store', store);
    const second = json('pull', `${registry.host}/demo:v2`, '--store', store);
    expect(second.fetched).toHaveLength(2);
    expect(second.present).toHaveLength(4);

    const listed = json('images', '--store', store);
    const demo = listed.images.find((i: { ref: string }) => i.ref.endsWith('demo:latest'));
    const two = listed.images.find((i: { ref: string }) => i.ref.endsWith('demo:v2'));
    expect(demo.digest).toBe(DEMO_MANIFEST);
    expect(two.digest).toBe(v2.manifest);
    // The four demo layers are what both reach.
    const layers = JSON.parse(fs.readFileSync(join(store, 'blobs/sha256', DEMO_MANIFEST.slice(7)), 'utf8')).layers as Array<{ size: number }>;
    const shared = layers.reduce((n, l) => n + l.size, 0);
    expect(demo.sharedBytes).toBe(shared);
    expect(two.sharedBytes).toBe(shared);
    expect(listed.sharedBytes).toBe(shared);
    expect(listed.totalBytes).toBe(demo.bytes + two.bytes - shared);
    // The total line: logical (per image, added up) against on disk (each blob once, and what no ref reaches).
    expect(listed.logicalBytes).toBe(demo.bytes + two.bytes);
    expect(listed).toMatchObject({ diskBytes: listed.totalBytes, unreachableBytes: 0 });
    const text = layerfs('images', '--store', store).stdout;
    expect(text).toMatch(/^REF +DIGEST +SIZE +SHARED\n/);
    expect(text).toContain(`2 images`);

    expect(json('prune', '--store', store)).toEqual({ store, dryRun: false, removed: [], bytes: 0 });
    // Untag v2 (index.json without its entry, as `skopeo delete` cannot do for a layout): its config, manifest and layer are unreachable.
    const indexPath = join(store, 'index.json');
    const index = JSON.parse(fs.readFileSync(indexPath, 'utf8'));
    index.manifests = index.manifests.filter((m: { digest: string }) => m.digest !== v2.manifest);
    fs.writeFileSync(indexPath, JSON.stringify(index));
    const dry = json('prune', '--store', store, '--dry-run');
    expect(dry.dryRun).toBe(true);
    expect(dry.removed.map((b: { digest: string }) => b.digest).sort()).toEqual([second.digest, ...second.fetched.map((b: { digest: string }) => b.digest)].sort());
    expect(fs.existsSync(join(store, 'blobs/sha256', v2.newLayer.slice(7)))).toBe(true);
    const untagged = json('images', '--store', store);
    expect(untagged).toMatchObject({ unreachableBytes: dry.bytes, diskBytes: untagged.totalBytes + dry.bytes, logicalBytes: untagged.totalBytes });
    expect(layerfs('images', '--store', store).stdout).toMatch(/\n1 image: .+ logical, .+ on disk in .+ no image reaches \(layerfs prune removes it\)\)\n$/);
    const pruned = layerfs('prune', '--store', store);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(/\n3 blobs removed, .* in /);
    expect(fs.existsSync(join(store, 'blobs/sha256', v2.newLayer.slice(7)))).toBe(false);
    expect(JSON.parse(execFileSync('skopeo', ['inspect', `oci:${store}:${registry.host}/demo:latest`], { encoding: 'utf8' })).Digest).toBe(DEMO_MANIFEST);
    expect(json('images', '--store', store).images).toHaveLength(1);
  });

  it('a store that is not a layout is one line and exit 1; an extra argument is a usage error', () => {
    const file = join(work, 'a-file');
    fs.writeFileSync(file, '');
    expect(layerfs('images', '--store', file)).toMatchObject({ code: 1, stderr: `layerfs: ${file}: not a directory\n` });
    expect(layerfs('prune', '--store', file)).toMatchObject({ code: 1, stderr: `layerfs: ${file}: not a directory\n` });
    expect(layerfs('images', 'extra').code).toBe(2);
    expect(layerfs('prune', '--help').stdout).toContain('--dry-run');
  });
});
