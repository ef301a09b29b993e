import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ExportError, ImageError, LayerError, LayerfsError, MemoryLayer, MemoryStore, openImage, Overlay, OverlayFsError, StoreError, TarError, TarLayer, TarLayerError,
} from '../../src/index.js';
import { CliError } from '../../src/cli/io.js';
import { startTeachingServer } from '../../src/serve/server.js';
import { ServeError } from '../../src/serve/serve-error.js';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decompressor } from '../../src/tar/decompress.js';

/**
 * One typed error per folder, each a LayerfsError with a stable `code` and `name` set to its
 * class (docs/api.md, "Errors"); the fs facade's OverlayFsError keeps Node's shape instead.
 */

const dir = mkdtempSync(join(tmpdir(), 'layerfs-error-codes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function caught(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

function expectTyped(e: unknown, cls: abstract new (...args: never[]) => Error, name: string, code: string): void {
  expect(e).toBeInstanceOf(cls);
  expect(e).toBeInstanceOf(LayerfsError);
  expect(e).toMatchObject({ name, code });
}

describe('errors: a LayerfsError per folder, with a stable code', () => {
  it('layer/: LayerError ERR_LAYER (a hard link to nothing)', async () => {
    const e = await caught(() => new Overlay({ lower: [MemoryLayer.fromJSON({ '/x': { type: 'hardlink', target: '/nothing' } }, 'top')] }));
    expectTyped(e, LayerError, 'LayerError', 'ERR_LAYER');
  });

  it('layer/tar/: TarLayerError ERR_TAR_LAYER (a file that is no tar)', async () => {
    const bad = join(dir, 'bad.tar');
    writeFileSync(bad, Buffer.alloc(1024, 7));
    expectTyped(await caught(() => TarLayer.from(bad)), TarLayerError, 'TarLayerError', 'ERR_TAR_LAYER');
  });

  it('tar/: TarError ERR_ZSTD_STREAM (a zstd stream libzstd refuses)', async () => {
    // A zstd frame's magic number, then a frame header no decoder accepts.
    const bad = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(32, 0xff)]);
    const e = await pipeline(Readable.from([bad]), decompressor('zstd')!, new Writable({ write: (_c, _e, done) => done() })).then(() => undefined, (err: unknown) => err);
    expectTyped(e, TarError, 'ZstdStreamError', 'ERR_ZSTD_STREAM');
  });

  it('image/: ImageError ERR_IMAGE (a directory that is no image)', async () => {
    expectTyped(await caught(() => openImage(dir)), ImageError, 'ImageError', 'ERR_IMAGE');
  });

  it('store/: StoreError ERR_STORE_BAD_DIGEST (a digest that climbs out of blobs/)', async () => {
    expectTyped(await caught(() => new MemoryStore().has('sha256:../../x')), StoreError, 'StoreError', 'ERR_STORE_BAD_DIGEST');
  });

  it('export/: ExportError (the target does not exist)', async () => {
    const ov = new Overlay({ lower: [] });
    const e = await caught(() => ov.exportDir(join(dir, 'missing')));
    expectTyped(e, ExportError, 'ExportError', 'ENOENT');
  });

  it('serve/: ServeError ERR_PAGE_NOT_BUILT (no page where the server looks)', async () => {
    const e = await caught(() => startTeachingServer({ name: 'x', layers: [], pageDir: join(dir, 'no-page') }));
    expectTyped(e, ServeError, 'ServeError', 'ERR_PAGE_NOT_BUILT');
  });

  it('cli/: CliError ERR_USAGE for exit status 2, ERR_CLI for 1', () => {
    expectTyped(new CliError('usage: x', 2), CliError, 'CliError', 'ERR_USAGE');
    expectTyped(new CliError('no'), CliError, 'CliError', 'ERR_CLI');
  });

  it("fs/: OverlayFsError keeps Node's shape (name 'Error', code the errno), not a LayerfsError", () => {
    const e = (() => {
      try {
        new Overlay({ lower: [] }).statSync('/nope');
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(OverlayFsError);
    expect(e).not.toBeInstanceOf(LayerfsError);
    expect(e).toMatchObject({ name: 'Error', code: 'ENOENT', syscall: 'stat' });
  });
});
