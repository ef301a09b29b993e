import { describe, expect, it, vi } from 'vitest';
import { TarLayer, TarLayerError } from '../../src/index.js';
import { checkExtract } from '../../src/tar/extract-checks.js';
import { packTar } from '../support/to-tar.js';

/**
 * PAX headers are checked at the one point tar-stream 3 decodes them, a private method patched
 * on each extract (pax-xattrs.ts). A tar-stream without it must not read layers with the checks
 * silently off (an unchecked PAX size smuggles entries): here the method is taken away.
 */
vi.mock('tar-stream', async (original) => {
  const real = await original<typeof import('tar-stream')>();
  return {
    ...real,
    extract: (options?: Parameters<typeof real.extract>[0]) => Object.assign(real.extract(options), { _decodeLongHeader: undefined }),
  };
});

describe('an extract whose PAX headers cannot be checked is refused', () => {
  it('checkExtract throws instead of returning, naming every internal it lacks', () => {
    expect(() => checkExtract({}, { paxHeader: () => {}, refuse: () => new Error() })).toThrow(/no _decodeLongHeader, _consumeHeader, _applyLongHeaders, _buffer.shift, _header, _pax, _gnuLongPath, _gnuLongLinkPath/);
  });

  it('TarLayer.from refuses a streamed layer with a TarLayerError naming it', async () => {
    const tar = await packTar([{ header: { name: 'f', mode: 0o644 }, body: 'x' }]);
    await expect(TarLayer.from(tar, { name: 'L' })).rejects.toSatisfy((e: unknown) => e instanceof TarLayerError && /^layer L: \(start of archive\): .*no _decodeLongHeader.*headers cannot be checked/.test((e as Error).message));
  });
});
