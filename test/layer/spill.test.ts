import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Overlay, TarLayer, TarLayerError } from '../../src/index.js';
import { heldDescriptors } from '../support/held-fds.js';
import { fileHeader, packTar } from '../support/to-tar.js';

/**
 * Inflated content beyond a small memory budget goes to a private spill file, so opening a
 * decompression bomb costs disk (bounded by maxBytes; runs of zeros not even that), not memory.
 * Memory is this process's peak RSS (VmHWM, reset through /proc/self/clear_refs before the open).
 */
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-spill-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const GiB = 2 ** 30;
const MARK = 'END-OF-THE-BOMB!';

/** A tar of one 1 GiB file of zeros ending in MARK, as pieces: header, 1 MiB zero runs, last MiB, end blocks. */
async function bombPieces(): Promise<{ header: Buffer; zeros: Buffer; last: Buffer; end: Buffer }> {
  const header = await fileHeader('bomb', GiB);
  const last = Buffer.alloc(2 ** 20);
  last.write(MARK, last.length - MARK.length);
  return { header, zeros: Buffer.alloc(2 ** 20), last, end: Buffer.alloc(1024) };
}

let gzPath: string;
let zstPath: string;
beforeAll(async () => {
  const { header, zeros, last, end } = await bombPieces();
  // gzip members and zstd frames may follow one another (RFC 1952 2.2; RFC 8878 3.1): the
  // bomb is made from one compressed MiB of zeros, repeated.
  const gz = gzipSync(zeros);
  gzPath = join(dir, 'bomb.tar.gz');
  fs.writeFileSync(gzPath, Buffer.concat([gzipSync(header), ...Array<Buffer>(1023).fill(gz), gzipSync(last), gzipSync(end)]));
  const zst = (b: Buffer) => execFileSync('zstd', ['-q', '-c', '-1'], { input: b, maxBuffer: 2 ** 26 });
  const z = zst(zeros);
  zstPath = join(dir, 'bomb.tar.zst');
  fs.writeFileSync(zstPath, Buffer.concat([zst(header), ...Array<Buffer>(1023).fill(z), zst(last), zst(end)]));
});

/**
 * Runs `f` with a 1 MiB tmpfs mounted at `name` in the scratch directory, unmounted after. The
 * layer's files are closed when from() rejects: a busy mount at the end would be a leak.
 */
async function onTinyTmpfs(name: string, f: (mount: string) => Promise<void>): Promise<void> {
  const small = join(dir, name);
  fs.mkdirSync(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
  try {
    await f(small);
  } finally {
    try {
      execFileSync('umount', [small]);
    } catch (e) {
      execFileSync('umount', ['-l', small]);
      throw e;
    }
  }
}

/** Peak RSS growth while `f` runs: VmHWM after, less RSS before (clear_refs 5 resets VmHWM to it). */
async function peakGrowth(f: () => Promise<unknown>): Promise<number> {
  const status = () => fs.readFileSync('/proc/self/status', 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status())![1]) * 1024;
  fs.writeFileSync('/proc/self/clear_refs', '5');
  const before = kib('VmRSS');
  await f();
  return kib('VmHWM') - before;
}

describe('a 1 GiB decompression bomb under the default limits', () => {
  for (const kind of ['gzip', 'zstd'] as const) {
    it(`${kind}: opens with its content in the spill file, peak memory far below its size, and reads back`, async () => {
      let layer: TarLayer | undefined;
      const growth = await peakGrowth(async () => {
        layer = await TarLayer.from(kind === 'gzip' ? gzPath : zstPath);
      });
      expect(growth).toBeLessThan(300 * 2 ** 20); // all of it held inflated would be over 1 GiB
      expect(layer!.info.compression).toBe(kind);
      expect(layer!.info.spilledBytes).toBe(GiB);
      const ov = new Overlay({ lower: [layer!] });
      const fd = ov.openSync('/bomb', 'r');
      const tail = Buffer.alloc(MARK.length + 4, 1);
      expect(ov.readSync(fd, tail, 0, tail.length, GiB - tail.length)).toBe(tail.length);
      expect(tail.toString('latin1')).toBe('\0\0\0\0' + MARK);
      ov.closeSync(fd);
      layer!.close();
    }, 60_000);
  }
});

