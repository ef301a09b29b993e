import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openImage } from '../../src/image/image.js';
import { DirectoryStore, openContentStore } from '../../src/store/directory-store.js';
import { scratch } from '../support/scratch.js';
import { baseImage, chunks, DEMO, demoImage, put, sha256 } from './support/demo-blobs.js';

// The directory store is an OCI image layout that the real tools read: skopeo (inspect,
// copy), umoci (ls, stat, unpack) and layerfs's own openImage; and one they write, it opens.

const { fresh } = scratch('lfs-dirstore-');
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const storeError = (code: string, digest?: string) => expect.objectContaining({ name: 'StoreError', code, ...(digest ? { digest } : {}) });

async function twoImages(): Promise<string> {
  const dir = fresh('store');
  const store = await openContentStore(dir);
  await put(store, demoImage(), 'demo');
  await put(store, baseImage(2), 'base:v1');
  return dir;
}

describe('DirectoryStore read by the real tools', () => {
  it('skopeo inspects each image by ref and copies one out to identical blobs', async () => {
    const dir = await twoImages();
    const demo = JSON.parse(run('skopeo', ['inspect', `oci:${dir}:demo`])) as { Digest: string; Layers: string[] };
    expect(demo.Digest).toBe(demoImage().manifest.digest);
    expect(demo.Layers).toHaveLength(4);
    const base = baseImage(2);
    expect((JSON.parse(run('skopeo', ['inspect', `oci:${dir}:base:v1`])) as { Digest: string }).Digest).toBe(base.manifest.digest);
    const other = fresh('copied');
    run('skopeo', ['copy', '--quiet', `oci:${dir}:base:v1`, `oci:${other}:copied`]);
    for (const b of base.blobs) {
      const hex = b.desc.digest.slice('sha256:'.length);
      expect(fs.readFileSync(join(other, 'blobs', 'sha256', hex)).equals(fs.readFileSync(join(dir, 'blobs', 'sha256', hex)))).toBe(true);
    }
  });

  it('umoci lists its refs, stats and unpacks an image', async () => {
    const dir = await twoImages();
    expect(run('umoci', ['ls', '--layout', dir]).split('\n').filter(Boolean).sort()).toEqual(['base:v1', 'demo']);
    const stat = JSON.parse(run('umoci', ['stat', '--json', '--image', `${dir}:demo`])) as { history: unknown[] };
    expect(Array.isArray(stat.history)).toBe(true);
    const bundle = join(fresh('bundle'), 'b');
    run('umoci', ['unpack', '--rootless', '--image', `${dir}:demo`, bundle]);
    expect(fs.readFileSync(join(bundle, 'rootfs', 'usr/share/doc/demo/README'), 'utf8')).toBe('The docs were replaced in layer 4.\n');
  });

  it('openImage opens each image of it by ref', async () => {
    const dir = await twoImages();
    const image = await openImage(dir, { ref: 'demo' });
    expect(image.overlay().readFileSync('/usr/share/doc/demo/README', 'utf8')).toBe('The docs were replaced in layer 4.\n');
    image.close();
    const base = await openImage(dir, { ref: 'base:v1' });
    expect(base.layers).toHaveLength(2);
    base.close();
  });

  it('opens a layout skopeo wrote, and adds to it without losing skopeo\'s image', async () => {
    const dir = join(fresh('skopeo'), 'layout');
    run('skopeo', ['copy', '--quiet', `oci:${DEMO}:latest`, `oci:${dir}:from-skopeo`]);
    const store = await openContentStore(dir, { create: false });
    expect((await store.resolve('from-skopeo')).digest).toBe(demoImage().manifest.digest);
    await put(store, baseImage(2), 'mine');
    expect((await store.images()).images.map((i) => i.ref)).toEqual(['from-skopeo', 'mine']);
    expect((JSON.parse(run('skopeo', ['inspect', `oci:${dir}:from-skopeo`])) as { Digest: string }).Digest).toBe(demoImage().manifest.digest);
  });
});

