import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LayerContentError, MemoryLayer, openImage, Overlay, OverlayFsError, TarLayer, type Image } from '../../src/index.js';
import { heldFiles } from '../support/held-fds.js';
import { writeOciLayout } from '../support/oci-layout.js';
import { packTar } from '../support/to-tar.js';

/**
 * Content served from disk after a layer or image was opened is the content verified at open:
 * a layer file changed in place afterwards gives a typed error on read (EIO through an
 * overlay), never the changed bytes; one renamed over or deleted keeps giving the verified
 * bytes (the layer holds its descriptor).
 */
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-after-open-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let serial = 0;

const A = 'the verified content of a\n';
const B = Buffer.alloc(100_000, 'b');
const tarOf = (a: string, b: Buffer) => packTar([{ header: { name: 'etc/a' }, body: a }, { header: { name: 'usr/b' }, body: b }]);
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An uncompressed layer tar on disk, and where its file /etc/a's content starts. */
async function layerFile(): Promise<{ path: string; tar: Buffer; aAt: number }> {
  const tar = await tarOf(A, B);
  const path = join(dir, `layer${serial++}.tar`);
  fs.writeFileSync(path, tar);
  return { path, tar, aAt: tar.indexOf(A) };
}

/** Puts `path`'s mtime back to `ns` (nanoseconds since the epoch), exactly: utimes through Node takes a double of seconds. */
function restoreMtime(path: string, ns: bigint): void {
  const s = ns / 1_000_000_000n;
  execFileSync('touch', ['-m', '-d', `@${s}.${(ns - s * 1_000_000_000n).toString().padStart(9, '0')}`, path]);
}

/** Writes `text` at byte `at` of `path` in place (same inode, same size), through `via` (another name of it) if given. */
function writeInPlace(path: string, at: number, text = 'THE', via = path): void {
  const fd = fs.openSync(via, 'r+');
  fs.writeSync(fd, Buffer.from(text), 0, text.length, at);
  fs.closeSync(fd);
}

/** The same-size overwrite: a's bytes changed in place, and the file's mtime put back to the nanosecond: only ctime tells. */
function overwriteInPlace(path: string, at: number): void {
  const before = fs.statSync(path, { bigint: true });
  writeInPlace(path, at);
  restoreMtime(path, before.mtimeNs);
  const after = fs.statSync(path, { bigint: true });
  expect([after.size, after.mtimeNs, after.nlink]).toEqual([before.size, before.mtimeNs, before.nlink]);
}

/**
 * The same overwrite through a hard link added for it, mtime put back to the nanosecond: the
 * link count changed too, and ctime moved, as it does for a rename over the file.
 */
function overwriteThroughLink(path: string, at: number): void {
  const before = fs.statSync(path, { bigint: true });
  const link = `${path}.link${serial++}`;
  fs.linkSync(path, link);
  writeInPlace(path, at, 'THE', link);
  restoreMtime(path, before.mtimeNs);
  const after = fs.statSync(path, { bigint: true });
  expect([after.dev, after.ino, after.size, after.mtimeNs]).toEqual([before.dev, before.ino, before.size, before.mtimeNs]);
}

/** A different tar renamed over `path` (a new inode under the old name). */
async function renameOver(path: string): Promise<void> {
  const other = join(dir, `other${serial++}.tar`);
  fs.writeFileSync(other, await tarOf('REPLACED content of a....\n', Buffer.alloc(100_000, 'x')));
  fs.renameSync(other, path);
}

function expectChanged(f: () => unknown, path: string): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LayerContentError);
    expect((e as LayerContentError).code).toBe('ERR_LAYER_CHANGED');
    expect((e as Error).message).toContain(path); // the path inside the layer
    return;
  }
  throw new Error('read the changed layer without an error');
}

function expectEio(f: () => unknown): OverlayFsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(OverlayFsError);
    expect((e as OverlayFsError).code).toBe('EIO');
    expect((e as Error).cause).toBeInstanceOf(LayerContentError);
    return e as OverlayFsError;
  }
  throw new Error('read the changed layer without an error');
}

