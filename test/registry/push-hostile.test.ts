import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError, type RegistryErrorCode } from '../../src/registry/errors.js';
import { push, type PushOptions } from '../../src/registry/push.js';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { DEMO } from '../support/save-check.js';
import { writeMultiPlatform } from './support/multi-platform.js';
import { scratch } from '../support/scratch.js';
import { startHostileRegistry, type HostileRegistry } from './support/hostile-registry.js';
import { writeTwoLayerImage, type TwoLayerImage } from './support/two-layer-image.js';

/**
 * push() against a registry that breaks the upload protocol (test/registry/support/
 * hostile-registry.ts, `push-*`): each case is a typed RegistryError within a bounded time, and
 * nothing is committed (no blob PUT after the broken answer, no manifest, no tag). `push-good`
 * checks every Content-Range against what it holds (distribution 2.8.2 ignores the header).
 */

const { fresh } = scratch('layerfs-push-hostile-');
let hostile: HostileRegistry;
let two: TwoLayerImage;
const CHUNK = 64 * 1024;

beforeAll(async () => {
  hostile = await startHostileRegistry(DEMO);
  two = writeTwoLayerImage(fresh('two'));
});
afterAll(() => hostile?.close());

async function failing(repo: string, code: RegistryErrorCode, options: Partial<PushOptions> = {}, bound = 5000) {
  const before = hostile.requests.length;
  const started = Date.now();
  const e = await push(two.layout, `${hostile.host}/${repo}:v1`, { idleTimeout: 500, chunkSize: CHUNK, concurrency: 1, ...options }).then(() => undefined, (x: unknown) => x);
  const elapsed = Date.now() - started;
  expect(e, `${repo}: ${String(e)}`).toBeInstanceOf(RegistryError);
  expect((e as RegistryError).code, (e as Error).message).toBe(code);
  expect(elapsed).toBeLessThan(bound);
  const seen = hostile.requests.slice(before);
  expect(seen.filter((r) => r.includes('/manifests/') && r.startsWith('PUT'))).toEqual([]);
  expect([...hostile.stored.keys()].filter((k) => k.startsWith(`${repo}:`))).toEqual([]);
  // The blob that failed is not committed (but where the registry committed it and then lied about its digest).
  expect(hostile.stored.has(`${repo}@${(e as RegistryError).digest}`)).toBe(repo === 'push-blob-digest');
  return { error: e as RegistryError, seen };
}

