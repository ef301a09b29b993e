import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { TarLayer, TarLayerError } from '../../src/index.js';
import { decompressor } from '../../src/tar/decompress.js';
import { packTar } from '../support/to-tar.js';

/**
 * zstd layers are checked as `zstd -t` checks them: skippable frames anywhere, several frames,
 * the content checksum of each frame that has one, a truncated frame an error. Every case is
 * run through the zstd command too, and layerfs must agree with it: open exactly when
 * `zstd -t` passes, with the bytes `zstd -d` gives.
 */
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-zstd-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const zstd = (data: Buffer, ...args: string[]) => {
  const r = spawnSync('zstd', ['-q', '-c', ...args], { input: data, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return r.stdout;
};
/** A skippable frame (RFC 8878 section 3.1.2): magic 0x184D2A5? little-endian, a 4-byte size, then that many bytes. */
const skippable = (payload: Buffer, nibble = 0) => {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a50 + nibble, 0);
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
};

/** What `zstd -t` and `zstd -d` say about `blob`. */
function zstdCommand(blob: Buffer): { ok: boolean; out?: Buffer; stderr: string } {
  const file = join(dir, 'case.zst');
  fs.writeFileSync(file, blob);
  const t = spawnSync('zstd', ['-t', '-q', file], { encoding: 'utf8' });
  if (t.status !== 0) return { ok: false, stderr: t.stderr };
  return { ok: true, out: spawnSync('zstd', ['-d', '-q', '-c', file], { maxBuffer: 1 << 30 }).stdout, stderr: '' };
}

/** Opens `blob` from a Buffer and from a file (both go through the streaming decoder). */
async function openBoth(blob: Buffer): Promise<Array<PromiseSettledResult<TarLayer>>> {
  const file = join(dir, `layer-${Math.random().toString(36).slice(2)}.zst`);
  fs.writeFileSync(file, blob);
  return Promise.allSettled([TarLayer.from(blob, { name: 'Z' }), TarLayer.from(file, { name: 'Z' })]);
}

async function sampleTar(): Promise<Buffer> {
  // Random content (incompressible) and text, large enough for several blocks and output chunks.
  return packTar([
    { header: { name: 'random', mode: 0o644 }, body: randomBytes(3 << 20) },
    { header: { name: 'text', mode: 0o644 }, body: 'hello zstd\n'.repeat(200_000) },
  ]);
}

describe('zstd layers, checked as zstd -t checks them', () => {
  it('accepted as zstd accepts them: a leading skippable frame, skippable frames between and after frames, several frames', async () => {
    const tar = await sampleTar();
    const half = 1536 * 1024; // a 512-byte boundary inside the random file
    const [a, b] = [zstd(tar.subarray(0, half)), zstd(tar.subarray(half))];
    const cases: Array<[string, Buffer]> = [
      ['a leading skippable frame (was read as a plain tar)', Buffer.concat([skippable(Buffer.from('metadata')), zstd(tar)])],
      ['two frames', Buffer.concat([a, b])],
      ['skippable frames before, between and after, of every magic nibble', Buffer.concat([skippable(Buffer.alloc(0), 0xf), a, skippable(randomBytes(1000), 7), b, skippable(Buffer.from('end'), 3)])],
      ['a frame without a checksum, one without a content size', Buffer.concat([zstd(tar.subarray(0, half), '--no-check'), zstd(tar.subarray(half), '--no-content-size')])],
    ];
    for (const [what, blob] of cases) {
      const z = zstdCommand(blob);
      expect(z.ok, `zstd -t on ${what}: ${z.stderr}`).toBe(true);
      expect(z.out!.equals(tar), what).toBe(true);
      for (const r of await openBoth(blob)) {
        expect(r.status, `${what}: ${r.status === 'rejected' ? (r.reason as Error).message : ''}`).toBe('fulfilled');
        const layer = (r as PromiseFulfilledResult<TarLayer>).value;
        expect(layer.info).toMatchObject({ compression: 'zstd', diffId: sha(tar), digest: sha(blob), size: tar.length });
        expect(layer.read(layer.entries.get('/text')!).toString()).toBe('hello zstd\n'.repeat(200_000));
      }
    }
  });

  it('refused as zstd refuses them: a wrong content checksum (was accepted), a truncated frame, garbage after the last frame, a truncated skippable frame', async () => {
    const tar = await sampleTar();
    const whole = zstd(tar);
    const badChecksum = Buffer.from(whole);
    badChecksum[badChecksum.length - 1] = badChecksum[badChecksum.length - 1]! ^ 0xff; // the last byte of the frame's XXH64 checksum
    const cases: Array<[string, Buffer]> = [
      ['a wrong content checksum', badChecksum],
      ['a wrong checksum in the second of two frames', Buffer.concat([zstd(tar.subarray(0, 1024)), Buffer.from(badChecksum)])],
      ['a frame cut short', whole.subarray(0, whole.length - 100)],
      ['a frame missing only its checksum', whole.subarray(0, whole.length - 4)],
      ['garbage after the last frame', Buffer.concat([whole, Buffer.from('not a frame')])],
      ['a skippable frame longer than the stream', Buffer.concat([whole, skippable(Buffer.alloc(100)).subarray(0, 50)])],
    ];
    for (const [what, blob] of cases) {
      expect(zstdCommand(blob).ok, `zstd -t on ${what}`).toBe(false);
      for (const r of await openBoth(blob)) {
        expect(r.status, what).toBe('rejected');
        expect((r as PromiseRejectedResult).reason, what).toBeInstanceOf(TarLayerError);
        expect(((r as PromiseRejectedResult).reason as Error).message, what).toMatch(/layer Z: .*corrupt or truncated archive/);
      }
    }
  });

  it('a zstd bomb stops at maxBytes with a typed error, without decoding ahead of the limit', async () => {
    const bomb = zstd(await packTar([{ header: { name: 'zeros', mode: 0o644 }, body: Buffer.alloc(400 << 20) }]), '-19');
    expect(bomb.length).toBeLessThan(200_000);
    const before = process.memoryUsage().rss;
    await expect(TarLayer.from(bomb, { maxBytes: 1 << 20 })).rejects.toThrow(/exceeds the bound of 1048576 bytes/);
    // 400 MiB decoded in one go would show here; the decoder waits for the stages after it.
    expect(process.memoryUsage().rss - before).toBeLessThan(200 << 20);
  }, 30_000);
});

describe('zstd output and messages', () => {
  const binding = createRequire(import.meta.url)('zstd-napi/binding') as { compress(dst: Uint8Array, src: Uint8Array, level: number): number };
  /** `data` as one zstd frame per `size` bytes (with the simple API, as a frame of known size). */
  const frames = (data: Buffer, size: number) => {
    const out: Buffer[] = [];
    for (let at = 0; at < data.length; at += size) {
      const dst = Buffer.alloc(size + 64);
      out.push(dst.subarray(0, binding.compress(dst, data.subarray(at, at + size), 3)));
    }
    return Buffer.concat(out);
  };
  const chunkSizes = async (blob: Buffer, inputChunk: number) => {
    const input = Readable.from(Array.from({ length: Math.ceil(blob.length / inputChunk) }, (_, i) => blob.subarray(i * inputChunk, (i + 1) * inputChunk)));
    const sizes: number[] = [];
    for await (const c of input.pipe(decompressor('zstd')!)) sizes.push((c as Buffer).length);
    return sizes;
  };

  it('many tiny frames come out in full 1 MiB chunks, not a chunk (and a fresh 1 MiB buffer) per frame', async () => {
    const data = randomBytes(20_000);
    expect(await chunkSizes(frames(data, 1), 4096)).toEqual([20_000]);
    // Frames larger and smaller than a chunk: every chunk but the last is full.
    const big = randomBytes((2 << 20) + 12_345);
    expect(await chunkSizes(frames(big, 700_000), 1 << 16)).toEqual([1 << 20, 1 << 20, 12_345]);
    expect(await chunkSizes(frames(big, 100), 1 << 20)).toEqual([1 << 20, 1 << 20, 12_345]);
  });

  it('a failure names what failed and where in the compressed stream: checksum, garbage after the frames, a dictionary', async () => {
    const tar = await sampleTar();
    const whole = zstd(tar);
    const badChecksum = Buffer.from(whole);
    badChecksum[badChecksum.length - 1] = badChecksum[badChecksum.length - 1]! ^ 0xff;
    const two = Buffer.concat([zstd(tar.subarray(0, 1024)), zstd(tar.subarray(1024))]);
    const garbage = Buffer.concat([two, Buffer.from('not a frame')]);
    // A dictionary trained by the zstd command: its frames carry the dictionary's ID.
    const samples = join(dir, 'samples');
    fs.mkdirSync(samples, { recursive: true });
    for (let i = 0; i < 200; i++) fs.writeFileSync(join(samples, `${i}`), `sample ${i} ${'abcdefgh'.repeat(i % 17)} ${randomBytes(8).toString('hex')}\n`.repeat(20));
    spawnSync('zstd', ['-q', '--train', '-r', samples, '-o', join(dir, 'dict'), '--maxdict=4096']);
    const dictId = fs.readFileSync(join(dir, 'dict')).readUInt32LE(4);
    const withDictionary = zstd(tar, '-D', join(dir, 'dict'));
    const cases: Array<[string, Buffer, RegExp]> = [
      ['a wrong content checksum', badChecksum, /^layer Z: zstd frame 1 \(at byte 0 of the compressed layer\), after .*: corrupt or truncated archive: zstd: .*checksum/i],
      ['garbage after two frames', garbage, new RegExp(`^layer Z: zstd frame 3 \\(at byte ${two.length} of the compressed layer\\), after .*: corrupt or truncated archive: zstd: Unknown frame descriptor`)],
      ['a frame that needs a dictionary', withDictionary, new RegExp(`^layer Z: zstd frame 1 \\(at byte 0 of the compressed layer\\), after .*: corrupt or truncated archive: zstd: .*\\(the frame was compressed with dictionary ${dictId}; a layer cannot name one\\)`)],
      ['a frame cut short', whole.subarray(0, whole.length - 100), /^layer Z: zstd frame 1 \(at byte 0 of the compressed layer\), after .*: corrupt or truncated archive: zstd: the stream ends inside a frame \(truncated\)/],
    ];
    for (const [what, blob, message] of cases) {
      expect(zstdCommand(blob).ok, `zstd -t on ${what}`).toBe(false);
      for (const r of await openBoth(blob)) {
        expect(r.status, what).toBe('rejected');
        expect(((r as PromiseRejectedResult).reason as Error).message, what).toMatch(message);
      }
    }
  });
});