describe('an uncompressed layer on disk, changed after it was opened', () => {
  it('a same-size overwrite in place (mtime put back): typed error naming the layer and path, EIO through an overlay, copy-up too', async () => {
    const { path, aAt } = await layerFile();
    const layer = await TarLayer.from(path, { name: 'L' });
    expect(layer.info.contentOnDisk).toBe(true);
    const overlay = new Overlay({ lower: [layer] });
    const fd = overlay.openSync('/etc/a', 'r'); // opened before the change
    overwriteInPlace(path, aAt);
    expectChanged(() => layer.read(layer.entries.get('/etc/a')!), '/etc/a');
    expectChanged(() => layer.readAt(layer.entries.get('/usr/b')!, Buffer.alloc(10), 0, 10, 0), '/usr/b');
    expect(expectEio(() => overlay.readFileSync('/etc/a')).message).toContain(`(layer L (${path}): /etc/a: changed after it was verified (ctime moved; its bytes are not the verified ones))`);
    expectEio(() => overlay.readSync(fd, Buffer.alloc(5), 0, 5, 0));
    expectEio(() => overlay.appendFileSync('/usr/b', 'more')); // copy-up reads the lower file
    expectEio(() => overlay.copyFileSync('/etc/a', '/copy'));
    expect(overlay.existsSync('/copy')).toBe(false);
  });

  it('overwritten in place through a new hard link, mtime put back to the nanosecond: ERR_LAYER_CHANGED, and it stays so', async () => {
    const { path, aAt } = await layerFile();
    const layer = await TarLayer.from(path, { name: 'L' });
    const before = fs.readFileSync(path);
    overwriteThroughLink(path, aAt);
    expectChanged(() => layer.read(layer.entries.get('/etc/a')!), '/etc/a');
    // Put back as it was: a read that saw the change keeps failing.
    fs.writeFileSync(path, before);
    restoreMtime(path, fs.statSync(path, { bigint: true }).mtimeNs);
    expectChanged(() => layer.read(layer.entries.get('/etc/a')!), '/etc/a');
  });

  it('a chmod, chown or new hard link (ctime moved, bytes unchanged): verified again and read', async () => {
    const { path } = await layerFile();
    const layer = await TarLayer.from(path);
    fs.chmodSync(path, 0o600);
    expect(layer.read(layer.entries.get('/etc/a')!).toString()).toBe(A);
    fs.chownSync(path, 1234, 1234);
    fs.linkSync(path, `${path}.again`);
    expect(layer.read(layer.entries.get('/usr/b')!).equals(B)).toBe(true);
  });

  it('changed and put back before any read: the bytes are the verified ones again, so they are read', async () => {
    const { path, aAt } = await layerFile();
    const layer = await TarLayer.from(path);
    const before = fs.readFileSync(path);
    overwriteInPlace(path, aAt);
    fs.writeFileSync(path, before);
    expect(layer.read(layer.entries.get('/etc/a')!).toString()).toBe(A);
  });

  it('changed while it is being opened (after its fstat, before its digest): refused by the open', async () => {
    for (const gzip of [false, true]) {
      const { path, tar } = await layerFile();
      if (gzip) fs.writeFileSync(path, gzipSync(tar));
      const opening = TarLayer.from(path); // opened and fstat'ed before from() first waits
      fs.utimesSync(path, new Date(), new Date(Date.UTC(2000, 0, 1)));
      await expect(opening, gzip ? 'gzip' : 'plain').rejects.toThrow(/: the whole file: changed while it was read \(mtime and ctime moved\)$/);
    }
  });

  it('truncated: typed error naming the layer and path', async () => {
    const { path } = await layerFile();
    const layer = await TarLayer.from(path, { name: 'L' });
    fs.truncateSync(path, 700);
    expectChanged(() => layer.read(layer.entries.get('/usr/b')!), '/usr/b');
    expectChanged(() => layer.read(layer.entries.get('/etc/a')!), '/etc/a'); // a's bytes are still there: the size changed
  });

  it('deleted: the held descriptor keeps serving the verified bytes', async () => {
    const { path } = await layerFile();
    const layer = await TarLayer.from(path);
    fs.unlinkSync(path);
    expect(layer.read(layer.entries.get('/etc/a')!).toString()).toBe(A);
    expect(layer.read(layer.entries.get('/usr/b')!).equals(B)).toBe(true);
  });

  it('renamed over: the old inode, so the verified bytes', async () => {
    const { path } = await layerFile();
    const layer = await TarLayer.from(path);
    await renameOver(path);
    expect(layer.read(layer.entries.get('/etc/a')!).toString()).toBe(A);
    expect(layer.read(layer.entries.get('/usr/b')!).equals(B)).toBe(true);
  });

  it('close() ends reads with ERR_LAYER_CLOSED (EIO through an overlay); closing twice is harmless', async () => {
    const { path } = await layerFile();
    const layer = await TarLayer.from(path, { name: 'L' });
    const overlay = new Overlay({ lower: [layer] });
    layer.close();
    layer.close();
    expect(() => layer.read(layer.entries.get('/etc/a')!)).toThrow(expect.objectContaining({ code: 'ERR_LAYER_CLOSED' }));
    expectEio(() => overlay.readFileSync('/etc/a'));
  });
});

