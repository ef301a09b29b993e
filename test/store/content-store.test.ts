import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ContentStore } from '../../src/store/content-store.js';
import { DirectoryStore } from '../../src/store/directory-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { StoreError } from '../../src/store/errors.js';
import { LayerfsError } from '../../src/util/errors.js';
import { scratch } from '../support/scratch.js';
import { baseImage, chunks, demoImage, put, sha256 } from './support/demo-blobs.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

// The interface both stores give, held to the same tests: ingest's verification, the typed
// errors, tag/resolve/images and gc.

const { fresh } = scratch('lfs-store-');

const kinds: Array<[string, () => Promise<ContentStore>]> = [
  ['DirectoryStore', () => DirectoryStore.open(fresh('store'))],
  ['MemoryStore', async () => new MemoryStore()],
];

const storeError = (code: string, digest?: string) => expect.objectContaining({ name: 'StoreError', code, ...(digest ? { digest } : {}) });

/** A body that counts what is pulled from it, endless unless `limit` chunks. */
function counting(chunk: Buffer, limit = Infinity) {
  const seen = { chunks: 0 };
  async function* body() {
    for (; seen.chunks < limit; ) {
      seen.chunks++;
      yield chunk;
    }
  }
  return { seen, body: body() };
}

describe.each(kinds)('%s', (_name, make) => {
  it('ingests a blob verified while it streams; has() finds it; read() gives its bytes', async () => {
    const store = await make();
    const data = Buffer.from('a blob of a few bytes\n');
    const digest = sha256(data);
    expect(await store.has(digest)).toBe(false);
    expect(await store.ingest({ digest, size: data.length }, chunks(data, 5))).toEqual({ digest, size: data.length, written: true });
    expect(await store.has(digest)).toBe(true);
    expect(await store.read(digest)).toEqual(data);
  });

  it('a blob already stored is not read or written again', async () => {
    const store = await make();
    const data = Buffer.from('stored once');
    const digest = sha256(data);
    await store.ingest({ digest, size: data.length }, chunks(data));
    let pulled = 0;
    async function* never() {
      pulled++;
      yield Buffer.from('x');
    }
    expect(await store.ingest({ digest, size: data.length }, never())).toEqual({ digest, size: data.length, written: false });
    expect(pulled).toBe(0);
    await expect(store.ingest({ digest, size: data.length + 1 }, never())).rejects.toEqual(storeError('ERR_STORE_SIZE_MISMATCH', digest));
    expect(pulled).toBe(0);
  });

  it('wrong bytes are ERR_STORE_DIGEST_MISMATCH naming the digest, and nothing is stored', async () => {
    const store = await make();
    const good = Buffer.from('the right bytes');
    const bad = Buffer.from('the wrong bytes');
    const digest = sha256(good);
    const e = await store.ingest({ digest, size: bad.length }, chunks(bad)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StoreError);
    expect(e).toBeInstanceOf(LayerfsError);
    expect(e).toEqual(storeError('ERR_STORE_DIGEST_MISMATCH', digest));
    expect((e as Error).message).toContain(digest);
    expect(await store.has(digest)).toBe(false);
    await store.ingest({ digest, size: good.length }, chunks(good));
    expect(await store.read(digest)).toEqual(good);
  });

  it('a body past the expected size stops at once (ERR_STORE_OVERSIZED): an endless one is read one chunk past the size', async () => {
    const store = await make();
    const { seen, body } = counting(Buffer.alloc(1000, 1));
    const digest = sha256(Buffer.alloc(2500, 1));
    await expect(store.ingest({ digest, size: 2500 }, body)).rejects.toEqual(storeError('ERR_STORE_OVERSIZED', digest));
    expect(seen.chunks).toBe(3);
    expect(await store.has(digest)).toBe(false);
  });

  it('takes a Node Readable and a web ReadableStream (what fetch gives); an oversized one is destroyed or cancelled', async () => {
    const store = await make();
    const data = Buffer.alloc(100_000, 5);
    const digest = sha256(data);
    expect((await store.ingest({ digest, size: data.length }, Readable.from(chunks(data, 10_000)))).written).toBe(true);
    const other = Buffer.alloc(100_000, 6);
    const web = Readable.toWeb(Readable.from(chunks(other, 10_000))) as unknown as AsyncIterable<Uint8Array>;
    expect((await store.ingest({ digest: sha256(other), size: other.length }, web)).written).toBe(true);
    const endless = new Readable({ read() { this.push(Buffer.alloc(4096, 1)); } });
    const d1 = sha256(Buffer.from('x'));
    await expect(store.ingest({ digest: d1, size: 10_000 }, endless)).rejects.toEqual(storeError('ERR_STORE_OVERSIZED', d1));
    expect(endless.destroyed).toBe(true);
    let cancelled = false;
    const endlessWeb = new ReadableStream<Uint8Array>({ pull: (c) => c.enqueue(new Uint8Array(4096)), cancel: () => void (cancelled = true) });
    const d2 = sha256(Buffer.from('y'));
    await expect(store.ingest({ digest: d2, size: 10_000 }, endlessWeb as unknown as AsyncIterable<Uint8Array>)).rejects.toEqual(storeError('ERR_STORE_OVERSIZED', d2));
    expect(cancelled).toBe(true);
  });

  it('verifies and stores a sha512 blob', async () => {
    const store = await make();
    const data = Buffer.from('hashed with sha512');
    const digest = `sha512:${createHash('sha512').update(data).digest('hex')}`;
    await expect(store.ingest({ digest, size: data.length }, chunks(Buffer.from('hashed with sha51X')))).rejects.toEqual(storeError('ERR_STORE_DIGEST_MISMATCH', digest));
    expect((await store.ingest({ digest, size: data.length }, chunks(data))).written).toBe(true);
    expect(await store.read(digest)).toEqual(data);
    expect((await store.gc()).removed).toEqual([{ digest, size: data.length }]);
    expect(await store.has(digest)).toBe(false);
  });

  it('a short body is ERR_STORE_SIZE_MISMATCH; a failing body ERR_STORE_BODY with its error as the cause', async () => {
    const store = await make();
    const data = Buffer.from('0123456789');
    const digest = sha256(data);
    await expect(store.ingest({ digest, size: data.length }, chunks(data.subarray(0, 4)))).rejects.toEqual(storeError('ERR_STORE_SIZE_MISMATCH', digest));
    const cause = new Error('connection reset');
    async function* failing() {
      yield data.subarray(0, 3);
      throw cause;
    }
    await expect(store.ingest({ digest, size: data.length }, failing())).rejects.toEqual(expect.objectContaining({ code: 'ERR_STORE_BODY', cause }));
    expect(await store.has(digest)).toBe(false);
  });

  it.each([
    'sha256:../../x',
    'sha256:../../../../etc/passwd',
    `sha256:${'A'.repeat(64)}`,
    `sha256:${'a'.repeat(63)}`,
    `sha256:${'a'.repeat(64)}/`,
    `md5:${'a'.repeat(32)}`,
    `sha256/${'a'.repeat(64)}`,
    '',
    `sha256:${'a'.repeat(64)}\n`,
  ])('refuses the digest %j before touching a path (ERR_STORE_BAD_DIGEST)', async (digest) => {
    const store = await make();
    await expect(store.has(digest)).rejects.toEqual(storeError('ERR_STORE_BAD_DIGEST'));
    await expect(store.ingest({ digest, size: 1 }, chunks(Buffer.from('x')))).rejects.toEqual(storeError('ERR_STORE_BAD_DIGEST'));
    await expect(store.read(digest)).rejects.toEqual(storeError('ERR_STORE_BAD_DIGEST'));
  });

  it('a size that is not a byte count is Node\'s argument error', async () => {
    const store = await make();
    const digest = sha256(Buffer.from('x'));
    await expect(store.ingest({ digest, size: -1 }, chunks(Buffer.from('x')))).rejects.toThrow(RangeError);
    await expect(store.ingest({ digest, size: '1' as unknown as number }, chunks(Buffer.from('x')))).rejects.toThrow(TypeError);
  });

  it('tag, resolve, and images() with the shared base counted once', async () => {
    const store = await make();
    const demo = demoImage();
    const base = baseImage(2);
    await put(store, demo, 'demo');
    await put(store, base, 'base');
    expect(await store.resolve('demo')).toEqual(expect.objectContaining({ digest: demo.manifest.digest, size: demo.manifest.size }));
    await expect(store.resolve('nope')).rejects.toEqual(storeError('ERR_STORE_UNKNOWN_REF'));
    const { images, totalBytes } = await store.images();
    const sizes = (img: ReturnType<typeof demoImage>) => img.blobs.reduce((n, b) => n + b.desc.size, 0);
    const shared = base.blobs.slice(0, 2).reduce((n, b) => n + b.desc.size, 0);
    expect(images.map((i) => [i.ref, i.bytes, i.uniqueBytes, i.missing])).toEqual([
      ['demo', sizes(demo), sizes(demo) - shared, []],
      ['base', sizes(base), sizes(base) - shared, []],
    ]);
    expect(totalBytes).toBe(sizes(demo) + sizes(base) - shared);
    // Retagging a ref replaces its entry.
    await store.tag('demo', base.manifest);
    expect((await store.images()).images.map((i) => [i.ref, i.manifest.digest])).toEqual([['base', base.manifest.digest], ['demo', base.manifest.digest]]);
  });

  it('tag refuses an image whose blobs are not all stored, and a bad ref', async () => {
    const store = await make();
    const demo = demoImage();
    await expect(store.tag('demo', demo.manifest)).rejects.toEqual(storeError('ERR_STORE_UNKNOWN_BLOB', demo.manifest.digest));
    const manifest = demo.blobs[demo.blobs.length - 1]!;
    await store.ingest(manifest.desc, chunks(manifest.bytes()));
    const e = await store.tag('demo', demo.manifest).catch((x: unknown) => x);
    expect(e).toEqual(storeError('ERR_STORE_UNKNOWN_BLOB', demo.manifest.digest));
    expect((e as Error).message).toContain(demo.blobs[0]!.desc.digest);
    for (const ref of ['', '../x', 'a b', '-x', 'x/']) await expect(store.tag(ref, demo.manifest)).rejects.toThrow(TypeError);
    expect((await store.images()).images).toEqual([]);
  });

  it('gc removes what no entry reaches, keeps what one does; dryRun removes nothing', async () => {
    const store = await make();
    const demo = demoImage();
    const base = baseImage(2);
    await put(store, demo, 'demo');
    await put(store, base, 'base');
    const stray = Buffer.from('nobody names me');
    await store.ingest({ digest: sha256(stray), size: stray.length }, chunks(stray));
    expect(await store.gc()).toEqual({ removed: [{ digest: sha256(stray), size: stray.length }], bytes: stray.length, dryRun: false });
    expect(await store.untag('demo')).toBe(true);
    expect(await store.untag('demo')).toBe(false);
    const onlyDemo = demo.blobs.filter((b) => !base.blobs.some((c) => c.desc.digest === b.desc.digest));
    const dry = await store.gc({ dryRun: true });
    expect(dry.removed.map((r) => r.digest).sort()).toEqual(onlyDemo.map((b) => b.desc.digest).sort());
    for (const b of onlyDemo) expect(await store.has(b.desc.digest)).toBe(true);
    const wet = await store.gc();
    expect(wet.removed.map((r) => r.digest).sort()).toEqual(dry.removed.map((r) => r.digest).sort());
    for (const b of onlyDemo) expect(await store.has(b.desc.digest)).toBe(false);
    for (const b of base.blobs) expect(await store.has(b.desc.digest)).toBe(true);
  });

  it('an index entry is walked through: its stored manifests are kept, an absent platform is listed as missing', async () => {
    const store = await make();
    const demo = demoImage();
    for (const b of demo.blobs) await store.ingest(b.desc, chunks(b.bytes()));
    const absent = sha256(Buffer.from('a platform not pulled'));
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_INDEX,
      manifests: [
        { ...demo.manifest, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: demo.manifest.mediaType, digest: absent, size: 100, platform: { os: 'linux', architecture: 'arm64' } },
      ],
    }));
    const indexDesc = { mediaType: OCI_INDEX, digest: sha256(index), size: index.length };
    await store.ingest(indexDesc, chunks(index));
    await store.tag('multi', indexDesc);
    const [image] = (await store.images()).images;
    expect(image).toEqual(expect.objectContaining({ ref: 'multi', missing: [absent], bytes: index.length + demo.blobs.reduce((n, b) => n + b.desc.size, 0) }));
    expect((await store.gc()).removed).toEqual([]);
    for (const b of demo.blobs) expect(await store.has(b.desc.digest)).toBe(true);
  });

  it('gc keeps what a live lease holds, even untagged; after release it goes', async () => {
    const store = await make();
    const base = baseImage(2);
    const lease = await store.lease();
    for (const b of base.blobs) await store.ingest(b.desc, chunks(b.bytes()), { lease });
    expect((await store.gc()).removed).toEqual([]);
    await lease.release();
    expect((await store.gc()).removed).toHaveLength(base.blobs.length);
  });

  it('gc during an ingest leaves it intact: the blob is stored whole afterwards', async () => {
    const store = await make();
    const data = Buffer.alloc(300_000, 7);
    const digest = sha256(data);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const midway = new Promise<void>((r) => (reached = r));
    async function* slow() {
      yield data.subarray(0, 100_000);
      reached();
      await gate;
      yield data.subarray(100_000);
    }
    const lease = await store.lease();
    const ingesting = store.ingest({ digest, size: data.length }, slow(), { lease });
    await midway;
    expect((await store.gc()).removed).toEqual([]);
    release();
    await ingesting;
    expect((await store.gc()).removed).toEqual([]); // still leased
    expect((await store.read(digest, data.length)).equals(data)).toBe(true);
    await lease.release();
  });
});
