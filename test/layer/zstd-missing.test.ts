import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { MemoryLayer, Overlay, TarLayer, TarLayerError } from '../../src/index.js';
import { ZstdUnavailable } from '../../src/tar/zstd.js';
import { packTar } from '../support/to-tar.js';

/**
 * zstd-napi is an optional dependency with a native build: npm 11 runs no install script that
 * is not approved, and offline without a compiler the build fails. Then zstd layers (only
 * those) are refused with a TarLayerError that names the layer and says how to fix it. Here
 * the binding fails to load as it does when it was never built.
 */
vi.mock('node:module', async (original) => {
  const real = await original<typeof import('node:module')>();
  const createRequire = (from: string | URL) => {
    const require = real.createRequire(from);
    return Object.assign((id: string) => {
      if (id === 'zstd-napi/binding') throw new Error("Cannot find module './build/Release/binding.node'");
      return require(id);
    }, require);
  };
  return { ...real, default: { ...real, createRequire }, createRequire };
});

describe('without the zstd binding', () => {
  it('a zstd layer is a TarLayerError naming it and saying how to install the binding; gzip and plain layers still open', async () => {
    const tar = await packTar([{ header: { name: 'f', mode: 0o644 }, body: 'x' }]);
    const zst = execFileSync('zstd', ['-q', '-c'], { input: tar });
    await expect(TarLayer.from(zst, { name: 'L' })).rejects.toSatisfy((e: unknown) => e instanceof TarLayerError
      && /^layer L: \(start of archive\): a zstd layer, and zstd needs the native binding of zstd-napi .*not installed or not built \(Cannot find module/.test((e as Error).message)
      && /npm install-scripts approve zstd-napi and npm rebuild zstd-napi/.test((e as Error).message));
    expect((await TarLayer.from(gzipSync(tar))).entries.has('/f')).toBe(true);
    expect((await TarLayer.from(tar)).entries.has('/f')).toBe(true);
  });

  it('a zstd commit is refused when called, before anything is written; gzip still commits', async () => {
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/f': 'x' })] });
    ov.writeFileSync('/g', 'y');
    expect(() => ov.commit({ compression: 'zstd' })).toThrow(ZstdUnavailable);
    expect(() => ov.commit({ compression: 'zstd' })).toThrow(/npm install-scripts approve zstd-napi/);
    const c = ov.commit({ compression: 'gzip' });
    c.stream.resume();
    expect((await c.info).mediaType).toMatch(/tar\+gzip$/);
  });
});
