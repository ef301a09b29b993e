import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError, type RegistryErrorCode } from '../../src/registry/errors.js';
import { pull, type PullOptions, type PullResult } from '../../src/registry/pull.js';
import { openImageManifest } from '../../src/registry/open-reference.js';
import { MAX_BLOB_RESUMES } from '../../src/registry/blob.js';
import { DEMO } from '../support/save-check.js';
import { scratch } from '../support/scratch.js';
import { startHostileRegistry, type HostileRegistry } from './support/hostile-registry.js';
import { layoutBlobs, LayoutSink } from './support/layout-sink.js';
import { openContentStore } from '../../src/store/directory-store.js';
import { StoreError } from '../../src/store/errors.js';

/**
 * pull() against a registry that misbehaves (test/registry/support/hostile-registry.ts): each
 * case is a typed RegistryError within a bounded time, and the sink holds nothing unverified.
 */

const { fresh } = scratch('layerfs-hostile-');
let hostile: HostileRegistry;

beforeAll(async () => {
  hostile = await startHostileRegistry(DEMO);
});
afterAll(() => hostile?.close());

async function failing(repo: string, code: RegistryErrorCode, options: Partial<PullOptions> = {}, bound = 5000) {
  const dir = fresh(repo);
  const sink = new LayoutSink(dir, 'latest');
  const started = Date.now();
  const e = await pull(`${hostile.host}/${repo}${options.platform ? '' : ':latest'}`, { sink, idleTimeout: 500, ...options }).then(() => undefined, (x: unknown) => x);
  const elapsed = Date.now() - started;
  expect(e, `${repo}: ${String(e)}`).toBeInstanceOf(RegistryError);
  expect((e as RegistryError).code, (e as Error).message).toBe(code);
  expect(elapsed).toBeLessThan(bound);
  // Nothing unverified under a digest name, no temporary left, and never a tag.
  for (const line of layoutBlobs(dir)) {
    const [name, hash] = line.split(' ');
    expect(name!.slice(7)).toBe(hash);
  }
  expect(fs.existsSync(join(dir, 'index.json'))).toBe(false);
  return { error: e as RegistryError, sink };
}

/** Pulls `repo:latest` into a new content store: its directory, the store, and the result or the error. */
async function intoStore(repo: string): Promise<{ dir: string; store: Awaited<ReturnType<typeof openContentStore>>; result?: PullResult; error?: unknown }> {
  const dir = join(fresh(repo), 'store');
  const store = await openContentStore(dir);
  const outcome = await pull(`${hostile.host}/${repo}:latest`, { sink: store }).then((result) => ({ result }), (error: unknown) => ({ error }));
  return { dir, store, ...outcome };
}

