import type * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sides, type Side } from './surface-harness.js';

/**
 * The positions Node's binding takes as "the descriptor's own" (GetOffset in
 * src/node_file.cc: a value that is not a safe integer is -1; libuv's uv__fs_read/uv__fs_write
 * then use read(2)/write(2), not pread/pwrite, for any offset < 0): readv/writev with a
 * fractional or too large position, and write with a negative one, read and write at the
 * descriptor's position and move it, on the overlay as on Node's fs over a real file.
 */

const tree = { '/f': 'abcdefghij' };

type Fs = typeof fs;
async function same(run: (f: Fs, at: (p: string) => string) => Promise<unknown[]>): Promise<void> {
  const { real, ov } = sides(tree);
  const go = async (s: Side) => {
    try {
      // ov.fs, the module with the callback calls, on the overlay's side.
      return await run((s.ov ? s.ov.fs : s.fs) as unknown as Fs, s.at);
    } catch (e) {
      return { threw: (e as NodeJS.ErrnoException).code, message: (e as Error).message };
    }
  };
  expect(await go(ov)).toEqual(await go(real));
}

describe('positions that are not a file offset mean the descriptor position', () => {
  it('readvSync / writevSync with a fractional or unsafe position', async () => {
    await same(async (f, at) => {
      const fd = f.openSync(at('/f'), 'r+');
      f.readSync(fd, Buffer.alloc(3), 0, 3, null);
      const b = Buffer.alloc(3);
      const out: unknown[] = [f.readvSync(fd, [b], 0.5), b.toString()];
      out.push(f.readvSync(fd, [b], 2 ** 53), b.toString());
      out.push(f.writevSync(fd, [Buffer.from('XY')], 1.5), f.writevSync(fd, [Buffer.from('ZW')], Number.NaN));
      out.push(String(f.readFileSync(at('/f'))));
      f.closeSync(fd);
      return out;
    });
  });

  it('the callback readv / writev', async () => {
    await same(async (f, at) => {
      const fd = f.openSync(at('/f'), 'r+');
      f.readSync(fd, Buffer.alloc(3), 0, 3, null);
      const b = Buffer.alloc(3);
      const n = await new Promise((res, rej) => f.readv(fd, [b], 0.5, (e, count) => (e ? rej(e) : res(count))));
      const w = await new Promise((res, rej) => f.writev(fd, [Buffer.from('Q')], 2.5, (e, count) => (e ? rej(e) : res(count))));
      const out = [n, b.toString(), w, String(f.readFileSync(at('/f')))];
      f.closeSync(fd);
      return out;
    });
  });

  it('writeSync, the callback write and FileHandle.write with a negative position', async () => {
    await same(async (f, at) => {
      const fd = f.openSync(at('/f'), 'r+');
      f.readSync(fd, Buffer.alloc(3), 0, 3, null);
      const out: unknown[] = [f.writeSync(fd, Buffer.from('X'), 0, 1, -5), f.writeSync(fd, 'Y', -7), f.writeSync(fd, Buffer.from('Z'), { position: -3 } as never)];
      out.push(f.writevSync(fd, [Buffer.from('V')], -2));
      out.push(await new Promise((res, rej) => f.write(fd, Buffer.from('C'), 0, 1, -9, (e, count) => (e ? rej(e) : res(count)))));
      out.push(String(f.readFileSync(at('/f'))));
      f.closeSync(fd);
      const h = await f.promises.open(at('/f'), 'r+');
      out.push((await h.write(Buffer.from('P'), 0, 1, -4)).bytesWritten, (await h.write('Q', -4)).bytesWritten);
      await h.close();
      out.push(String(f.readFileSync(at('/f'))));
      return out;
    });
  });
});
