import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { openImage, TarLayer } from '../../src/index.js';
import { packTar } from '../support/to-tar.js';

/**
 * TarLayer.from and openImage check their options before anything is opened or read, with
 * Node's error codes: a path that does not exist shows it (the option error comes first).
 * `memoryBytes: NaN` used to turn the spill off without a word.
 */
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-layer-options-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const NOWHERE = join(dir, 'no-such-file');

const TYPE = 'ERR_INVALID_ARG_TYPE';
const RANGE = 'ERR_OUT_OF_RANGE';
const VALUE = 'ERR_INVALID_ARG_VALUE';

/** TarLayerOptions (openImage passes them on to every layer, and checks them itself). */
const layerCases: Array<[string, unknown, string]> = [
  ['options a string', 'fast', TYPE],
  ['options an array', [], TYPE],
  ['memoryBytes NaN', { memoryBytes: Number.NaN }, RANGE],
  ['memoryBytes negative', { memoryBytes: -1 }, RANGE],
  ['memoryBytes a fraction', { memoryBytes: 1.5 }, RANGE],
  ['memoryBytes a string', { memoryBytes: '4M' }, TYPE],
  ['memoryBytes Infinity', { memoryBytes: Number.POSITIVE_INFINITY }, RANGE],
  ['maxBytes NaN', { maxBytes: Number.NaN }, RANGE],
  ['maxBytes past 2^53', { maxBytes: 2 ** 53 }, RANGE],
  ['maxBytes a bigint', { maxBytes: 10n }, TYPE],
  ['maxEntries negative', { maxEntries: -5 }, RANGE],
  ['maxEntries a string', { maxEntries: '10' }, TYPE],
  ['content unknown', { content: 'spill' }, VALUE],
  ['content a boolean', { content: true }, TYPE],
  ['content in capitals', { content: 'NONE' }, VALUE],
  ['content null', { content: null }, TYPE],
  ['spillDir empty', { spillDir: '' }, VALUE],
  ['spillDir with a NUL', { spillDir: '/tmp\0x' }, VALUE],
  ['spillDir a URL', { spillDir: new URL('file:///tmp') }, TYPE],
  ['name a number', { name: 7 }, TYPE],
];

const imageCases: Array<[string, unknown, string]> = [
  ...layerCases,
  ['platform without an architecture', { platform: 'linux' }, VALUE],
  ['platform with an empty part', { platform: 'linux//v8' }, VALUE],
  ['platform a number', { platform: 64 }, TYPE],
  ['platform object without os', { platform: { architecture: 'amd64' } }, TYPE],
  ['platform object with a numeric variant', { platform: { os: 'linux', architecture: 'arm', variant: 7 } }, TYPE],
  ['ref a number', { ref: 1 }, TYPE],
];

async function code(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => 'resolved', (e: unknown) => (e as { code?: unknown }).code ?? e);
}

describe('bad options are refused before anything is read', () => {
  it.each(layerCases)('TarLayer.from: %s', async (_label, options, want) => {
    expect(await code(TarLayer.from(NOWHERE, options as never))).toBe(want);
  });

  it.each(imageCases)('openImage: %s', async (_label, options, want) => {
    expect(await code(openImage(NOWHERE, options as never))).toBe(want);
  });

  it('the errors are the kinds Node gives, naming the option', async () => {
    const e = await TarLayer.from(NOWHERE, { memoryBytes: Number.NaN }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RangeError);
    expect((e as Error).message).toMatch(/"options.memoryBytes" is out of range.*Received NaN/);
    const t = await openImage(NOWHERE, { content: 'spill' as never }).catch((x: unknown) => x);
    expect(t).toBeInstanceOf(TypeError);
    expect((t as Error).message).toMatch(/'options.content' must be one of: 'disk', 'memory', 'none'\. Received 'spill'/);
  });
});

describe('good options still work', () => {
  it('bounds of 0 and up to 2^53 - 1, undefined for a default, unknown names ignored', async () => {
    const tar = await packTar([{ header: { name: 'f' }, body: Buffer.alloc(10_000, 'f') }]);
    const layer = await TarLayer.from(gzipSync(tar), { memoryBytes: 0, maxBytes: Number.MAX_SAFE_INTEGER, maxEntries: undefined, spillDir: dir, other: 1 } as never);
    expect(layer.info.spilledBytes).toBe(10_000);
    layer.close();
    await expect(TarLayer.from(gzipSync(tar), { maxEntries: 0 })).rejects.toThrow(/more than 0 entries/);
  });

  it("content: 'none' (index only) opens, with memoryBytes and spillDir given and unused", async () => {
    const tar = await packTar([{ header: { name: 'f' }, body: Buffer.alloc(10_000, 'f') }]);
    const layer = await TarLayer.from(gzipSync(tar), { content: 'none', memoryBytes: 0, spillDir: join(dir, 'not-made') });
    expect(layer.entries.get('/f')!.size).toBe(10_000);
    expect(layer.info.spilledBytes).toBe(0);
    expect(() => layer.read(layer.entries.get('/f')!)).toThrow(expect.objectContaining({ code: 'ERR_LAYER_NO_CONTENT' }));
    layer.close();
  });
});