describe('a hostile registry', () => {
  it('serves the good repository, so the cases below fail for their own reason', async () => {
    const sink = new LayoutSink(fresh('good'), 'latest');
    const r = await pull(`${hostile.host}/good:latest`, { sink });
    expect(r.manifest.digest).toBe(hostile.manifestDigest);
    expect(layoutBlobs(sink.dir)).toEqual(layoutBlobs(DEMO));
  });

  it('a manifest that does not match the @sha256 asked for is ERR_DIGEST naming the digest', async () => {
    const dir = fresh('mismatch');
    const e = await pull(`${hostile.host}/other-manifest@${hostile.manifestDigest}`, { sink: new LayoutSink(dir, 'x') }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as RegistryError).code).toBe('ERR_DIGEST');
    expect((e as RegistryError).digest).toBe(hostile.manifestDigest);
    expect(layoutBlobs(dir)).toEqual([]);
  });

  it('a Docker-Content-Digest the bytes do not hash to is ERR_DIGEST', async () => {
    const { error } = await failing('lying-digest-header', 'ERR_DIGEST');
    expect(error.message).toContain('Docker-Content-Digest');
  });

  it('an endless manifest body stops at 4 MiB with ERR_SIZE', async () => {
    const { error } = await failing('endless-manifest', 'ERR_SIZE');
    expect(error.message).toContain(String(4 << 20));
  });

  it('a manifest Content-Length over 4 MiB is ERR_SIZE before its body is read', async () => {
    await failing('huge-manifest-length', 'ERR_SIZE');
  });

  it('a blob longer than its descriptor is ERR_SIZE at once, and the sink never sees a byte past the size', async () => {
    const { error, sink } = await failing('endless-blob', 'ERR_SIZE');
    expect(error.digest).toBe(hostile.layerDigest);
    expect(sink.calls).toContain(`ingest ${hostile.layerDigest}`);
  });

  it('a blob cut short is ERR_SIZE naming it', async () => {
    const { error } = await failing('short-blob', 'ERR_SIZE');
    expect(error.digest).toBe(hostile.layerDigest);
  });

  it('a blob with the wrong bytes is refused by the sink and lands nowhere', async () => {
    const dir = fresh('wrong-blob');
    const e = await pull(`${hostile.host}/wrong-blob:latest`, { sink: new LayoutSink(dir, 'x') }).catch((x: unknown) => x);
    expect(String(e)).toContain(hostile.layerDigest);
    expect(layoutBlobs(dir).map((l) => l.split(' ')[0])).not.toContain(hostile.layerDigest);
    expect(fs.existsSync(join(dir, 'index.json'))).toBe(false);
  });

  it('a blob with one byte flipped, pulled into a real store, is its typed ERR_STORE_DIGEST_MISMATCH, and nothing is tagged or held', async () => {
    const { dir, store, error: e } = await intoStore('wrong-blob');
    expect(e).toBeInstanceOf(StoreError);
    expect((e as StoreError).code).toBe('ERR_STORE_DIGEST_MISMATCH');
    expect((e as StoreError).digest).toBe(hostile.layerDigest);
    expect(await store.has(hostile.layerDigest)).toBe(false);
    expect((await store.images()).images).toEqual([]);
    expect(fs.readdirSync(join(dir, '.layerfs', 'ingest'))).toEqual([]);
    expect(fs.readdirSync(join(dir, '.layerfs', 'leases'))).toEqual([]);
  });

  it('a redirect loop is ERR_REDIRECT after maxRedirects', async () => {
    const before = hostile.requests.length;
    await failing('redirect-loop', 'ERR_REDIRECT', { maxRedirects: 4 });
    expect(hostile.requests.length - before).toBe(5);
  });

  it('a redirect to plain HTTP on another host is ERR_INSECURE, and that host is not asked', async () => {
    const { error } = await failing('redirect-to-http', 'ERR_INSECURE');
    expect(error.message).toContain('registry.invalid');
  });

  it('with insecure: true, the plain-HTTP redirect is followed (and fails on the name that does not resolve)', async () => {
    const { error } = await failing('redirect-to-http', 'ERR_HTTP', { insecure: true });
    expect(error.message).toContain('registry.invalid');
  });

  it('bad options are Node-style TypeError/RangeError before any request, never quoting a password', async () => {
    const before = hostile.requests.length;
    const sink = new LayoutSink(fresh('options'), 'x');
    const ref = `${hostile.host}/good:latest`;
    await expect(pull(ref, { sink, idleTimeout: 0 })).rejects.toThrow(RangeError);
    await expect(pull(ref, { sink, maxRedirects: -1 })).rejects.toThrow(RangeError);
    await expect(pull(ref, { sink, concurrency: 0 })).rejects.toThrow(RangeError);
    const e = await pull(ref, { sink, credentials: { username: 'u', password: 42 } as never }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TypeError);
    const leaked = await pull(ref, { sink, credentials: 'u:pw-in-a-string' as never }).catch((x: unknown) => x);
    expect(String(leaked)).not.toContain('pw-in-a-string');
    expect(hostile.requests.length).toBe(before);
  });

  it('a body that stalls is ERR_TIMEOUT after the idle timeout', async () => {
    const { error } = await failing('stall-body', 'ERR_TIMEOUT', { idleTimeout: 300 }, 3000);
    expect(error.digest).toBe(hostile.layerDigest);
  });

  it('a server that never answers is ERR_TIMEOUT', async () => {
    await failing('stall-headers', 'ERR_TIMEOUT', { idleTimeout: 300 }, 3000);
  });

  it('a layer digest that is a path is ERR_MANIFEST before any blob request', async () => {
    const before = hostile.requests.length;
    await failing('traversal', 'ERR_MANIFEST');
    expect(hostile.requests.slice(before).filter((r) => r.includes('/blobs/'))).toEqual([]);
  });

  it('a schema 1 manifest is ERR_MANIFEST', async () => {
    await failing('schema1', 'ERR_MANIFEST');
  });

  it('an unknown repository is ERR_NOT_FOUND with the registry error code', async () => {
    const { error } = await failing('nothing-here', 'ERR_NOT_FOUND');
    expect(error.message).toContain('NAME_UNKNOWN');
  });
});

