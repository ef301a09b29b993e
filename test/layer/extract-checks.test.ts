import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { TarLayer, TarLayerError } from '../../src/index.js';
import { END, file, header, padded } from '../support/raw-tar.js';

/**
 * The checks inside tar-stream's Extract (extract-checks.ts) are patched onto private methods.
 * If tar-stream stopped calling one of them (renamed it, or took its work elsewhere), the
 * patched method would still exist and never run: the checks silently off. Here the extract
 * decodes long headers without calling `_decodeLongHeader`, as such a tar-stream would: the
 * self-test that runs before the first layer must notice and refuse every layer.
 */
vi.mock('tar-stream', async (original) => {
  const real = await original<typeof import('tar-stream')>();
  return {
    ...real,
    extract: (options?: Parameters<typeof real.extract>[0]) => {
      const x = real.extract(options) as unknown as Record<string, unknown> & {
        _header: { size: number };
        _buffer: { shift(n: number): Buffer };
        _longHeader: boolean;
        _missing: number;
      };
      const decode = Object.getPrototypeOf(x)._decodeLongHeader as (b: Buffer) => void;
      x._consumeLongHeader = function (this: typeof x) {
        this._longHeader = false;
        const size = this._header.size;
        this._missing = size % 512 === 0 ? 0 : 512 - (size % 512);
        decode.call(this, this._buffer.shift(size)); // the prototype's, not the patched one
        return true;
      };
      return x;
    },
  };
});

describe('an extract whose checks would not run is refused', () => {
  it('a malformed PAX header is not read half applied: the self-test finds the PAX check never ran (it read the layer)', async () => {
    const body = '12 path=abc\n9 size=5!\n';
    const tar = Buffer.concat([header({ name: 'PaxHeaders/f', type: 'x', size: body.length }), padded(body), file('f', 'hello'), END]);
    const path = join(mkdtempSync(join(tmpdir(), 'lfs-checks-')), 'layer.tar');
    writeFileSync(path, tar);
    try {
      // From a Buffer (the extract) and from a file (the header walk, which needs no extract): both refused.
      for (const source of [tar, path]) {
        await expect(TarLayer.from(source, { name: 'L' })).rejects.toSatisfy((e: unknown) => e instanceof TarLayerError
          && /^layer L: \(start of archive\): tar-stream's Extract does not work as the layer checks need \(a PAX header seen before it applies/.test((e as Error).message));
      }
    } finally {
      rmSync(dirname(path), { recursive: true, force: true });
    }
  });
});
