import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LayerContentError, openImage, Overlay, TarLayer } from '../../src/index.js';
import { writeOciLayout } from '../support/oci-layout.js';
import { packTar } from '../support/to-tar.js';

/**
 * content: 'none' (an index-only layer): every byte still read and verified, the index whole
 * (sizes included), no content kept; a content read is a LayerContentError
 * (ERR_LAYER_NO_CONTENT) naming the layer and the entry, never empty bytes.
 */
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-index-only-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const BIG = Buffer.alloc(6 * 2 ** 20, 'b'); // past memoryBytes (4 MiB): a kept layer would spill it
const tar = await packTar([
  { header: { name: 'etc/', type: 'directory', mode: 0o755 } },
  { header: { name: 'etc/motd', mode: 0o644, uid: 7 }, body: 'hello\n' },
  { header: { name: 'etc/empty', mode: 0o600 }, body: '' },
  { header: { name: 'etc/big', mode: 0o644 }, body: BIG },
  { header: { name: 'etc/again', type: 'link', linkname: 'etc/motd' } },
  { header: { name: 'etc/link', type: 'symlink', linkname: 'motd' } },
]);
const gz = gzipSync(tar);
const plainPath = join(dir, 'layer.tar');
const gzPath = join(dir, 'layer.tar.gz');
fs.writeFileSync(plainPath, tar);
fs.writeFileSync(gzPath, gz);

// The zstd command, as test/layer/zstd.test.ts makes zstd layers.
const zstdPath = join(dir, 'layer.tar.zst');
fs.writeFileSync(zstdPath, execFileSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 1 << 30 }));

const sources: Array<[string, () => string | Buffer | Readable]> = [
  ['an uncompressed tar file (the header walk)', () => plainPath],
  ['a gzip file', () => gzPath],
  ['a zstd file', () => zstdPath],
  ['a gzip Buffer', () => gz],
  ['an uncompressed stream', () => Readable.from([tar])],
];

function noContent(f: () => unknown): LayerContentError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(LayerContentError);
  return caught as LayerContentError;
}

describe.each(sources)("content: 'none' from %s", (_label, source) => {
  it('keeps the whole index, sizes included, and the same digests as a kept layer', async () => {
    const none = await TarLayer.from(source(), { content: 'none', name: 'L' });
    const kept = await TarLayer.from(source(), { name: 'L' });
    try {
      expect([...none.entries]).toEqual([...kept.entries]);
      expect(none.entries.get('/etc/big')!.size).toBe(BIG.length);
      expect(none.entries.get('/etc/link')!.linkTarget).toBe('motd');
      expect(none.entries.get('/etc/again')!.inode).toBe(none.entries.get('/etc/motd')!.inode);
      const { digest, diffId, size, compressedSize, entryCount } = kept.info;
      expect(none.info).toMatchObject({ digest, diffId, size, compressedSize, entryCount, contentOnDisk: false, spilledBytes: 0 });
    } finally {
      none.close();
      kept.close();
    }
  });

  it('a read of any file, an empty one too, is ERR_LAYER_NO_CONTENT naming the layer and the entry', async () => {
    const layer = await TarLayer.from(source(), { content: 'none', name: 'L' });
    for (const path of ['/etc/motd', '/etc/empty', '/etc/big']) {
      const entry = layer.entries.get(path)!;
      const e = noContent(() => layer.read(entry));
      // The entry is named by a path of its inode (/etc/motd is /etc/again too).
      const name = path === '/etc/motd' ? '/etc/again' : path;
      expect(e).toMatchObject({ code: 'ERR_LAYER_NO_CONTENT', layer: 'L', entry: name });
      expect(e.message).toBe(`layer L: ${name}: the layer keeps no file content (it was opened with content: 'none', its index only)`);
      expect(noContent(() => layer.readAt(entry, Buffer.alloc(8), 0, 8, 0)).code).toBe('ERR_LAYER_NO_CONTENT');
      // Past the end too: not a silent 0.
      expect(noContent(() => layer.readAt(entry, Buffer.alloc(8), 0, 8, 2 ** 40)).code).toBe('ERR_LAYER_NO_CONTENT');
    }
    layer.close();
    expect(noContent(() => layer.read(layer.entries.get('/etc/motd')!)).code).toBe('ERR_LAYER_CLOSED');
  });
});

describe("content: 'none' through an overlay", () => {
  it('stat, readdir, readlink and xattrs work; a read is EIO with the layer error as its cause', async () => {
    const layer = await TarLayer.from(gzPath, { content: 'none', name: 'L' });
    const ov = new Overlay({ lower: [layer] });
    expect(ov.statSync('/etc/big').size).toBe(BIG.length);
    expect(ov.statSync('/etc/motd')).toMatchObject({ size: 6, uid: 7, nlink: 2 });
    expect(ov.readdirSync('/etc')).toEqual(['again', 'big', 'empty', 'link', 'motd']);
    expect(ov.readlinkSync('/etc/link')).toBe('motd');
    for (const read of [() => ov.readFileSync('/etc/link'), () => ov.readFileSync('/etc/empty')]) {
      let caught: unknown;
      try {
        read();
      } catch (e) {
        caught = e;
      }
      expect(caught).toMatchObject({ code: 'EIO' });
      expect((caught as Error).cause).toMatchObject({ code: 'ERR_LAYER_NO_CONTENT' });
    }
    // A change that copies up needs the content: refused, and nothing is half made.
    expect(() => ov.appendFileSync('/etc/motd', 'x')).toThrow(/EIO/);
    expect(ov.readdirSync('/etc')).toEqual(['again', 'big', 'empty', 'link', 'motd']);
    layer.close();
  });
});

describe("openImage with content: 'none'", () => {
  it('verifies every layer as before: a wrong diff_id is still refused', async () => {
    const good = join(dir, 'good');
    writeOciLayout(good, [gz], 'application/vnd.oci.image.layer.v1.tar+gzip');
    const image = await openImage(good, { content: 'none' });
    expect(image.layers[0]!.layer.entries.get('/etc/big')!.size).toBe(BIG.length);
    // The blob is still there to read, as verified (it is not file content).
    expect((await image.layerBlob(0)).equals(gz)).toBe(true);
    expect(() => image.overlay().readFileSync('/etc/motd')).toThrow(/EIO.*content: 'none'/);
    image.close();
    const bad = join(dir, 'bad');
    writeOciLayout(bad, [gz], 'application/vnd.oci.image.layer.v1.tar+gzip', { diffIds: [`sha256:${'0'.repeat(64)}`] });
    await expect(openImage(bad, { content: 'none' })).rejects.toThrow(/diff_id/);
  });
});
