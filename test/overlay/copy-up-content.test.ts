import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LayerContentError, MemoryLayer, Overlay, OverlayFsError, TarLayer, type Layer } from '../../src/index.js';
import { packTar } from '../support/to-tar.js';

/**
 * Copy-up copies a lower file's bytes once, into a buffer the upper layer owns, with room to
 * grow when the file is opened for writing (copy-up.ts, upper.ts): the bytes are the lower
 * ones, writes never reach the layer's, and the room is never read as content.
 */
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-copy-up-content-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const A = Buffer.alloc(4096, 'a');

describe('copy-up of a file\'s bytes', () => {
  it('a file copied up to be written holds the lower bytes; writes inside it, into its room and past it leave the layer\'s bytes alone', () => {
    const lowerBytes = Buffer.from(A);
    const layer = MemoryLayer.fromJSON({ '/f': lowerBytes });
    const ov = new Overlay({ lower: [layer] });
    const fd = ov.openSync('/f', 'r+');
    ov.writeSync(fd, 'ZZ', 0);
    ov.writeSync(fd, 'tail', 4096);
    ov.closeSync(fd);
    ov.appendFileSync('/f', Buffer.alloc(10_000, 'c'));
    const expected = Buffer.concat([Buffer.from('ZZ'), A.subarray(2), Buffer.from('tail'), Buffer.alloc(10_000, 'c')]);
    expect(ov.readFileSync('/f')).toEqual(expected);
    expect(ov.statSync('/f').size).toBe(expected.length);
    expect(lowerBytes).toEqual(A);
    expect(new Overlay({ lower: [layer] }).readFileSync('/f')).toEqual(A);
  });

  it('growing a copied-up file by truncate or by a write past its end gives zeros, not what its room held', () => {
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/t': A, '/w': A })] });
    const t = ov.openSync('/t', 'r+');
    ov.ftruncateSync(t, A.length + 100);
    ov.closeSync(t);
    expect(ov.readFileSync('/t')).toEqual(Buffer.concat([A, Buffer.alloc(100)]));
    const w = ov.openSync('/w', 'r+');
    ov.writeSync(w, 'x', A.length + 50);
    ov.closeSync(w);
    expect(ov.readFileSync('/w')).toEqual(Buffer.concat([A, Buffer.alloc(50), Buffer.from('x')]));
  });

  it('a file copied up for its metadata (chmod) and then appended to holds the lower bytes and the new ones', () => {
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/f': A })] });
    ov.chmodSync('/f', 0o600);
    ov.appendFileSync('/f', 'more');
    expect(ov.readFileSync('/f')).toEqual(Buffer.concat([A, Buffer.from('more')]));
  });

  it('a file of a tar layer read from its file on disk is copied up whole', async () => {
    const big = Buffer.alloc(100_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const path = join(dir, 'layer.tar');
    fs.writeFileSync(path, await packTar([{ header: { name: 'usr/big' }, body: big }, { header: { name: 'etc/empty' }, body: '' }]));
    const layer = await TarLayer.from(path, { name: 'L' });
    try {
      const ov = new Overlay({ lower: [layer] });
      ov.appendFileSync('/usr/big', 'x');
      ov.appendFileSync('/etc/empty', 'y');
      expect(ov.readFileSync('/usr/big')).toEqual(Buffer.concat([big, Buffer.from('x')]));
      expect(ov.readFileSync('/etc/empty', 'utf8')).toBe('y');
      expect(ov.whereIs('/usr/big').provider).toBe('upper');
    } finally {
      layer.close();
    }
  });

  it('a layer whose content ends before the size its entry says fails the copy-up (EIO naming the file), never a shorter file', () => {
    const inner = MemoryLayer.fromJSON({ '/f': A }, 'short');
    const short: Layer = {
      name: inner.name,
      entries: inner.entries,
      whiteouts: inner.whiteouts,
      opaqueDirs: inner.opaqueDirs,
      read: (entry) => inner.read(entry).subarray(0, 100),
      readAt: (entry, buffer, offset, length, position) => inner.readAt(entry, buffer, offset, Math.max(0, Math.min(length, 100 - position)), position),
    };
    const ov = new Overlay({ lower: [short] });
    let thrown: unknown;
    try {
      ov.appendFileSync('/f', 'x');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(OverlayFsError);
    expect(thrown).toMatchObject({ code: 'EIO' });
    const cause = (thrown as Error).cause;
    expect(cause).toBeInstanceOf(LayerContentError);
    expect(cause).toMatchObject({ code: 'ERR_LAYER_IO', layer: 'short', entry: '/f' });
    expect(String((cause as Error).message)).toContain('ended after 100 of the 4096 bytes');
    expect(ov.whereIs('/f').provider).toBe(0);
  });
});
