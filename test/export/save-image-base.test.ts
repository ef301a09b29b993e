import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { MemoryLayer, openImage, saveImage, SaveImageError, type Image, type SavedImage } from '../../src/index.js';
import { LayoutWriter } from '../../src/image/layout-writer.js';
import { hostCalls } from '../../src/host/native.js';
import { TEMP_NAME } from '../../src/host/publish.js';
import { checkBlobs, DEMO, readByTools } from '../support/save-check.js';
import { layerToTar } from '../support/to-tar.js';
import { writeOciLayout } from '../support/oci-layout.js';

/**
 * With `base`, saveImage copies the base image's blobs by streaming them, verified against
 * the digest and size openImage checked: a blob changed on disk since is a typed error, and
 * no manifest or index naming it is written.
 */
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-savebase-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => join(work, `${name}-${n++}`);

/** A copy of the demo image, opened, with a change in its overlay. */
async function openedCopy() {
  const src = fresh('demo');
  fs.cpSync(DEMO, src, { recursive: true });
  const base = await openImage(src);
  const ov = base.overlay();
  ov.writeFileSync('/etc/motd', 'changed\n');
  return { src, base, ov, blobOf: (i: number) => join(src, 'blobs', 'sha256', base.layers[i]!.digest.slice(7)) };
}

/** The output names no blob it lacks: no index.json, and nothing under a digest name is wrong. */
function nothingReferenced(out: string): void {
  expect(fs.existsSync(join(out, 'index.json'))).toBe(false);
  expect(checkBlobs(out)).toMatchObject({ temps: [], wrong: [] });
}

describe('saveImage({ base }) with a base blob changed after openImage', () => {
  // The image holds each blob's descriptor and checks its fstat after every read
  // (src/layer/content-file.ts): a blob changed in place gives ERR_LAYER_CHANGED there, which
  // saveImage reports as ERR_BASE_BLOB naming the blob; its own count and hash stand behind it.
  const cases: Array<[string, (path: string) => void]> = [
    ['same size, other bytes', (p) => {
      const b = fs.readFileSync(p);
      b[b.length >> 1]! ^= 0xff;
      fs.writeFileSync(p, b);
    }],
    ['truncated', (p) => fs.truncateSync(p, fs.statSync(p).size >> 1)],
    ['grown', (p) => fs.appendFileSync(p, 'more')],
  ];
  it.each(cases)('%s: ERR_BASE_BLOB naming the blob, and no manifest or index referencing it', async (_label, spoil) => {
    const { base, ov, blobOf } = await openedCopy();
    spoil(blobOf(2));
    const out = fresh('out');
    const err = await saveImage(ov, out, { base }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SaveImageError);
    expect((err as SaveImageError).code).toBe('ERR_BASE_BLOB');
    expect((err as SaveImageError).path).toBe(blobOf(2));
    expect((err as Error).message).toMatch(/changed after it was verified|changed since it was verified|truncated|more than the \d+ bytes/);
    nothingReferenced(out);
    expect(checkBlobs(out).blobs).not.toContain(base.layers[2]!.digest);
  });

  it('deleted, or renamed over, after open: the descriptor the image holds gives the verified bytes; saved', async () => {
    const { src, base, ov, blobOf } = await openedCopy();
    fs.rmSync(blobOf(1));
    fs.writeFileSync(join(src, 'other'), 'not the blob');
    fs.renameSync(join(src, 'other'), blobOf(2));
    const out = fresh('out');
    const saved = await saveImage(ov, out, { base, ref: 'v2' });
    expect(checkBlobs(out)).toMatchObject({ temps: [], wrong: [] });
    expect(readByTools(out, 'v2', work)).toEqual(saved.layers.map((l) => l.digest));
  });

  it('a rerun, with the image opened again once the blob is restored, completes, and the tools read the image', async () => {
    const { src, base, ov, blobOf } = await openedCopy();
    const good = fs.readFileSync(blobOf(1));
    fs.writeFileSync(blobOf(1), Buffer.alloc(good.length));
    const out = fresh('out');
    await expect(saveImage(ov, out, { base, ref: 'v2' })).rejects.toMatchObject({ code: 'ERR_BASE_BLOB' });
    fs.writeFileSync(blobOf(1), good);
    const again = await openImage(src);
    const ov2 = again.overlay();
    ov2.writeFileSync('/etc/motd', 'changed\n');
    const saved = await saveImage(ov2, out, { base: again, ref: 'v2' });
    expect(checkBlobs(out)).toMatchObject({ temps: [], wrong: [] });
    expect(readByTools(out, 'v2', work)).toEqual(saved.layers.map((l) => l.digest));
  });
});