describe('DirectoryStore: what it refuses and what it never leaves', () => {
  it('makes a missing or empty directory a layout; refuses one that is not a layout', async () => {
    const made = join(fresh('new'), 'a', 'b');
    await openContentStore(made);
    expect(fs.readdirSync(made).sort()).toEqual(['.layerfs', 'blobs', 'index.json', 'oci-layout']);
    expect(JSON.parse(fs.readFileSync(join(made, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });

    const stray = fresh('stray');
    fs.writeFileSync(join(stray, 'notes.txt'), 'mine');
    await expect(openContentStore(stray)).rejects.toEqual(storeError('ERR_STORE_NOT_A_LAYOUT'));
    expect(fs.readdirSync(stray)).toEqual(['notes.txt']);

    await expect(openContentStore(fresh('empty'), { create: false })).rejects.toEqual(storeError('ERR_STORE_NOT_A_LAYOUT'));
    const file = join(fresh('f'), 'file');
    fs.writeFileSync(file, '');
    await expect(openContentStore(file)).rejects.toEqual(storeError('ERR_STORE_NOT_A_LAYOUT'));
  });

  it.each([
    ['an oci-layout of another version', (d: string) => fs.writeFileSync(join(d, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}')],
    ['an index.json that is not JSON', (d: string) => fs.writeFileSync(join(d, 'index.json'), '{')],
    ['an index.json without manifests', (d: string) => fs.writeFileSync(join(d, 'index.json'), '{"schemaVersion":2}')],
    ['an index.json entry with a traversing digest', (d: string) => fs.writeFileSync(join(d, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ digest: 'sha256:../../x', size: 1 }] }))],
    ['blobs/ a symlink', (d: string) => {
      fs.rmSync(join(d, 'blobs'), { recursive: true });
      fs.symlinkSync(fresh('elsewhere'), join(d, 'blobs'));
    }],
    ['index.json a symlink', (d: string) => {
      const real = join(fresh('elsewhere'), 'index.json');
      fs.renameSync(join(d, 'index.json'), real);
      fs.symlinkSync(real, join(d, 'index.json'));
    }],
  ])('refuses a layout with %s (ERR_STORE_NOT_A_LAYOUT)', async (_what, spoil) => {
    const dir = fresh('spoilt');
    await openContentStore(dir);
    spoil(dir);
    await expect(openContentStore(dir)).rejects.toEqual(storeError(_what.includes('traversing') ? 'ERR_STORE_BAD_DIGEST' : 'ERR_STORE_NOT_A_LAYOUT'));
  });

  it('a failed ingest leaves nothing under blobs/ and no temporary', async () => {
    const dir = fresh('failed');
    const store = await openContentStore(dir);
    const data = Buffer.alloc(200_000, 3);
    const digest = sha256(data);
    await expect(store.ingest({ digest, size: data.length }, chunks(Buffer.alloc(200_000, 4)))).rejects.toEqual(storeError('ERR_STORE_DIGEST_MISMATCH', digest));
    await expect(store.ingest({ digest, size: data.length }, chunks(Buffer.alloc(300_000, 3)))).rejects.toEqual(storeError('ERR_STORE_OVERSIZED', digest));
    await expect(store.ingest({ digest, size: data.length }, chunks(data.subarray(1)))).rejects.toEqual(storeError('ERR_STORE_SIZE_MISMATCH', digest));
    expect(fs.readdirSync(join(dir, 'blobs', 'sha256'))).toEqual([]);
    expect(fs.readdirSync(join(dir, '.layerfs', 'ingest'))).toEqual([]);
  });

  it('a failed ingest whose .layerfs/ingest was made a file meanwhile still fails with its own StoreError (the cleanup does not hide it)', async () => {
    const dir = fresh('ingest-file');
    const store = await openContentStore(dir);
    const data = Buffer.alloc(200_000, 3);
    const digest = sha256(data);
    const ingest = join(dir, '.layerfs', 'ingest');
    async function* swapped() {
      yield Buffer.alloc(100_000, 4);
      // The temporary is open; its directory goes away and a file takes its name.
      fs.renameSync(ingest, join(dir, '.layerfs', 'ingest-moved'));
      fs.writeFileSync(ingest, 'not a directory');
      yield Buffer.alloc(100_000, 4);
    }
    await expect(store.ingest({ digest, size: data.length }, swapped())).rejects.toEqual(storeError('ERR_STORE_DIGEST_MISMATCH', digest));
    // The same when the body is right and the rename into blobs/ is what fails.
    fs.rmSync(ingest);
    fs.renameSync(join(dir, '.layerfs', 'ingest-moved'), ingest);
    async function* swappedWhole() {
      yield data.subarray(0, 100_000);
      fs.renameSync(ingest, join(dir, '.layerfs', 'ingest-moved2'));
      fs.writeFileSync(ingest, 'not a directory');
      yield data.subarray(100_000);
    }
    await expect(store.ingest({ digest, size: data.length }, swappedWhole())).rejects.toEqual(storeError('ERR_STORE_IO', digest));
    expect(fs.readdirSync(join(dir, 'blobs', 'sha256'))).toEqual([]);
  });

  it('a blob changed on disk is ERR_STORE_DIGEST_MISMATCH when read, never its bytes', async () => {
    const dir = fresh('tampered');
    const store = await openContentStore(dir);
    const data = Buffer.from('{"honest":true}');
    const digest = sha256(data);
    await store.ingest({ digest, size: data.length }, chunks(data));
    fs.writeFileSync(store.blobPath(digest), '{"honest":fals}');
    await expect(store.read(digest)).rejects.toEqual(storeError('ERR_STORE_DIGEST_MISMATCH', digest));
  });

  it('gc stops before removing anything when a tagged manifest was changed on disk', async () => {
    const dir = await twoImages();
    const store = await openContentStore(dir);
    const stray = Buffer.from('untagged');
    await store.ingest({ digest: sha256(stray), size: stray.length }, chunks(stray));
    const manifest = demoImage().manifest.digest;
    fs.writeFileSync(store.blobPath(manifest), fs.readFileSync(store.blobPath(manifest), 'utf8').replace('layers', 'layerz'));
    const before = fs.readdirSync(join(dir, 'blobs', 'sha256')).sort();
    await expect(store.gc()).rejects.toEqual(storeError('ERR_STORE_DIGEST_MISMATCH', manifest));
    expect(fs.readdirSync(join(dir, 'blobs', 'sha256')).sort()).toEqual(before);
  });

  it('a symlink planted under a digest name is not a stored blob, and ingest replaces it without following it', async () => {
    const dir = fresh('planted');
    const store = await openContentStore(dir);
    const data = Buffer.from('the real blob');
    const digest = sha256(data);
    const victim = join(fresh('victim'), 'precious');
    fs.writeFileSync(victim, 'untouched');
    fs.symlinkSync(victim, store.blobPath(digest));
    expect(await store.has(digest)).toBe(false);
    await expect(store.read(digest)).rejects.toEqual(storeError('ERR_STORE_UNKNOWN_BLOB', digest));
    await store.ingest({ digest, size: data.length }, chunks(data));
    expect(fs.lstatSync(store.blobPath(digest)).isFile()).toBe(true);
    expect(await store.read(digest)).toEqual(data);
    expect(fs.readFileSync(victim, 'utf8')).toBe('untouched');
  });

  it('an ingest in progress keeps its temporary through gc; its digest appears only when whole', async () => {
    const dir = fresh('inflight');
    const store = await DirectoryStore.open(dir);
    const data = Buffer.alloc(100_000, 9);
    const digest = sha256(data);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slow() {
      yield data.subarray(0, 50_000);
      await gate;
      yield data.subarray(50_000);
    }
    const ingesting = store.ingest({ digest, size: data.length }, slow());
    await expect.poll(() => fs.readdirSync(join(dir, '.layerfs', 'ingest')).length).toBe(1);
    const [temp] = fs.readdirSync(join(dir, '.layerfs', 'ingest'));
    expect(temp).toMatch(new RegExp(`^sha256-${digest.slice(7)}\\.${process.pid}\\.`));
    expect(await store.gc()).toEqual({ removed: [], bytes: 0, dryRun: false });
    expect(fs.readdirSync(join(dir, '.layerfs', 'ingest'))).toEqual([temp]);
    expect(await store.has(digest)).toBe(false);
    release();
    await ingesting;
    expect(fs.readdirSync(join(dir, '.layerfs', 'ingest'))).toEqual([]);
    expect(fs.readFileSync(store.blobPath(digest)).equals(data)).toBe(true);
  });
});