describe('push to a hostile registry', () => {
  it('push-good (strict Content-Range, digest checked on PUT) takes a chunked and a monolithic push whole', async () => {
    const chunked = await push(two.layout, `${hostile.host}/push-good:v1`, { chunkSize: CHUNK });
    expect(chunked.pushed).toHaveLength(3);
    for (const b of two.blobs) expect(hostile.stored.get(`push-good@${b.digest}`)).toEqual(b.data);
    expect(hostile.stored.get('push-good:v1')).toEqual(two.manifestBytes);
    const again = await push(two.layout, `${hostile.host}/push-good:v2`);
    expect(again.present).toHaveLength(3);
  });

  it('a chunk answered with a Range short of the bytes sent (0-99 after 64 KiB) is ERR_UPLOAD, and the upload is not committed', async () => {
    const { error, seen } = await failing('push-range-short', 'ERR_UPLOAD');
    expect(error.message).toMatch(/Range "0-99", not 0-65535/);
    expect(error.message).toContain(two.blobs[1]!.digest);
    expect(error.message).toMatch(/PATCH upload of blob sha256:[0-9a-f]{64} \(http:\/\/127\.0\.0\.1:\d+\/v2\/push-range-short\/blobs\/uploads\/u\d+\)/);
    expect(error.message).not.toContain('_state');
    // The chunked layer's upload: one PATCH, no PUT to commit it, a DELETE to cancel it.
    const layer = encodeURIComponent(two.blobs[1]!.digest);
    expect(seen.filter((r) => r.startsWith('PATCH'))).toHaveLength(1);
    expect(seen.filter((r) => r.startsWith('PUT') && r.includes(layer))).toEqual([]);
    expect(seen.filter((r) => r.startsWith('DELETE'))).toHaveLength(1);
  });

  it('a Range past the bytes sent, or none at all, is ERR_UPLOAD', async () => {
    expect((await failing('push-range-ahead', 'ERR_UPLOAD')).error.message).toMatch(/Range "0-65635", not 0-65535/);
    expect((await failing('push-range-missing', 'ERR_UPLOAD')).error.message).toMatch(/Range \(none\)/);
  });

  it('an upload Location on another host is refused before a byte goes there', async () => {
    const { error, seen } = await failing('push-location-elsewhere', 'ERR_UPLOAD');
    expect(error.message).toContain('another host (http://elsewhere.invalid)');
    expect(seen.filter((r) => r.startsWith('PATCH') || r.startsWith('PUT'))).toEqual([]);
  });

  it('a blob PUT answered with another Docker-Content-Digest is ERR_DIGEST naming the blob', async () => {
    const { error } = await failing('push-blob-digest', 'ERR_DIGEST', { chunkSize: undefined });
    expect(error.digest).toBe(two.blobs[0]!.digest);
    expect(error.message).toContain(`sha256:${'4'.repeat(64)}`);
  });

  it('a manifest PUT answered with another Docker-Content-Digest is ERR_DIGEST naming the manifest', async () => {
    const e = await push(two.layout, `${hostile.host}/push-manifest-digest:v1`).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect(e).toMatchObject({ code: 'ERR_DIGEST', digest: two.manifest });
  });

  it("a manifest HEAD redirected to another repository's manifest is ERR_REDIRECT: that repository's manifest does not count as here", async () => {
    // push-good holds the whole index; the source lacks its arm64 manifest, which push HEADs first.
    const whole = join(fresh('multi-whole'), 'l');
    const multi = writeMultiPlatform(DEMO, whole);
    await push(whole, `${hostile.host}/push-good:multi`, { ref: 'multi' });
    const partial = join(fresh('multi-partial'), 'l');
    writeMultiPlatform(DEMO, partial);
    fs.rmSync(join(partial, 'blobs', 'sha256', multi.arm64.slice(7)));
    const before = hostile.requests.length;
    const e = await push(partial, `${hostile.host}/push-head-redirect:multi`, { ref: 'multi', idleTimeout: 500 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect(e).toMatchObject({ code: 'ERR_REDIRECT', digest: multi.arm64 });
    const seen = hostile.requests.slice(before);
    expect(seen).toEqual([`HEAD /v2/push-head-redirect/manifests/${multi.arm64}`]);
    expect([...hostile.stored.keys()].filter((k) => k.startsWith('push-head-redirect'))).toEqual([]);
  });

  it('a registry answering 401 to every request, token or not, is ERR_UNAUTHORIZED after one token, in few requests', async () => {
    const { seen } = await failing('push-401-loop', 'ERR_UNAUTHORIZED');
    expect(seen.length).toBeLessThanOrEqual(3);
  });

  it('a registry with anonymous reads: a push whose blobs are all there answers the challenge its manifest PUT gets (no HEAD was challenged)', async () => {
    const credentials = { username: 'u', password: 'p' };
    const first = await push(two.layout, `${hostile.host}/push-anon-read:v1`, { credentials });
    expect(first.pushed).toHaveLength(3);
    // A new push (a new client, no challenge seen yet): every HEAD answers 200 anonymously, so
    // the first request that needs the credentials is the manifest PUT, which has a body.
    const again = await push(two.layout, `${hostile.host}/push-anon-read:v2`, { credentials });
    expect(again.present).toHaveLength(3);
    expect(hostile.stored.get('push-anon-read:v2')).toEqual(two.manifestBytes);
  });

  it('an upload that stalls (the body not read, or read and never answered) is ERR_TIMEOUT in bounded time', async () => {
    await failing('push-stall', 'ERR_TIMEOUT', { chunkSize: undefined, idleTimeout: 300 });
    await failing('push-stall', 'ERR_TIMEOUT', { idleTimeout: 300 });
    await failing('push-stall-answer', 'ERR_TIMEOUT', { idleTimeout: 300 });
  });
});
