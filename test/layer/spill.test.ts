import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Overlay, TarLayer, TarLayerError } from '../../src/index.js';
import { packTar, patchHeader } from '../support/to-tar.js';

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
  const empty = await packTar([{ header: { name: 'bomb' }, body: '' }]);
  const header = patchHeader(empty.subarray(0, 512), 0, (b) => void b.write(GiB.toString(8).padStart(11, '0') + '\0', 124, 'latin1'));
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
      expect(growth).toBeLessThan(300 * 2 ** 20); // it was over 2 GiB: all of it held inflated
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

  it('a spill directory that cannot take the file is a typed error naming it', async () => {
    const missing = join(dir, 'no-such-dir');
    await expect(TarLayer.from(gzipSync(await tar()), { spillDir: missing, memoryBytes: 0 })).rejects.toThrow(TarLayerError);
    await expect(TarLayer.from(gzipSync(await tar()), { spillDir: missing, memoryBytes: 0 })).rejects.toThrow(/no-such-dir.*content: 'memory'/);
  });

  it('a full spill filesystem (ENOSPC) is a typed error, not a layer missing content', async () => {
    const small = join(dir, 'small');
    fs.mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
    try {
      await expect(TarLayer.from(gzipSync(await tar()), { spillDir: small, memoryBytes: 0 })).rejects.toThrow(/spill file.*ENOSPC/);
    } finally {
      // The layer's files are closed when from() rejects: a busy mount here would be a leak.
      try {
        execFileSync('umount', [small]);
      } catch (e) {
        execFileSync('umount', ['-l', small]);
        throw e;
      }
    }
  });
});
