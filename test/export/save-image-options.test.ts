import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay, collectStream, openImage, saveImage } from '../../src/index.js';

/**
 * Every option of saveImage, commit, exportTar and exportDir is checked before the first
 * write (src/export/options.ts): a bad one is Node's kind of argument error, naming the
 * option, and nothing is written.
 */
const DEMO = join(dirname(fileURLToPath(import.meta.url)), '../../images/demo');
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-saveopt-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const overlay = () => {
  const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/a': 'a' })] });
  ov.writeFileSync('/b', 'b');
  return ov;
};

type Bad = [label: string, options: unknown, code: string, option: RegExp];

const BAD_TAR: Bad[] = [
  ['compression gz', { compression: 'gz' }, 'ERR_INVALID_ARG_VALUE', /options\.compression.*'gzip', 'zstd', 'none'.*'gz'/],
  ['compression GZIP', { compression: 'GZIP' }, 'ERR_INVALID_ARG_VALUE', /options\.compression/],
  ['compression a number', { compression: 1 }, 'ERR_INVALID_ARG_TYPE', /options\.compression.*string/],
  ['compression null', { compression: null }, 'ERR_INVALID_ARG_TYPE', /options\.compression/],
  ['sourceDateEpoch NaN', { sourceDateEpoch: NaN }, 'ERR_OUT_OF_RANGE', /options\.sourceDateEpoch.*integer >= 0.*NaN/],
  ['sourceDateEpoch Infinity', { sourceDateEpoch: Infinity }, 'ERR_OUT_OF_RANGE', /options\.sourceDateEpoch/],
  ['sourceDateEpoch negative', { sourceDateEpoch: -1 }, 'ERR_OUT_OF_RANGE', /options\.sourceDateEpoch/],
  ['sourceDateEpoch fractional', { sourceDateEpoch: 1.5 }, 'ERR_OUT_OF_RANGE', /options\.sourceDateEpoch/],
  ['sourceDateEpoch past year 9999', { sourceDateEpoch: 253_402_300_800 }, 'ERR_OUT_OF_RANGE', /options\.sourceDateEpoch/],
  ['sourceDateEpoch a string', { sourceDateEpoch: '1700000000' }, 'ERR_INVALID_ARG_TYPE', /options\.sourceDateEpoch.*number/],
  ['options a string', 'zstd', 'ERR_INVALID_ARG_TYPE', /"options" argument must be of type object/],
  ['options a number', 5, 'ERR_INVALID_ARG_TYPE', /"options" argument/],
];

const BAD_SAVE: Bad[] = [
  ...BAD_TAR,
  ['ref empty', { ref: '' }, 'ERR_INVALID_ARG_VALUE', /options\.ref/],
  ['ref with a space', { ref: 'v 1' }, 'ERR_INVALID_ARG_VALUE', /options\.ref/],
  ['ref ending in a separator', { ref: 'v1-' }, 'ERR_INVALID_ARG_VALUE', /options\.ref/],
  ['ref with ..', { ref: '../x' }, 'ERR_INVALID_ARG_VALUE', /options\.ref/],
  ['ref a number', { ref: 2 }, 'ERR_INVALID_ARG_TYPE', /options\.ref.*string/],
  ['createdBy a number', { createdBy: 1 }, 'ERR_INVALID_ARG_TYPE', /options\.createdBy/],
  ['config a string', { config: 'x' }, 'ERR_INVALID_ARG_TYPE', /options\.config/],
  ['config.Cmd a string', { config: { Cmd: '/bin/sh' } }, 'ERR_INVALID_ARG_TYPE', /options\.config\.Cmd/],
  ['config.Entrypoint with a number', { config: { Entrypoint: ['/bin/sh', 1] } }, 'ERR_INVALID_ARG_TYPE', /options\.config\.Entrypoint\[1\]/],
  ['config.Env without =', { config: { Env: ['PATH'] } }, 'ERR_INVALID_ARG_VALUE', /options\.config\.Env\[0\].*NAME=value/],
  ['config.Labels with a number', { config: { Labels: { a: 1 } } }, 'ERR_INVALID_ARG_TYPE', /options\.config\.Labels/],
  ['config.WorkingDir a list', { config: { WorkingDir: ['/'] } }, 'ERR_INVALID_ARG_TYPE', /options\.config\.WorkingDir/],
  ['config with an unknown field', { config: { Cmnd: ['sh'] } }, 'ERR_INVALID_ARG_VALUE', /options\.config.*Cmnd/],
  ['base not an image', { base: {} }, 'ERR_INVALID_ARG_TYPE', /options\.base.*Image/],
];

