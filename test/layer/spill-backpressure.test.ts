import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { TarLayer } from '../../src/index.js';
import { fileHeader } from '../support/to-tar.js';

/**
 * The spill's backpressure: a layer that inflates faster than its spill file takes the writes
 * must wait, not queue the rest of the layer in memory behind the writes. The disk is made
 * slow by holding each writev(2) of this file's module graph back 20 ms (the page cache takes
 * writes faster than anything here inflates, so nothing would queue otherwise), and the bytes
 * handed to writes not yet completed are counted.
 */
const slow = vi.hoisted(() => ({ outstanding: 0, peak: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const writev = ((fd: number, buffers: readonly NodeJS.ArrayBufferView[], position: number, callback: (e: NodeJS.ErrnoException | null, n: number) => void) => {
    const bytes = buffers.reduce((n, b) => n + b.byteLength, 0);
    slow.outstanding += bytes;
    slow.peak = Math.max(slow.peak, slow.outstanding);
    setTimeout(() => real.writev(fd, buffers, position, (e, n) => {
      slow.outstanding -= bytes;
      callback(e, n);
    }), 20);
  }) as typeof real.writev;
  return { ...real, default: { ...real, writev }, writev };
});

const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-backpressure-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('spill backpressure', () => {
  it('a 128 MiB file of non-zero bytes given faster than the disk takes it: at most about 16 MiB waits to be written', async () => {
    const SIZE = 128 << 20;
    const piece = Buffer.alloc(1 << 20, 0x5a); // not zeros: written, not left as a hole
    const source = Readable.from((async function* () {
      yield await fileHeader('big', SIZE);
      for (let given = 0; given < SIZE; given += piece.length) yield piece;
      yield Buffer.alloc(1024);
    })());
    const layer = await TarLayer.from(source, { memoryBytes: 0, spillDir: dir });
    expect(layer.info.spilledBytes).toBe(SIZE);
    expect(slow.peak).toBeGreaterThan(8 << 20); // the writes did fall behind
    expect(slow.peak).toBeLessThanOrEqual(18 << 20); // the 16 MiB high-water mark, and the write that crossed it
    const tail = Buffer.alloc(4);
    layer.readAt(layer.entries.get('/big')!, tail, 0, 4, SIZE - 4);
    expect(tail.toString('latin1')).toBe('ZZZZ');
    layer.close();
  }, 60_000);
});
