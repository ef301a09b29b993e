import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay, collectStream, openImage, saveImage } from '../../src/index.js';

/**
 * Every option of saveImage, commit, exportTar and exportDir is checked before the first
 * write (src/image/save-image-options.ts): a bad one is Node's kind of argument error, naming the
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
  // eslint-disable-next-line no-sparse-arrays
  ['config.Cmd with a hole', { config: { Cmd: [, '/bin/sh'] } }, 'ERR_INVALID_ARG_TYPE', /options\.config\.Cmd\[0\].*string.*undefined/],
  ['config.Entrypoint new Array(2)', { config: { Entrypoint: new Array(2) } }, 'ERR_INVALID_ARG_TYPE', /options\.config\.Entrypoint\[0\]/],
  ['config.Env with a hole', { config: { Env: ['A=1', , 'B=2'] } }, 'ERR_INVALID_ARG_TYPE', /options\.config\.Env\[1\]/],
  ['base not an image', { base: {} }, 'ERR_INVALID_ARG_TYPE', /options\.base.*Image/],
  ['base with config null', { base: { layers: [], layerBlobStream: () => undefined, config: null } }, 'ERR_INVALID_ARG_TYPE', /options\.base.*Image/],
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

/** The config blob saveImage wrote into `target`. */
function writtenConfig(target: string, saved: { config: { digest: string } }): { config: Record<string, unknown>; history: Array<{ created_by: string }> } {
  return JSON.parse(fs.readFileSync(join(target, 'blobs', 'sha256', saved.config.digest.slice(7)), 'utf8'));
}

/** An object whose `key` is a getter giving `first`, then `later` on every read after, counting reads. */
function shifting<T extends object>(o: T, key: string, first: unknown, later: unknown): T & { reads: () => number } {
  let reads = 0;
  Object.defineProperty(o, key, { enumerable: true, get: () => (reads++ === 0 ? first : later) });
  return Object.defineProperty(o, 'reads', { value: () => reads, enumerable: false, configurable: true }) as T & { reads: () => number };
}

describe('saveImage reads each option once, and only its own copy', () => {
  it.each([
    ['ref', 'v1', '../evil'],
    ['createdBy', 'layerfs test', 42],
    ['config', { Cmd: ['/bin/true'] }, { Cmnd: 1 }],
  ])('a getter for %s is read once: what was checked is what is written', async (key, first, later) => {
    const target = join(work, `getter-${key}`);
    const options = shifting({ sourceDateEpoch: 0 }, key, first, later);
    const saved = await saveImage(overlay(), target, options as never);
    expect(options.reads()).toBe(1);
    const config = writtenConfig(target, saved);
    if (key === 'ref') expect(JSON.parse(fs.readFileSync(join(target, 'index.json'), 'utf8')).manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('v1');
    if (key === 'createdBy') expect(config.history.at(-1)!.created_by).toBe('layerfs test');
    if (key === 'config') expect(config.config).toEqual({ Cmd: ['/bin/true'] });
  });

  it('a getter for config.Env is read once', async () => {
    const target = join(work, 'getter-env');
    const config = shifting({}, 'Env', ['A=1'], ['no equals sign']);
    const saved = await saveImage(overlay(), target, { config: config as never });
    expect(config.reads()).toBe(1);
    expect(writtenConfig(target, saved).config.Env).toEqual(['A=1']);
  });

  it('a getter for base is read once', async () => {
    const image = await openImage(DEMO);
    const ov = image.overlay();
    const options = shifting({}, 'base', image, undefined);
    const saved = await saveImage(ov, join(work, 'getter-base'), options as never);
    expect(options.reads()).toBe(1);
    expect(saved.layers.slice(0, -1).map((l) => l.digest)).toEqual(image.layers.map((l) => l.digest));
  });

  it('config lists and Labels changed by the caller after the call: the values checked are written', async () => {
    const target = join(work, 'mutated');
    const Cmd = ['/bin/sh', '-c', 'true'];
    const Labels: Record<string, string> = { a: 'b' };
    const saving = saveImage(overlay(), target, { config: { Cmd, Labels } });
    (Cmd as unknown[]).push(5);
    Cmd[0] = '/evil';
    (Labels as Record<string, unknown>).n = 1;
    const saved = await saving;
    expect(writtenConfig(target, saved).config).toEqual({ Cmd: ['/bin/sh', '-c', 'true'], Labels: { a: 'b' } });
  });

  it('a list or object with its own toJSON is written as its data, not as what toJSON returns', async () => {
    const target = join(work, 'tojson');
    const Cmd = Object.assign(['/bin/sh'], { toJSON: () => 'not a list' });
    const Labels = Object.defineProperty({ a: 'b' }, 'toJSON', { value: () => ({ injected: 'yes' }) });
    const config = Object.defineProperty({ Cmd, Labels }, 'toJSON', { value: () => ({ Cmd: 'x' }) });
    const saved = await saveImage(overlay(), target, { config });
    expect(writtenConfig(target, saved).config).toEqual({ Cmd: ['/bin/sh'], Labels: { a: 'b' } });
  });

  it('a config field given as undefined takes the base image\'s value, as an undefined option takes its default', async () => {
    const image = await openImage(DEMO);
    const target = join(work, 'undefined-field');
    const saved = await saveImage(image.overlay(), target, { base: image, config: { Cmd: undefined, User: 'nobody' } });
    expect(writtenConfig(target, saved).config).toMatchObject({ Cmd: ['/bin/sh'], User: 'nobody' });
    expect(writtenConfig(target, saved).config).toHaveProperty('Cmd');
  });
});

describe('commit, exportTar and exportDir read each option once', () => {
  it('compression and sourceDateEpoch getters are read once', async () => {
    const options = shifting(shifting({}, 'compression', 'none', 'zstd'), 'sourceDateEpoch', 0, -1);
    const w = overlay().exportTar(options as never);
    await collectStream(w.stream);
    expect((await w.info).mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
  });

  it('exportDir: allowNonEmpty and onProgress getters are read once', () => {
    const target = fs.mkdtempSync(join(work, 'dir-getters-'));
    const progress: string[] = [];
    const options = shifting(shifting({}, 'allowNonEmpty', false, true), 'onProgress', (p: { path: string }) => progress.push(p.path), 'not a function');
    overlay().exportDir(target, options as never);
    expect(progress.length).toBeGreaterThan(0);
    expect(fs.readdirSync(target).sort()).toEqual(['a', 'b']);
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
    ['overwrite a string', { overwrite: 'yes' }, 'ERR_INVALID_ARG_TYPE', /options\.overwrite.*boolean/],
    ['onProgress not a function', { onProgress: true }, 'ERR_INVALID_ARG_TYPE', /options\.onProgress.*function/],
    ['options a string', 'x', 'ERR_INVALID_ARG_TYPE', /"options" argument/],
  ];
  it.each(BAD_DIR)('%s: thrown before the first write', (label, options, code, option) => {
    const target = fs.mkdtempSync(join(work, `dir-${label.replace(/\W+/g, '-')}-`));
    expectOptionError(() => overlay().exportDir(target, options as never), code, option);
    expect(fs.readdirSync(target)).toEqual([]);
  });
});