function expectOptionError(f: () => unknown, code: string, option: RegExp): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'no error thrown').toBeDefined();
  expect((thrown as { code?: string }).code).toBe(code);
  expect(thrown).toBeInstanceOf(code === 'ERR_OUT_OF_RANGE' ? RangeError : TypeError);
  expect((thrown as Error).message).toMatch(option);
}

describe('saveImage option checks', () => {
  it.each(BAD_SAVE)('%s: a typed error naming the option, and nothing written', async (label, options, code, option) => {
    const target = join(work, `bad-${label.replace(/\W+/g, '-')}`);
    const err = await saveImage(overlay(), target, options as never).then(() => undefined, (e: unknown) => e);
    expectOptionError(() => {
      if (err) throw err;
    }, code, option);
    expect(fs.existsSync(target)).toBe(false);
  });

  it('a base image the overlay was not made from: ERR_INVALID_ARG_VALUE before any write', async () => {
    const base = await openImage(DEMO);
    const target = join(work, 'other-base');
    const err = await saveImage(overlay(), target, { base }).catch((e: unknown) => e);
    expectOptionError(() => {
      throw err;
    }, 'ERR_INVALID_ARG_VALUE', /options\.base.*not made from the base image/);
    expect(fs.existsSync(target)).toBe(false);
  });

  it('bad overlay and target arguments', async () => {
    for (const [ov, target, code] of [[{}, join(work, 't1'), 'ERR_INVALID_ARG_TYPE'], [overlay(), 5, 'ERR_INVALID_ARG_TYPE'], [overlay(), '', 'ERR_INVALID_ARG_VALUE'], [overlay(), 'a\0b', 'ERR_INVALID_ARG_VALUE']] as const) {
      const err = await saveImage(ov as never, target as never).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe(code);
    }
    expect(fs.existsSync(join(work, 't1'))).toBe(false);
  });

  it('an option given as undefined takes its default; unknown option names are ignored, as Node ignores them', async () => {
    const target = join(work, 'defaults');
    const saved = await saveImage(overlay(), target, { compression: undefined, sourceDateEpoch: undefined, ref: undefined, compresion: 'zstd' } as never);
    expect(saved.layers.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar+gzip']);
    expect(JSON.parse(fs.readFileSync(join(target, 'index.json'), 'utf8')).manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('latest');
  });

  it('accepts the edges: epoch 0 and 253402300799, refs with every separator', async () => {
    const early = await saveImage(overlay(), join(work, 'epoch0'), { sourceDateEpoch: 0, ref: 'a.b_c-d:e@f+g--h/i' });
    const late = await saveImage(overlay(), join(work, 'epoch-max'), { sourceDateEpoch: 253_402_300_799 });
    const created = (out: string, m: string) => JSON.parse(fs.readFileSync(join(work, out, 'blobs', 'sha256', m.slice(7)), 'utf8')).created;
    expect(created('epoch0', early.config.digest)).toBe('1970-01-01T00:00:00.000Z');
    expect(created('epoch-max', late.config.digest)).toBe('9999-12-31T23:59:59.000Z');
  });
});

describe('commit and exportTar option checks', () => {
  it.each(BAD_TAR)('%s: thrown by commit() and exportTar() before a stream exists', (_label, options, code, option) => {
    expectOptionError(() => overlay().commit(options as never), code, option);
    expectOptionError(() => overlay().exportTar(options as never), code, option);
  });

  it('exportTar({ compression: undefined }) is uncompressed, its default (not gzip)', async () => {
    const w = overlay().exportTar({ compression: undefined });
    const tar = await collectStream(w.stream);
    expect((await w.info).mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    expect(tar.subarray(257, 262).toString()).toBe('ustar');
  });
});

describe('exportDir option checks', () => {
  const BAD_DIR: Bad[] = [
    ['allowNonEmpty a string', { allowNonEmpty: 'yes' }, 'ERR_INVALID_ARG_TYPE', /options\.allowNonEmpty.*boolean/],
    ['allowNonEmpty 1', { allowNonEmpty: 1 }, 'ERR_INVALID_ARG_TYPE', /options\.allowNonEmpty/],
    ['onProgress not a function', { onProgress: true }, 'ERR_INVALID_ARG_TYPE', /options\.onProgress.*function/],
    ['options a string', 'x', 'ERR_INVALID_ARG_TYPE', /"options" argument/],
  ];
  it.each(BAD_DIR)('%s: thrown before the first write', (label, options, code, option) => {
    const target = fs.mkdtempSync(join(work, `dir-${label.replace(/\W+/g, '-')}-`));
    expectOptionError(() => overlay().exportDir(target, options as never), code, option);
    expect(fs.readdirSync(target)).toEqual([]);
  });
});