describe('saveImage streams blobs to their files', () => {
  /** What /proc/self/fd shows for an O_TMPFILE file (its directory, then `#<inode> (deleted)`). */
  const UNNAMED = /^#\d+ \(deleted\)$/;

  /**
   * How many bytes the blob being written in `blobs` holds so far, found by the descriptor
   * this process writes it through: /proc/self/fd/N links to `<blobs>/#<inode> (deleted)` for
   * an unnamed file (O_TMPFILE, with the native addon; there is no name to look for in the
   * directory) or to `<blobs>/<temporary>` without it. 0 when there is none. The names seen
   * are added to `names`.
   */
  const names = new Set<string>();
  function writtenSoFar(blobs: string): number {
    if (!fs.existsSync(blobs)) return 0;
    const dir = fs.realpathSync(blobs);
    let size = 0;
    for (const fd of fs.readdirSync('/proc/self/fd')) {
      try {
        const to = fs.readlinkSync(`/proc/self/fd/${fd}`);
        if (!to.startsWith(`${dir}/`)) continue;
        const name = to.slice(dir.length + 1);
        if (!UNNAMED.test(name) && !TEMP_NAME.test(name)) continue;
        names.add(name);
        size = Math.max(size, fs.fstatSync(Number(fd)).size);
      } catch {
        // Closed meanwhile (the listing's own descriptor, for one).
      }
    }
    return size;
  }

  /**
   * Re-chunks a stream into 64 KiB pieces and, before each, notes how much of the blob is
   * already written to its file: a writer that collected the whole blob first would show
   * nothing there until the end.
   */
  function watched(stream: Readable, blobs: string, seen: number[]): Readable {
    const CHUNK = 64 * 1024;
    return Readable.from((async function* () {
      let given = 0;
      for await (const c of stream as AsyncIterable<Buffer>) {
        for (let off = 0; off < c.length; off += CHUNK) {
          seen.push(given - writtenSoFar(blobs));
          const piece = c.subarray(off, off + CHUNK);
          given += piece.length;
          yield piece;
        }
      }
    })(), { highWaterMark: 1, objectMode: true });
  }

  it('a base blob and the committed layer go to disk as they are read, never whole in memory', async () => {
    // A base image whose one layer is 8 MiB of incompressible bytes, uncompressed.
    const src = fresh('big');
    writeOciLayout(src, [await layerToTar(MemoryLayer.fromJSON({ '/big': randomBytes(8 << 20) }))]);
    const base = await openImage(src);
    const ov = base.overlay();
    ov.writeFileSync('/upper-big', randomBytes(8 << 20));
    const out = fresh('out');
    const blobs = join(out, 'blobs', 'sha256');
    const lagBase: number[] = [];
    const lagTop: number[] = [];
    const whole = vi.spyOn(base, 'layerBlob');
    const stream = base.layerBlobStream.bind(base);
    base.layerBlobStream = async (i) => watched(await stream(i), blobs, lagBase);
    const commit = ov.commit.bind(ov);
    ov.commit = (o) => {
      const w = commit(o);
      return { stream: watched(w.stream, blobs, lagTop), info: w.info };
    };
    const saved: SavedImage = await saveImage(ov, out, { base, compression: 'none', ref: 'v2' });
    expect(whole).not.toHaveBeenCalled();
    // 8 MiB in 64 KiB pieces: each piece is on disk (at most a piece behind) before the next is asked for.
    for (const lag of [lagBase, lagTop]) {
      expect(lag.length).toBeGreaterThanOrEqual(128);
      expect(Math.max(...lag)).toBeLessThanOrEqual(64 * 1024);
    }
    // With the addon a blob is written with no name at all; without it, under a temporary.
    expect(names.size).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(hostCalls() ? UNNAMED : TEMP_NAME);
    expect(checkBlobs(out)).toMatchObject({ temps: [], wrong: [] });
    expect(readByTools(out, 'v2', work)).toEqual(saved.layers.map((l) => l.digest));
  });
});

