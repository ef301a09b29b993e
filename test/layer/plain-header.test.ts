import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePlainHeader } from '../../src/tar/plain-header.js';
import { packTar } from '../support/to-tar.js';

/**
 * plain-header.ts against tar-stream's own header decode (headers.js, as header-walk.ts loads
 * it): wherever it decodes a block, it gives exactly what tar-stream gives; where it declines
 * (undefined), tar-stream decides.
 */
const require = createRequire(import.meta.url);
const codec = require(join(dirname(require.resolve('tar-stream')), 'headers.js')) as { decode(b: Buffer, enc: string, unknown: boolean): unknown };
const RUNS = Number(process.env.LAYERFS_PLAIN_HEADER_RUNS ?? 300);

/** What tar-stream's decode gives, or the message it throws. */
function reference(block: Buffer): unknown {
  try {
    return codec.decode(block, 'latin1', false);
  } catch (e) {
    return { threw: (e as Error).message };
  }
}

/** Header blocks of every ordinary kind, as tar-stream packs them (ustar, long names split at a prefix). */
async function headerBlocks(): Promise<Buffer[]> {
  const entries = [
    { name: 'usr/bin/tool', type: 'file', mode: 0o4755, uid: 7, gid: 8, mtime: new Date(1.2e12), size: 3 },
    { name: 'etc/', type: 'directory', mode: 0o755, uname: 'root', gname: 'wheel' },
    { name: 'usr/lib/a-fairly-long-directory-name/another-long-component/and-a-file-name-that-goes-past-100-bytes', type: 'file', size: 0 },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
    { name: 'bin/ash', type: 'link', linkname: 'bin/busybox' },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 },
    { name: 'run/pipe', type: 'fifo' },
    { name: 'caf\u00e9/\u00fcber', type: 'file', uname: 'j\u00f6rg' },
  ];
  const tar = await packTar(entries.map((header) => ({ header: header as never, ...(header.type === 'file' ? { body: Buffer.alloc(header.size ?? 0, 'x') } : {}) })));
  const blocks: Buffer[] = [];
  for (let at = 0; at + 512 <= tar.length; at += 512) {
    const b = tar.subarray(at, at + 512);
    // Entry headers (magic "ustar", typeflag 0 to 7), not PAX headers, content or padding.
    if (b[257] === 0x75 && b[156]! >= 0x30 && b[156]! <= 0x37) blocks.push(Buffer.from(b));
  }
  return blocks;
}

/** A GNU-format header (magic "ustar  \0"), which has no prefix field. */
function gnu(block: Buffer): Buffer {
  const b = Buffer.from(block);
  b.write('ustar  \0', 257, 'latin1');
  let sum = 8 * 32;
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += b[i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

describe('decodePlainHeader gives what tar-stream decodes, or declines', () => {
  it('on headers of every entry kind, ustar and GNU', async () => {
    const blocks = await headerBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(9);
    for (const b of [...blocks, ...blocks.map(gnu)]) {
      const mine = decodePlainHeader(b);
      expect(mine, `decoded: ${b.toString('latin1', 0, 100)}`).toBeDefined();
      expect(mine).toEqual(reference(b));
      // The checksum is summed four bytes at a time on an aligned block, a byte at a time otherwise.
      const unaligned = Buffer.alloc(513).subarray(1);
      b.copy(unaligned);
      expect(decodePlainHeader(unaligned)).toEqual(mine);
      const corrupt = Buffer.alloc(513).subarray(1);
      b.copy(corrupt);
      corrupt[40] = corrupt[40]! ^ 0x10;
      expect(decodePlainHeader(corrupt)).toBeUndefined();
    }
  });

  it('on user and group names that repeat, change by a byte, shrink or vanish from header to header', async () => {
    // Names are decoded once per distinct value: the same bytes must give the same string, others a new one.
    const names = ['root', 'roof', 'root', 'ro', '', 'root', 'j\u00f6rg', 'j\u00f6rh', 'root'];
    const tar = await packTar(names.map((uname, i) => ({ header: { name: `f${i}`, type: 'file', uname, gname: names[names.length - 1 - i]! } as never, body: '' })));
    for (let i = 0; i < names.length; i++) {
      const b = tar.subarray(512 * i, 512 * i + 512);
      expect(decodePlainHeader(b)).toEqual(reference(b));
      expect(decodePlainHeader(b)).toMatchObject({ uname: names[i], gname: names[names.length - 1 - i] });
    }
  });

  it('on random corruptions of them (a byte, a field of spaces, NULs, high bits, a checksum fixed up or not)', async () => {
    const blocks = await headerBlocks();
    const fields = [[0, 100], [100, 8], [108, 8], [116, 8], [124, 12], [136, 12], [148, 8], [156, 1], [157, 100], [257, 8], [265, 32], [329, 8], [337, 8], [345, 155]] as const;
    const arb = fc.record({
      block: fc.integer({ min: 0, max: blocks.length * 2 - 1 }),
      edits: fc.array(fc.record({
        field: fc.integer({ min: 0, max: fields.length - 1 }),
        at: fc.nat(),
        bytes: fc.array(fc.constantFrom(0, 0x20, 0x30, 0x37, 0x38, 0x2b, 0x2d, 0x09, 0x80, 0xff, 0x41, 0x2f, 0xc3), { minLength: 1, maxLength: 12 }),
      }), { maxLength: 4 }),
      fixSum: fc.boolean(),
    });
    let decoded = 0;
    fc.assert(fc.property(arb, ({ block, edits, fixSum }) => {
      const base = block < blocks.length ? blocks[block]! : gnu(blocks[block - blocks.length]!);
      const b = Buffer.from(base);
      for (const e of edits) {
        const [start, len] = fields[e.field]!;
        for (let i = 0; i < e.bytes.length; i++) b[start + ((e.at + i) % len)] = e.bytes[i]!;
      }
      if (fixSum) {
        let sum = 8 * 32;
        for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += b[i]!;
        b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
      }
      const mine = decodePlainHeader(b);
      if (mine === undefined) return;
      decoded++;
      expect(mine).toEqual(reference(b));
    }), { numRuns: RUNS });
    // The corruptions must leave many blocks plain, or the comparison shows little.
    expect(decoded).toBeGreaterThan(RUNS / 10);
  });

  it('declines what tar-stream must decide: a zero block, PAX and GNU long headers, base-256 numbers, a bad checksum', async () => {
    const [file] = await headerBlocks();
    expect(decodePlainHeader(Buffer.alloc(512))).toBeUndefined();
    for (const flag of ['x', 'g', 'L', 'K', 'S']) {
      const b = Buffer.from(file!);
      b.write(flag, 156, 'latin1');
      expect(decodePlainHeader(b)).toBeUndefined();
    }
    const big = Buffer.from(file!);
    big[108] = 0x80;
    expect(decodePlainHeader(big)).toBeUndefined();
    const bad = Buffer.from(file!);
    bad[0] = bad[0]! ^ 1;
    expect(decodePlainHeader(bad)).toBeUndefined();
  });
});