describe('Bearer tokens from a hostile registry', () => {
  it('answers the challenge with one token, reused for the manifest and every blob', async () => {
    const before = hostile.requests.length;
    const sink = new LayoutSink(fresh('bearer'), 'latest');
    await pull(`${hostile.host}/bearer:latest`, { sink, credentials: { username: 'u', password: 'pw-bearer' } });
    const tokenRequests = hostile.requests.slice(before).filter((r) => r.startsWith('GET /token'));
    expect(tokenRequests).toEqual(['GET /token?service=hostile&scope=repository%3Abearer%3Apull']);
    expect(layoutBlobs(sink.dir)).toEqual(layoutBlobs(DEMO));
  });

  it('a 401 after the token is ERR_UNAUTHORIZED after one retry, quoting neither token nor password', async () => {
    const before = hostile.requests.length;
    const password = 'pw-never-shown';
    const { error } = await failing('bearer-loop', 'ERR_UNAUTHORIZED', { credentials: { username: 'u', password } });
    expect(hostile.requests.slice(before)).toHaveLength(3); // manifest, token, manifest again
    expect(error.message).toContain('[redacted]');
    expect(error.message).not.toMatch(/tok-\d+-secret/);
    expect(error.message).not.toContain(password);
  });

  it('a token realm over plain HTTP on another host is ERR_INSECURE, not asked', async () => {
    await failing('realm-http-remote', 'ERR_INSECURE');
  });
});

