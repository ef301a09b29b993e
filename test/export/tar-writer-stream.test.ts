import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ExportError } from '../../src/export/export-error.js';
import { writeTar } from '../../src/export/tar-writer.js';
import type { ContentReader, TarEntry } from '../../src/tar/changeset.js';

const MiB = 2 ** 20;
const meta = { mode: 0o644, uid: 0, gid: 0, mtimeMs: 0 };

/** A file's content made on demand, counting the bytes asked for; `short` gives that many fewer at the end. */
function counted(size: number, short = 0): ContentReader & { asked: number } {
  const r = {
    size,
    asked: 0,
    readAt(buffer: Uint8Array, offset: number, length: number, position: number) {
      const n = Math.max(0, Math.min(length, size - short - position));
      buffer.fill(0x61, offset, offset + n);
      r.asked += n;
      return n;
    },
  };
  return r;
}

/** Lets the writer run as far as it will while nothing reads (a few turns of the event loop). */
async function idle(): Promise<void> {
  for (let i = 0; i < 20; i++) await tick();
}

/** The streaming contract of writeTar (issue 17): content is read as the stream's reader pulls it, never ahead of it. */
describe('writeTar reads as its reader reads', () => {
  it('a paused reader has had one piece of a 64 MiB file read for it; the whole file comes out once read', async () => {
    const content = counted(64 * MiB);
    const { stream, info } = writeTar([{ path: 'big', type: 'file', ...meta, content }], { compression: 'none' });
    await idle();
    expect(content.asked).toBeLessThanOrEqual(MiB);
    let bytes = 0;
    for await (const c of stream) bytes += (c as Buffer).length;
    expect(content.asked).toBe(64 * MiB);
    expect((await info).size).toBe(bytes);
  });

  it('while the reader waits, the writer does not run through a tree of 100,000 directories', async () => {
    let made = 0;
    function* dirs(): Generator<TarEntry> {
      for (; made < 100_000; made++) yield { path: `d${made}/`, type: 'directory', ...meta, mode: 0o755 };
    }
    const { stream, info } = writeTar(dirs(), { compression: 'none' });
    await idle();
    expect(made).toBeLessThan(1000);
    let bytes = 0;
    for await (const c of stream) bytes += (c as Buffer).length;
    expect(made).toBe(100_000);
    expect(await info).toMatchObject({ entries: 100_000, size: bytes });
  });

  it('a reader that stops (destroy) stops the reads; info rejects', async () => {
    const content = counted(64 * MiB);
    const { stream, info } = writeTar([{ path: 'big', type: 'file', ...meta, content }], { compression: 'none' });
    await new Promise((resolve) => stream.once('readable', resolve));
    stream.read();
    stream.destroy();
    await expect(info).rejects.toThrow();
    const asked = content.asked;
    await idle();
    expect(content.asked).toBe(asked);
    expect(asked).toBeLessThanOrEqual(2 * MiB);
  });

  it('content that ends before its size is an ExportError naming the file, not a short entry', async () => {
    const { stream } = writeTar([{ path: 'etc/short', type: 'file', ...meta, content: counted(MiB, 10) }], { compression: 'none' });
    const read = (async () => {
      for await (const _ of stream);
    })();
    await expect(read).rejects.toThrow(ExportError);
    await expect(read).rejects.toMatchObject({ path: '/etc/short' });
  });

  it('a read that fails fails the stream with that error (gzip too)', async () => {
    const failing: ContentReader = { size: 1000, readAt: () => { throw new Error('the layer was closed'); } };
    for (const compression of ['none', 'gzip'] as const) {
      const { stream, info } = writeTar([{ path: 'f', type: 'file', ...meta, content: failing }], { compression });
      await expect((async () => {
        for await (const _ of stream);
      })()).rejects.toThrow('the layer was closed');
      await expect(info).rejects.toThrow('the layer was closed');
    }
  });
});