describe('the memory budget and the spill file', () => {
  const files = Array.from({ length: 40 }, (_, i) => ({ name: `f${i}`, body: Buffer.alloc(200_000, i + 1) }));
  const tar = () => packTar(files.map((f) => ({ header: { name: f.name }, body: f.body })));

  it('content up to memoryBytes stays in memory, the rest spills; both read back exactly', async () => {
    const layer = await TarLayer.from(gzipSync(await tar()), { memoryBytes: 1_000_000 });
    expect(layer.info.spilledBytes).toBe(8_000_000 - 5 * 200_000);
    for (const f of files) expect(layer.read(layer.entries.get(`/${f.name}`)!).equals(f.body), f.name).toBe(true);
    const all = await TarLayer.from(gzipSync(await tar()), { content: 'memory' });
    expect(all.info.spilledBytes).toBe(0);
  });

  it('content held under the memory bound is copied out of the inflated chunks; content: \'memory\' keeps views of them', async () => {
    // A view keeps its whole 1 MiB chunk alive: the layers of an image open side by side, so
    // under the default bound each held up to twice its 4 MiB at the peak.
    const held = (layer: TarLayer) => [...(layer as unknown as { content: Map<number, unknown> }).content.values()].filter((c): c is Buffer => Buffer.isBuffer(c) && c.length > 0);
    const bounded = await TarLayer.from(gzipSync(await tar()));
    expect(held(bounded).length).toBe(20); // 4 MiB holds 20 files of 200,000 bytes
    for (const b of held(bounded)) expect(b.buffer.byteLength).toBe(b.length);
    const all = await TarLayer.from(gzipSync(await tar()), { content: 'memory' });
    expect(held(all).length).toBe(40);
    expect(held(all).some((b) => b.buffer.byteLength > b.length)).toBe(true);
    for (const f of files) expect(bounded.read(bounded.entries.get(`/${f.name}`)!).equals(f.body), f.name).toBe(true);
  });

  it('a spill directory that cannot take the file is a typed error naming it', async () => {
    const missing = join(dir, 'no-such-dir');
    await expect(TarLayer.from(gzipSync(await tar()), { spillDir: missing, memoryBytes: 0 })).rejects.toThrow(TarLayerError);
    await expect(TarLayer.from(gzipSync(await tar()), { spillDir: missing, memoryBytes: 0 })).rejects.toThrow(/no-such-dir.*content: 'memory'/);
  });

  it('a full spill filesystem (ENOSPC) is a typed error, not a layer missing content', async () => {
    await onTinyTmpfs('small', async (small) => {
      await expect(TarLayer.from(gzipSync(await tar()), { spillDir: small, memoryBytes: 0 })).rejects.toThrow(/spill file.*ENOSPC/);
    });
  });
});

/** A reproducible stream of pseudo-random bytes (xorshift32): the same seed, the same bytes. */
function randomBytesFrom(seed: number): (n: number) => Buffer {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  return (n) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = next() & 0xff;
    return b;
  };
}

const CHUNK = 64 << 10; // the spill leaves an all-zero piece of 64 KiB or more as a hole