describe('a blob cut mid-body is resumed with a Range request', () => {
  const cutsOf = (repo: string, from: number) => hostile.cuts.slice(from).filter((c) => c.repo === repo);

  for (const [repo, how] of [['cut-drop', 'a dropped connection'], ['cut-clean', 'a body that ends early']] as const) {
    it(`after ${how}: asks for bytes=N- with If-Range, and the first N bytes are not fetched again`, async () => {
      const before = hostile.cuts.length;
      const { dir, store, result, error } = await intoStore(repo);
      expect(error).toBeUndefined();
      const layerSize = fs.statSync(join(DEMO, 'blobs', 'sha256', hostile.layerDigest.slice(7))).size;
      expect(cutsOf(repo, before)).toEqual([
        { repo, status: 200, bytes: hostile.cutAt },
        { repo, range: `bytes=${hostile.cutAt}-`, ifRange: `"${hostile.layerDigest}"`, status: 206, bytes: layerSize - hostile.cutAt },
      ]);
      expect(result!.resumes).toBe(1);
      expect(result!.received).toBe(result!.fetched.reduce((n, d) => n + d.size, 0));
      expect(await store.has(hostile.layerDigest)).toBe(true);
      expect(layoutBlobs(dir)).toEqual(layoutBlobs(DEMO));
    });
  }

  it('a resume answered 200 (Range ignored) is fetched again from byte 0, hashed from 0, and stored whole', async () => {
    const before = hostile.cuts.length;
    const { dir, result, error } = await intoStore('cut-ignores-range');
    expect(error).toBeUndefined();
    const log = cutsOf('cut-ignores-range', before);
    expect(log.map((c) => [c.range, c.status])).toEqual([[undefined, 200], [`bytes=${hostile.cutAt}-`, 200]]);
    expect(result!.received - result!.fetched.reduce((n, d) => n + d.size, 0)).toBe(hostile.cutAt);
    expect(layoutBlobs(dir)).toEqual(layoutBlobs(DEMO));
    expect(fs.readdirSync(join(dir, '.layerfs', 'ingest'))).toEqual([]);
  });

  it('a resume answered 200 whose fresh ingest fails before it reads the body: the sink\'s error, not an endless retry', async () => {
    // The sink refuses every ingest of the layer after its first (as ENOSPC in a lease, or a
    // temporary that cannot be made, would: before the body is read).
    const dir = fresh('retry-bound');
    const inner = new LayoutSink(dir, 'latest');
    let calls = 0;
    const sink = {
      has: (d: string) => inner.has(d),
      tag: (r: string, d: Parameters<LayoutSink['tag']>[1]) => inner.tag(r, d),
      ingest: async (...args: Parameters<LayoutSink['ingest']>) => {
        if (args[0].digest !== hostile.layerDigest) return inner.ingest(...args);
        if (++calls > 1) {
          if (calls > 50) throw new Error('still retrying');
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        }
        return inner.ingest(...args);
      },
    };
    const e = await pull(`${hostile.host}/cut-ignores-range:latest`, { sink }).then(() => undefined, (x: unknown) => x);
    expect(calls).toBe(2);
    expect((e as Error).message).toContain('ENOSPC');
  });

  it('a 206 whose Content-Range does not start at the byte asked for is ERR_RANGE naming the blob', async () => {
    const { error } = await failing('cut-wrong-range', 'ERR_RANGE');
    expect(error.digest).toBe(hostile.layerDigest);
    expect(error.message).toContain(`bytes ${hostile.cutAt - 1}-`);
  });

  it('a 206 whose body runs past its Content-Range is ERR_RANGE naming the blob, in a layout sink and in a content store, nothing stored', async () => {
    const { error } = await failing('cut-range-overrun', 'ERR_RANGE');
    expect(error.digest).toBe(hostile.layerDigest);
    expect(error.message).toContain(`Content-Range bytes ${hostile.cutAt}-${hostile.cutAt + 99}/`);
    const { dir, store, error: e } = await intoStore('cut-range-overrun');
    expect(e).toBeInstanceOf(RegistryError);
    expect(e).toMatchObject({ code: 'ERR_RANGE', digest: hostile.layerDigest });
    expect(await store.has(hostile.layerDigest)).toBe(false);
    expect(fs.readdirSync(join(dir, '.layerfs', 'ingest'))).toEqual([]);
    // A Content-Range to the blob's end, and bytes past it: the range is what the body broke.
    expect((await failing('cut-range-overrun-end', 'ERR_RANGE')).error.message).toContain(`Content-Range bytes ${hostile.cutAt}-`);
  });

  it('a body cut every time gives up after MAX_BLOB_RESUMES resumes with a typed error', async () => {
    const before = hostile.cuts.length;
    const { error } = await failing('cut-always', 'ERR_HTTP');
    expect(error.digest).toBe(hostile.layerDigest);
    const log = cutsOf('cut-always', before);
    expect(log).toHaveLength(1 + MAX_BLOB_RESUMES);
    // Each resume starts where the last one stopped.
    expect(log.slice(1).map((c) => c.range)).toEqual(Array.from({ length: MAX_BLOB_RESUMES }, (_, i) => `bytes=${hostile.cutAt + 1000 * i}-`));
  });

  it('into a real store, a blob out of resumes is the registry\'s own code, and nothing is left', async () => {
    const { dir, store, error: e } = await intoStore('short-blob');
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as RegistryError).code).toBe('ERR_SIZE');
    expect(await store.has(hostile.layerDigest)).toBe(false);
    expect(fs.readdirSync(join(dir, '.layerfs', 'ingest'))).toEqual([]);
  });
});

