import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';

/**
 * The overlay's `cwd` against a process's working directory: the same tree on the host, the
 * same calls with relative paths in a Node process started in the directory (a symlink to
 * it as well: the kernel's chdir follows it, and `..` is then the real parent).
 */
const tree = { '/x/y/f': 'f!', '/x/sib': 's', '/d/a': 'a', '/ln': { type: 'symlink' as const, linkTarget: 'x/y' } };
const host = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'layerfs-cwd-')));
afterAll(() => fs.rmSync(host, { recursive: true, force: true }));

/** A fresh copy of the tree on the host. */
function hostTree(): string {
  const root = fs.mkdtempSync(join(host, 't-'));
  fs.mkdirSync(join(root, 'x/y'), { recursive: true });
  fs.writeFileSync(join(root, 'x/y/f'), 'f!');
  fs.writeFileSync(join(root, 'x/sib'), 's');
  fs.mkdirSync(join(root, 'd'));
  fs.writeFileSync(join(root, 'd/a'), 'a');
  fs.symlinkSync('x/y', join(root, 'ln'));
  return root;
}

/** The calls, written once: run with Node's fs in a child process, and with ov.fs here. */
const CALLS = `(fs, long) => {
  const r = {};
  const t = (k, f) => { try { r[k] = f(); } catch (e) { r[k] = { code: e.code, syscall: e.syscall, path: e.path, message: e.message }; } };
  t('stat', () => fs.statSync('f').size);
  t('exists', () => [fs.existsSync('f'), fs.existsSync('../sib'), fs.existsSync('nope')]);
  t('read', () => fs.readFileSync('./f', 'utf8'));
  t('realpath .', () => fs.realpathSync('.'));
  t('realpath ..', () => fs.realpathSync('..'));
  t('realpath f', () => fs.realpathSync('f'));
  t('realpath.native-like', () => fs.realpathSync('../../ln/f'));
  t('readdir ..', () => fs.readdirSync('..').sort());
  t('mkdir -p', () => fs.mkdirSync('m1/m2', { recursive: true }));
  t('mkdir -p up', () => fs.mkdirSync('../q1/q2', { recursive: true }));
  t('mkdir -p again', () => fs.mkdirSync('m1/m2', { recursive: true }) ?? 'undefined');
  t('realpath of made', () => fs.realpathSync('../q1/q2'));
  t('readdir -r', () => fs.readdirSync('.', { recursive: true }).sort());
  t('dirents -r', () => fs.readdirSync('m1', { withFileTypes: true, recursive: true }).map((d) => [d.name, d.parentPath]));
  t('dirents .', () => fs.readdirSync('.', { withFileTypes: true }).map((d) => [d.name, d.parentPath]).sort());
  t('write', () => { fs.writeFileSync('new', 'z'); return fs.readFileSync('new', 'utf8'); });
  t('rename', () => { fs.renameSync('new', '../new2'); return fs.readdirSync('..').sort(); });
  t('stat missing', () => fs.statSync('nope'));
  t('mkdir existing', () => fs.mkdirSync('m1'));
  t('symlink relative', () => { fs.symlinkSync('f', 'lf'); return [fs.readlinkSync('lf'), fs.readFileSync('lf', 'utf8')]; });
  t('PATH_MAX counts the given string (fits)', () => fs.statSync(long(4095)).size);
  t('PATH_MAX counts the given string (too long)', () => fs.statSync(long(4096)).size);
  return r;
}`;

/** The same for fs.promises (realpath there is realpath(3), readdir -r walks depth first). */
const ASYNC_CALLS = `async (fs) => {
  const r = {};
  const t = async (k, f) => { try { r[k] = await f(); } catch (e) { r[k] = { code: e.code, syscall: e.syscall, path: e.path }; } };
  await t('realpath', () => fs.promises.realpath('../../ln/f'));
  await t('realpath ..', () => fs.promises.realpath('..'));
  await t('mkdir -p', () => fs.promises.mkdir('p1/p2', { recursive: true }));
  await t('readdir -r', async () => (await fs.promises.readdir('..', { recursive: true })).sort());
  await t('stat missing', () => fs.promises.stat('nope/x'));
  await t('callback realpath', () => new Promise((res, rej) => fs.realpath('../sib', (e, p) => (e ? rej(e) : res(p)))));
  return r;
}`;