describe('the descriptors a layer holds', () => {
  it('close() while a read of the layer file is in flight: the descriptor stays open until it returns (its number is not reused under it)', async () => {
    const { path } = await layerFile();
    const layer = await TarLayer.from(path);
    const stream = layer.sourceStream()!;
    stream.read(0); // starts a read on the thread pool
    layer.close();
    expect(heldFiles(path)).toHaveLength(1);
    await expect((async () => {
      for await (const _ of stream) { /* drain */ }
    })()).rejects.toMatchObject({ code: 'ERR_LAYER_CLOSED' });
    expect(heldFiles(path)).toEqual([]);
  });

  it('close() ends reads of content held in memory as it ends reads of spilled content: ERR_LAYER_CLOSED for both', async () => {
    const tar = await packTar([{ header: { name: 'small' }, body: 'in memory\n' }, { header: { name: 'big' }, body: Buffer.alloc(100_000, 's') }]);
    const layer = await TarLayer.from(gzipSync(tar), { memoryBytes: 1000 });
    expect(layer.info.spilledBytes).toBe(100_000);
    layer.close();
    for (const path of ['/small', '/big']) {
      const entry = layer.entries.get(path)!;
      expect(() => layer.read(entry), path).toThrow(expect.objectContaining({ code: 'ERR_LAYER_CLOSED' }));
      expect(() => layer.readAt(entry, Buffer.alloc(4), 0, 4, 0), path).toThrow(expect.objectContaining({ code: 'ERR_LAYER_CLOSED' }));
    }
    const memory = MemoryLayer.fromJSON({ '/m': 'memory layer\n' });
    memory.close();
    expect(() => memory.read(memory.entries.get('/m')!)).toThrow(expect.objectContaining({ code: 'ERR_LAYER_CLOSED' }));
  });

  it('a layer never closed has its descriptor closed when it is collected', async () => {
    const { path } = await layerFile();
    await (async () => {
      const layer = await TarLayer.from(path);
      expect(layer.read(layer.entries.get('/etc/a')!).toString()).toBe(A);
      expect(heldFiles(path)).toHaveLength(1);
    })();
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (let i = 0; i < 20 && heldFiles(path).length > 0; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10)); // finalizers run as tasks after a collection
    }
    expect(heldFiles(path)).toEqual([]);
  });
});