describe('an index with a platform that is not one', () => {
  it('an index entry whose platform os is not a string is ERR_MANIFEST naming the index, not a TypeError', async () => {
    const { error } = await failing('bad-platform-index', 'ERR_MANIFEST');
    expect(error.message).toContain('platform');
  });
});

describe('inspect of a reference the store lacks (openImageManifest)', () => {
  it('a config descriptor over 4 MiB (containers/image\'s MaxConfigBodySize) is ERR_SIZE before the config is asked for, not buffered in memory', async () => {
    const before = hostile.requests.length;
    const e = await openImageManifest(`docker://${hostile.host}/huge-config:latest`).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as RegistryError).code).toBe('ERR_SIZE');
    expect((e as RegistryError).digest).toBe(`sha256:${'5'.repeat(64)}`);
    expect(hostile.requests.slice(before).filter((r) => r.includes('/blobs/'))).toEqual([]);
  });
});

describe('a tag answering another repository\'s manifest', () => {
  it('a manifest request redirected to another repository\'s manifest on the registry is ERR_REDIRECT, that path never asked', async () => {
    const before = hostile.requests.length;
    const { error } = await failing('tag-redirect', 'ERR_REDIRECT');
    expect(error.message).toContain('/v2/good/manifests/');
    expect(hostile.requests.slice(before)).toEqual(['GET /v2/tag-redirect/manifests/latest']);
  });

  it('the same redirect through another origin (localhost for 127.0.0.1, the same server) is ERR_REDIRECT too, that path never asked', async () => {
    const before = hostile.requests.length;
    const { error } = await failing('tag-redirect-host', 'ERR_REDIRECT');
    expect(error.message).toMatch(/redirected to \/v2\/good\/manifests\/sha256:[0-9a-f]{64} on http:\/\/localhost:\d+/);
    expect(hostile.requests.slice(before)).toEqual(['GET /v2/tag-redirect-host/manifests/latest']);
  });

  it('the same redirect with the path percent-encoded (/%762/good/..., which distribution routes as /v2/good/...) is ERR_REDIRECT too, that path never asked', async () => {
    const before = hostile.requests.length;
    const { error } = await failing('tag-redirect-encoded', 'ERR_REDIRECT');
    expect(error.message).toContain('/v2/good/manifests/');
    expect(hostile.requests.slice(before)).toEqual(['GET /v2/tag-redirect-encoded/manifests/latest']);
  });

  it('a manifest whose layer only another repository holds is ERR_NOT_FOUND naming the layer; no other repository is asked, nothing tagged', async () => {
    const before = hostile.requests.length;
    const { error } = await failing('foreign-blobs', 'ERR_NOT_FOUND');
    expect(error.digest).toBe(hostile.layerDigest);
    expect(error.message).toContain('BLOB_UNKNOWN');
    expect(hostile.requests.slice(before).filter((r) => !r.startsWith('GET /v2/foreign-blobs/'))).toEqual([]);
  });

  it('blobs redirected to another repository\'s path are followed: a blob is checked by its digest wherever it comes from', async () => {
    const { dir, result, error } = await intoStore('blob-elsewhere');
    expect(error).toBeUndefined();
    expect(result!.manifest.digest).toBe(hostile.manifestDigest);
    expect(layoutBlobs(dir)).toEqual(layoutBlobs(DEMO));
  });
});
