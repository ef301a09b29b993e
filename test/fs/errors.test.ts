import * as fs from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay, OverlayFsError } from '../../src/index.js';

/**
 * Errors must look like Node's own: the same code, errno, syscall, path/dest and message
 * for the same failing call. The oracle is Node's fs on a real directory with the same
 * content (errno values are the kernel's, so a real overlay is not needed for the shape).
 */
const real = mkdtempSync(join(tmpdir(), 'lfs-errors-'));
fs.mkdirSync(join(real, 'dir'));
fs.writeFileSync(join(real, 'dir/file'), 'x');
fs.mkdirSync(join(real, 'full'));
fs.writeFileSync(join(real, 'full/f'), 'x');
fs.symlinkSync('file', join(real, 'dir/link'));
fs.symlinkSync('missing-target', join(real, 'dangling'));
afterAll(() => fs.rmSync(real, { recursive: true, force: true }));

const ov = new Overlay({
  lower: [MemoryLayer.fromJSON({ '/dir/file': 'x', '/dir/link': { type: 'symlink', linkTarget: 'file' }, '/full/f': 'x', '/dangling': { type: 'symlink', linkTarget: 'missing-target' } })],
});

function caught(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { dest?: string };
    return { code: err.code, errno: err.errno, syscall: err.syscall, path: err.path, dest: err.dest, message: err.message, isError: err instanceof Error };
  }
  throw new Error('expected a throw');
}

type Call = [string, (f: typeof fs | Overlay, at: (p: string) => string) => unknown];
const calls: Call[] = [
  ['stat of a missing file', (f, at) => f.statSync(at('/nope'))],
  ['lstat through a file', (f, at) => f.lstatSync(at('/dir/file/x'))],
  ['readFile of a directory', (f, at) => f.readFileSync(at('/dir'))],
  ['readdir of a file', (f, at) => f.readdirSync(at('/dir/file'))],
  ['mkdir of an existing directory', (f, at) => f.mkdirSync(at('/dir'))],
  ['mkdir under a missing parent', (f, at) => f.mkdirSync(at('/nope/x'))],
  ['rmdir of a non-empty directory', (f, at) => f.rmdirSync(at('/full'))],
  ['rmdir of a file', (f, at) => f.rmdirSync(at('/dir/file'))],
  ['unlink of a directory', (f, at) => f.unlinkSync(at('/dir'))],
  ['rename a missing file', (f, at) => f.renameSync(at('/nope'), at('/x'))],
  ['rename a directory into itself', (f, at) => f.renameSync(at('/dir'), at('/dir/sub'))],
  ['rename a file onto a directory', (f, at) => f.renameSync(at('/dir/file'), at('/full'))],
  ['link onto an existing name', (f, at) => f.linkSync(at('/dir/file'), at('/full/f'))],
  ['link of a directory', (f, at) => f.linkSync(at('/dir'), at('/dir2'))],
  ['symlink over an existing name', (f, at) => f.symlinkSync('x', at('/dir/file'))],
  ['readlink of a file', (f, at) => f.readlinkSync(at('/dir/file'))],
  ['open a directory for writing', (f, at) => f.openSync(at('/dir'), 'w')],
  ['exclusive create of an existing file', (f, at) => f.writeFileSync(at('/dir/file'), 'y', { flag: 'wx' })],
  ['truncate of a directory', (f, at) => f.truncateSync(at('/dir'))],
  ['chmod of a missing file', (f, at) => f.chmodSync(at('/nope'), 0o600)],
  ['access of a missing file', (f, at) => f.accessSync(at('/nope'))],
  ['realpath of a missing file', (f, at) => f.realpathSync(at('/dir/nope'))],
  ['rename of a path ending in .', (f, at) => f.renameSync(at('/dir/.'), at('/moved'))],
  ['rename of a path ending in ..', (f, at) => f.renameSync(at('/dir/file'), at('/full/..'))],
  ['symlink with an empty target', (f, at) => f.symlinkSync('', at('/empty-link'))],
  ['mkdir -p onto a dangling symlink', (f, at) => f.mkdirSync(at('/dangling'), { recursive: true })],
  ['a name of 256 bytes in 128 characters', (f, at) => f.writeFileSync(at(`/${'é'.repeat(128)}`), 'x')],
  ['copyFile with COPYFILE_EXCL onto a file', (f, at) => f.copyFileSync(at('/dir/file'), at('/full/f'), fs.constants.COPYFILE_EXCL)],
];

describe('errors are shaped like Node fs errors', () => {
  for (const [name, call] of calls) {
    it(name, () => {
      const want = caught(() => call(fs, (p) => real + p));
      const got = caught(() => call(ov, (p) => p));
      const strip = (v: unknown) => (typeof v === 'string' ? v.split(real).join('') : v);
      const expected = Object.fromEntries(Object.entries(want).map(([k, v]) => [k, strip(v)]));
      // layerfs may add a hint in parentheses after Node's message; the Node part must be identical.
      expect({ ...got, message: String(got.message).replace(/ \(.*\)$/, '') }).toEqual(expected);
    });
  }

  it('is an OverlayFsError (an Error) with a negative errno', () => {
    const e = caught(() => ov.statSync('/nope'));
    expect(e.errno).toBe(-2);
    expect(() => ov.statSync('/nope')).toThrow(OverlayFsError);
  });

  it('throwIfNoEntry: false returns undefined for ENOENT only, as Node does', () => {
    expect(fs.statSync(join(real, 'nope'), { throwIfNoEntry: false })).toBeUndefined();
    expect(ov.statSync('/nope', { throwIfNoEntry: false })).toBeUndefined();
    expect(() => fs.lstatSync(join(real, 'dir/file/x'), { throwIfNoEntry: false })).toThrow(/ENOTDIR/);
    expect(() => ov.lstatSync('/dir/file/x', { throwIfNoEntry: false })).toThrow(/ENOTDIR/);
  });

  it('rejects NUL bytes in paths like Node, with a TypeError', () => {
    expect(() => fs.statSync('a\0b')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => ov.statSync('a\0b')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});
