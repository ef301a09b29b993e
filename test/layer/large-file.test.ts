import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Overlay, TarLayer } from '../../src/index.js';
import { writeSparseTar } from '../support/sparse-tar.js';

/**
 * A lower file over 2 GiB, from a sparse tar on disk (header, then a hole: no disk, no time to
 * write), read near its end by position and by stream. Opening it hashes every byte of the
 * 2 GiB (about two seconds here): the size is kept just over 2^31 to bound that.
 */
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-large-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const SIZE = 2 ** 31 + 2 ** 20 + 3;
const END = 'END-OF-BIG-FILE!';
let layer: TarLayer;
let ov: Overlay;

beforeAll(async () => {
  const path = join(dir, 'big.tar');
  await writeSparseTar(path, 'big', SIZE, [[2 ** 31, 'past-2GiB'], [SIZE - END.length, END]]);
  layer = await TarLayer.from(path);
  ov = new Overlay({ lower: [layer] });
}, 60_000);

describe('a lower file over 2 GiB', () => {
  it('has its size, and reads by position past 2^31, with number and bigint positions', () => {
    expect(ov.statSync('/big').size).toBe(SIZE);
    const fd = ov.openSync('/big', 'r');
    const tail = Buffer.alloc(END.length);
    expect(ov.readSync(fd, tail, 0, END.length, SIZE - END.length)).toBe(END.length);
    expect(tail.toString()).toBe(END);
    const one = Buffer.alloc(1);
    expect(ov.readSync(fd, one, 0, 1, BigInt(2 ** 31))).toBe(1);
    expect(one.toString()).toBe('p');
    expect(ov.readSync(fd, one, 0, 1, SIZE)).toBe(0); // at the end
    ov.closeSync(fd);
  });

  it('streams from a start past 2^31', async () => {
    const chunks: Buffer[] = [];
    for await (const c of ov.createReadStream('/big', { start: 2 ** 31, end: 2 ** 31 + 8 })) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('past-2GiB');
    const tail: Buffer[] = [];
    for await (const c of ov.createReadStream('/big', { start: SIZE - 4 })) tail.push(c as Buffer);
    expect(Buffer.concat(tail).toString()).toBe('ILE!');
  });

  it('readAt takes positions up to 2^53; readFileSync refuses it as Node does (over 2 GiB)', () => {
    const entry = layer.entries.get('/big')!;
    expect(layer.readAt(entry, Buffer.alloc(4), 0, 4, 2 ** 53)).toBe(0);
    expect(layer.readAt(entry, Buffer.alloc(4), 0, 4, Number.MAX_SAFE_INTEGER)).toBe(0);
    expect(() => ov.readFileSync('/big')).toThrow(expect.objectContaining({ code: 'ERR_FS_FILE_TOO_LARGE' }));
  });
});