describe('through openImage', () => {
  /** An image of one uncompressed and one gzip layer. */
  async function image(): Promise<{ root: string; blobs: string[]; tars: Buffer[]; gz: Buffer }> {
    const root = join(dir, `image${serial++}`);
    const tars = [await tarOf(A, B), await packTar([{ header: { name: 'etc/c' }, body: 'c in a gzip layer\n' }])];
    const gz = gzipSync(tars[1]!);
    const blobs = writeOciLayout(root, [tars[0]!, gz], ['application/vnd.oci.image.layer.v1.tar', 'application/vnd.oci.image.layer.v1.tar+gzip']);
    return { root, blobs, tars, gz };
  }

  async function opened(): Promise<{ img: Image; blobs: string[]; tars: Buffer[]; gz: Buffer }> {
    const { root, blobs, tars, gz } = await image();
    return { img: await openImage(root), blobs, tars, gz };
  }

  it('a layer blob overwritten in place: EIO on read, and layerBlob/layerBlobStream refuse it (ERR_LAYER_CHANGED)', async () => {
    const { img, blobs, tars, gz } = await opened();
    const ov = img.overlay();
    const at = tars[0]!.indexOf(A);
    overwriteInPlace(blobs[0]!, at);
    expectEio(() => ov.readFileSync('/etc/a', 'utf8'));
    await expect(img.layerBlob(0)).rejects.toMatchObject({ code: 'ERR_LAYER_CHANGED' });
    await expect((async () => {
      for await (const _ of await img.layerBlobStream(0)) { /* drain */ }
    })()).rejects.toBeInstanceOf(LayerContentError);
    // The gzip layer's blob changed in place too: its content was inflated at open (memory or
    // spill, unaffected), but the blob itself is no longer the verified one.
    const g = fs.readFileSync(blobs[1]!);
    g[g.length - 1]! ^= 0xff;
    fs.writeFileSync(blobs[1]!, g); // O_TRUNC and rewrite: same inode
    expect(ov.readFileSync('/etc/c', 'utf8')).toBe('c in a gzip layer\n');
    await expect(img.layerBlob(1)).rejects.toMatchObject({ code: 'ERR_LAYER_CHANGED' });
    expect(gz.length).toBe(g.length);
  });

  it('a blob written through a shared mapping dirtied before the open (no timestamp moves): layerBlob and layerBlobStream hash and refuse it', async () => {
    const { root, blobs, tars } = await image();
    const at = tars[0]!.indexOf(A);
    const writer = await mmapWriter(blobs[0]!, at);
    try {
      const img = await openImage(root);
      const before = fs.statSync(blobs[0]!, { bigint: true });
      await writer.next(); // THE over a's first bytes, through the mapping
      const after = fs.statSync(blobs[0]!, { bigint: true });
      expect([after.mtimeNs, after.ctimeNs]).toEqual([before.mtimeNs, before.ctimeNs]); // nothing for a stamp check to see
      expect(fs.readFileSync(blobs[0]!).subarray(at, at + 3).toString()).toBe('THE');
      let ended = false;
      const stream = await img.layerBlobStream(0);
      stream.on('end', () => void (ended = true));
      await expect((async () => {
        for await (const _ of stream) { /* drain */ }
      })()).rejects.toMatchObject({ code: 'ERR_LAYER_CHANGED' });
      expect(ended).toBe(false);
      await expect(img.layerBlob(0)).rejects.toMatchObject({ code: 'ERR_LAYER_CHANGED' });
      // Once seen, the file is refused for every read, through the overlay too.
      expectEio(() => img.overlay().readFileSync('/etc/a'));
    } finally {
      await writer.close();
    }
  });

  it('messages name the blob (which names the layer) once, the entry once, and no code: the code, layer and path are fields', async () => {
    const { img, blobs, tars } = await opened();
    const ov = img.overlay();
    fs.truncateSync(blobs[0]!, tars[0]!.length - 1);
    const hex = img.layers[0]!.digest.slice('sha256:'.length);
    const blob = await img.layerBlob(0).then(() => undefined, (e: unknown) => e as LayerContentError) as LayerContentError;
    expect(blob).toMatchObject({ code: 'ERR_LAYER_CHANGED', layer: img.layers[0]!.digest, path: blobs[0] });
    expect(blob.message).toBe(`${blobs[0]}: changed after it was verified (size ${tars[0]!.length} -> ${tars[0]!.length - 1})`);
    const read = expectEio(() => ov.readFileSync('/usr/b')).cause as LayerContentError;
    expect(read).toMatchObject({ code: 'ERR_LAYER_CHANGED', layer: img.layers[0]!.digest, entry: '/usr/b', path: blobs[0] });
    expect(read.message).toBe(`${blobs[0]}: /usr/b: changed after it was verified (size ${tars[0]!.length} -> ${tars[0]!.length - 1})`);
    for (const m of [blob.message, read.message]) {
      expect(m.split(hex)).toHaveLength(2);
      expect(m).not.toMatch(/ERR_/);
    }
  });

  it('a layer blob truncated: typed errors naming the layer', async () => {
    const { img, blobs } = await opened();
    const ov = img.overlay();
    fs.truncateSync(blobs[0]!, 0);
    fs.truncateSync(blobs[1]!, 10);
    const e = expectEio(() => ov.readFileSync('/usr/b'));
    expect(e.message).toContain(blobs[0]); // the blob's path, which names the layer
    await expect(img.layerBlob(0)).rejects.toMatchObject({ code: 'ERR_LAYER_CHANGED', layer: img.layers[0]!.digest });
    await expect(img.layerBlob(1)).rejects.toMatchObject({ code: 'ERR_LAYER_CHANGED', layer: img.layers[1]!.digest });
  });

  it('layer blobs deleted or renamed over: the verified bytes, from the descriptors the layers hold', async () => {
    const { img, blobs, tars, gz } = await opened();
    const ov = img.overlay();
    fs.unlinkSync(blobs[0]!);
    await renameOver(blobs[1]!);
    expect(ov.readFileSync('/etc/a', 'utf8')).toBe(A);
    expect((await img.layerBlob(0)).equals(tars[0]!)).toBe(true);
    expect((await img.layerBlob(1)).equals(gz)).toBe(true);
    const streamed: Buffer[] = [];
    for await (const c of await img.layerBlobStream(1)) streamed.push(c as Buffer);
    expect(sha(Buffer.concat(streamed))).toBe(img.layers[1]!.digest);
  });

  it('image.close() closes every layer file', async () => {
    const { img } = await opened();
    const ov = img.overlay();
    img.close();
    expectEio(() => ov.readFileSync('/etc/a'));
    await expect(img.layerBlob(1)).rejects.toMatchObject({ code: 'ERR_LAYER_CLOSED' });
  });
});

/**
 * A python3 process that maps `path` MAP_SHARED and dirties the page holding byte `at` by
 * writing it with its own value (the write fault stamps mtime and ctime then: before the
 * test opens anything). `next()` then writes "THE" at `at` through the mapping: the page is
 * already writable and dirty, so no fault, and no timestamp moves until writeback.
 */
async function mmapWriter(path: string, at: number): Promise<{ next: () => Promise<void>; close: () => Promise<void> }> {
  const script = [
    'import mmap, sys',
    'f = open(sys.argv[1], "r+b"); m = mmap.mmap(f.fileno(), 0); at = int(sys.argv[2])',
    'm[at] = m[at]; print("dirty", flush=True); sys.stdin.readline()',
    'm[at:at + 3] = b"THE"; print("written", flush=True); sys.stdin.readline()',
  ].join('\n');
  const child = spawn('python3', ['-c', script, path, String(at)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const line = async (want: string) => expect((await lines.next()).value).toBe(want);
  await line('dirty');
  return {
    next: async () => {
      child.stdin!.write('\n');
      await line('written');
    },
    close: async () => {
      child.stdin!.end('\n');
      await exited;
    },
  };
}