/** './' repeated and then `f`: a relative path of `bytes` bytes (with its NUL, as getname counts) naming ./f. */
const long = (bytes: number) => './'.repeat((bytes - 2) / 2) + 'f';

function nodeAnswers(dir: string, root: string, calls = CALLS): unknown {
  const script = `const fs = require('fs'); const long = ${long.toString()}; Promise.resolve((${calls})(fs, long)).then((r) => process.stdout.write(JSON.stringify(r)));`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8' });
  // Host paths without the tree's place on the host.
  return JSON.parse(out.split(root).join(''));
}

function overlayAnswers(ov: Overlay): unknown {
  const calls = new Function(`return ${CALLS}`)() as (fs: unknown, l: typeof long) => unknown;
  return JSON.parse(JSON.stringify(calls(ov.fs, long)));
}

describe('cwd: relative paths start at the working directory, as a process has one', () => {
  for (const cwd of ['/x/y', '/ln']) {
    it(`cwd ${cwd}: the answers of Node's fs in a process whose cwd it is`, () => {
      const root = hostTree();
      const ov = new Overlay({ lower: [MemoryLayer.fromJSON(tree)], cwd });
      expect(overlayAnswers(ov)).toEqual(nodeAnswers(join(root, cwd), root));
    });
  }

  it("fs.promises and a callback call, cwd /ln: Node's answers", async () => {
    const root = hostTree();
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON(tree)], cwd: '/ln' });
    const calls = new Function(`return ${ASYNC_CALLS}`)() as (fs: unknown) => Promise<unknown>;
    expect(JSON.parse(JSON.stringify(await calls(ov.fs)))).toEqual(nodeAnswers(join(root, 'ln'), root, ASYNC_CALLS));
  });

  it('cwd / (the default): a relative path is from the root, as before', () => {
    const root = hostTree();
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON(tree)] });
    expect(ov.readFileSync('x/y/f', 'utf8')).toBe('f!');
    expect(ov.realpathSync('ln')).toBe(fs.realpathSync(join(root, 'ln')).slice(root.length));
  });

  it('the explain APIs name the place a relative path leads to (whereIs, stackView)', () => {
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON(tree)], cwd: '/ln' });
    expect(ov.whereIs('f').path).toBe('/x/y/f');
    expect(ov.whereIs('f').provider).toEqual(ov.whereIs('/x/y/f').provider);
    expect(ov.whereIs('../sib').path).toBe('/x/sib');
    expect(ov.whereIs('missing/deeper').path).toBe('/x/y/missing/deeper');
    expect(ov.stackView('.').dir).toBe('/x/y');
    expect(ov.stackView('..').merged.map((e) => e.name).sort()).toEqual(['sib', 'y']);
  });

  it('a working directory that is not there (yet): relative calls fail ENOENT, absolute ones work; made, it works', () => {
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON(tree)], cwd: '/work' });
    expect(() => ov.statSync('f')).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'stat', path: 'f' }));
    expect(ov.existsSync('.')).toBe(false);
    ov.mkdirSync('/work');
    ov.writeFileSync('f', 'here');
    expect(ov.readFileSync('/work/f', 'utf8')).toBe('here');
    expect(ov.realpathSync('f')).toBe('/work/f');
    ov.renameSync('/work', '/gone');
    expect(() => ov.readFileSync('f')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('a working directory that is a file: ENOTDIR', () => {
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON(tree)], cwd: '/d/a' });
    expect(() => ov.statSync('x')).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });

  it('the option must be an absolute path (a string, Buffer or file: URL)', () => {
    const lower = [MemoryLayer.fromJSON(tree)];
    expect(() => new Overlay({ lower, cwd: 'x/y' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => new Overlay({ lower, cwd: 5 as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(new Overlay({ lower, cwd: new URL('file:///x/y') as never }).readFileSync('f', 'utf8')).toBe('f!');
  });
});
