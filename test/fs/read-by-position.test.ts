import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Overlay, TarLayer } from '../../src/index.js';
import { writeSparseTar } from '../support/sparse-tar.js';

/**
 * Read-only descriptors, streams and readFile of lower files read by position from the layer
 * (Layer.readAt): a byte costs a byte, not the whole file per descriptor. Measured by the
 * bytes this process reads (rchar in /proc/self/io: every read(2) and pread(2)).
 */
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-by-position-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const SIZE = 64 * 2 ** 20;
let ov: Overlay;

const bytesRead = () => Number(/rchar: (\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'))![1]);
/** Bytes read by this process while `f` runs (and a few hundred for reading /proc/self/io). */
async function readDuring(f: () => unknown): Promise<number> {
  const before = bytesRead();
  await f();
  return bytesRead() - before;
}

beforeAll(async () => {
  const path = join(dir, 'layer.tar');
  await writeSparseTar(path, 'usr/lib/big.so', SIZE, [[SIZE - 4, 'tail'], [0, 'head']]);
  ov = new Overlay({ lower: [await TarLayer.from(path)] });
});

describe('reading part of a 64 MiB lower file', () => {
  it('three read-only descriptors and a byte from each read a few bytes, not the file three times', async () => {
    const read = await readDuring(() => {
      for (const at of [0, SIZE / 2, SIZE - 4]) {
        const fd = ov.openSync('/usr/lib/big.so', 'r');
        const one = Buffer.alloc(1);
        expect(ov.readSync(fd, one, 0, 1, at)).toBe(1);
        expect(one.toString()).toBe(at === 0 ? 'h' : at === SIZE - 4 ? 't' : '\0');
        ov.closeSync(fd);
      }
    });
    expect(read).toBeLessThan(64 * 1024);
  });

  it('a stream from near the end, and an open FileHandle, read what they are asked for', async () => {
    const read = await readDuring(async () => {
      const chunks: Buffer[] = [];
      for await (const c of ov.createReadStream('/usr/lib/big.so', { start: SIZE - 4 })) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('tail');
      const handle = await ov.promises.open('/usr/lib/big.so');
      const { bytesRead: n, buffer } = await handle.read(Buffer.alloc(4), 0, 4, 0);
      expect(n).toBe(4);
      expect(Buffer.from(buffer.buffer).toString()).toBe('head');
      await handle.close();
    });
    expect(read).toBeLessThan(64 * 1024);
  });

  it('readFileSync reads the file once, into the Buffer it returns', async () => {
    let data: Buffer | undefined;
    const read = await readDuring(() => {
      data = ov.readFileSync('/usr/lib/big.so') as Buffer;
    });
    expect(data!.length).toBe(SIZE);
    expect(data!.subarray(SIZE - 4).toString()).toBe('tail');
    expect(read).toBeLessThan(SIZE + 64 * 1024);
  });
});