describe('saveImage when the layer writer fails or its bytes are not what it measured', () => {
  /** The overlay's commit with its stream passed through `change` (its info left as it is). */
  function patchCommit(ov: ReturnType<Image['overlay']>, change: (stream: Readable) => Readable): void {
    const commit = ov.commit.bind(ov);
    ov.commit = (o) => {
      const w = commit(o);
      return { stream: change(w.stream), info: w.info };
    };
  }

  it('a plain Error from the writer mid-stream: a SaveImageError (ERR_LAYER_WRITE) with it as the cause, no index', async () => {
    const { base, ov } = await openedCopy();
    const boom = new Error('boom: the writer gave up');
    patchCommit(ov, (stream) => Readable.from((async function* () {
      let given = 0;
      for await (const c of stream as AsyncIterable<Buffer>) {
        yield c;
        if ((given += c.length) > 0) throw boom;
      }
    })()));
    const out = fresh('out');
    const err = await saveImage(ov, out, { base }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SaveImageError);
    expect(err).toMatchObject({ code: 'ERR_LAYER_WRITE', cause: boom });
    expect((err as Error).message).toMatch(/the committed upper layer.*boom/);
    // Its file: unnamed (O_TMPFILE) in blobs/sha256, or its temporary there without the addon.
    expect((err as SaveImageError).path).toMatch(/\/blobs\/sha256(\/\.layerfs-tmp\.[0-9a-f]{32})?$/);
    nothingReferenced(out);
  });

  it('bytes written that are not the ones the writer measured: ERR_BLOB_MISMATCH, nothing named by them, no index', async () => {
    const { base, ov } = await openedCopy();
    let flipped: Buffer | undefined;
    patchCommit(ov, (stream) => Readable.from((async function* () {
      for await (const c of stream as AsyncIterable<Buffer>) {
        if (!flipped) {
          flipped = Buffer.from(c);
          flipped[0]! ^= 1;
          yield flipped;
        } else yield c;
      }
    })()));
    const out = fresh('out');
    const err = await saveImage(ov, out, { base }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SaveImageError);
    expect((err as SaveImageError).code).toBe('ERR_BLOB_MISMATCH');
    expect((err as Error).message).toMatch(/the committed upper layer: .* were written, but the tar writer measured/);
    nothingReferenced(out);
    expect(checkBlobs(out).blobs.sort()).toEqual(base.layers.map((l) => l.digest).sort());
  });
});

describe('LayoutWriter with a sha512 digest', () => {
  // openImage verifies layers by sha256 only today, so no base image has sha512 layers yet:
  // the writer itself is checked. descriptor.md registers sha256 and sha512.
  it('stores a blob under blobs/sha512/<hex>, verified against its digest', async () => {
    const out = fresh('sha512');
    const data = randomBytes(100_000);
    const digest = `sha512:${createHash('sha512').update(data).digest('hex')}`;
    const layout = await LayoutWriter.open(out);
    try {
      await expect(layout.put(async () => [data.subarray(0, 50_000), data.subarray(50_000)], 'a blob', { expect: { digest, size: data.length }, failCode: 'ERR_BASE_BLOB' })).resolves.toEqual({ digest, size: data.length });
      const other = Buffer.from(data);
      other[0]! ^= 1;
      await expect(layout.put(async () => [other], 'a changed blob', { expect: { digest: `sha512:${'0'.repeat(128)}`, size: data.length }, failCode: 'ERR_BASE_BLOB' })).rejects.toMatchObject({ code: 'ERR_BASE_BLOB' });
    } finally {
      layout.close();
    }
    expect(checkBlobs(out)).toEqual({ temps: [], blobs: [digest], wrong: [] });
  });
});