describe('spilled content next to runs of zeros', () => {
  /**
   * Files of data runs and zero runs of random lengths (0 to 5 times 64 KiB, so most are left
   * as holes, and data lands right after them), the last file ending in a long zero run (a
   * trailing hole). The tar is streamed with each run as a chunk of its own, so each is a
   * piece the spill sees whole.
   */
  async function zeroRunLayer(seed: number): Promise<{ layer: TarLayer; files: Array<{ name: string; body: Buffer }> }> {
    const random = randomBytesFrom(seed);
    const int = (below: number) => random(4).readUInt32LE(0) % below;
    const files = Array.from({ length: 4 }, (_, f) => {
      const parts: Buffer[] = [];
      for (let i = 0; i < 12; i++) parts.push(random(1 + int(3 * CHUNK)), Buffer.alloc(int(5 * CHUNK)));
      if (f === 3) parts.push(Buffer.alloc(4 * CHUNK + 123));
      return { name: `f${f}`, parts: parts.filter((p) => p.length > 0), body: Buffer.concat(parts) };
    });
    const chunks: Buffer[] = [];
    for (const f of files) chunks.push(await fileHeader(f.name, f.body.length), ...f.parts, Buffer.alloc(-f.body.length & 511));
    chunks.push(Buffer.alloc(1024));
    const layer = await TarLayer.from(Readable.from(chunks), { memoryBytes: 0, spillDir: dir });
    return { layer, files };
  }

  it('random positioned reads give the real bytes (every write lands at its offset, holes included)', async () => {
    for (const seed of [1, 2, 3]) {
      const { layer, files } = await zeroRunLayer(seed);
      const int = ((r) => (below: number) => r(4).readUInt32LE(0) % below)(randomBytesFrom(seed + 100));
      let mismatches = 0;
      for (let i = 0; i < 600; i++) {
        const f = files[int(files.length)]!;
        const position = int(f.body.length + 10);
        const length = 1 + int(2 * CHUNK);
        const got = Buffer.alloc(length);
        const n = layer.readAt(layer.entries.get(`/${f.name}`)!, got, 0, length, position);
        if (!got.subarray(0, n).equals(f.body.subarray(position, position + length))) mismatches++;
      }
      for (const f of files) if (!layer.read(layer.entries.get(`/${f.name}`)!).equals(f.body)) mismatches++;
      expect(mismatches, `seed ${seed}`).toBe(0);
      layer.close();
    }
  });

  it('a trailing run of zeros reads back to the file\'s end (the spill file is made that long)', async () => {
    const { layer, files } = await zeroRunLayer(4);
    const last = files[3]!;
    const tail = Buffer.alloc(1000, 1);
    expect(layer.readAt(layer.entries.get('/f3')!, tail, 0, tail.length, last.body.length - tail.length)).toBe(tail.length);
    expect(tail.equals(Buffer.alloc(1000))).toBe(true);
    layer.close();
  });

  it('zero runs cost no disk: the spill file is sparse', async () => {
    const tar = await packTar([{ header: { name: 'z' }, body: Buffer.concat([Buffer.alloc(16 << 20), randomBytesFrom(9)(100_000)]) }]);
    const spillDir = fs.mkdtempSync(join(dir, 'sparse-'));
    const layer = await TarLayer.from(gzipSync(tar), { memoryBytes: 0, spillDir });
    const spill = heldDescriptors(spillDir);
    expect(spill).toHaveLength(1);
    const st = fs.statSync(`/proc/self/fd/${spill[0]!.fd}`);
    expect(st.size).toBe(16 * 2 ** 20 + 100_000);
    expect(st.blocks * 512).toBeLessThan(2 << 20);
    layer.close();
  });
});

describe('a spill write that fails', () => {
  it('ends the pass at the next piece read, not after the rest of the layer', async () => {
    await onTinyTmpfs('small-early', async (small) => {
      const SIZE = 256 << 20;
      const piece = randomBytesFrom(5)(1 << 20); // not zeros: written, not left as a hole
      let given = 0;
      const source = Readable.from((async function* () {
        yield await fileHeader('big', SIZE);
        for (; given < SIZE; given += piece.length) yield piece;
        yield Buffer.alloc(1024);
      })());
      await expect(TarLayer.from(source, { memoryBytes: 0, spillDir: small })).rejects.toThrow(/spill file.*ENOSPC/);
      expect(given).toBeLessThan(64 << 20);
    });
  });
});

