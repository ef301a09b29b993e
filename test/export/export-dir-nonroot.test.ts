import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LayerJSON } from '../../src/index.js';
import { bundleForNode } from '../support/node-bundle.js';
import { scratch } from '../support/scratch.js';
import { snapshot, type FsLike } from '../support/tree.js';

// exportDir run by an unprivileged user (nobody, through setpriv, from a root test process):
// overwrite redoes an export whose directories or root its own modes left unwritable or
// unreadable (0555, 000), and user.* xattrs reach files and directories whose final mode
// keeps their owner from writing them (0444, 0555).
const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '../..');
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const { work, fresh } = scratch('lfs-exportdir-nonroot-');
let n = 0;

const image: LayerJSON = {
  '/': { type: 'directory', mode: 0o555, uid: NOBODY, gid: NOBODY, mtimeMs: 1.5e12 },
  '/ro': { type: 'directory', mode: 0o555, uid: NOBODY, gid: NOBODY, mtimeMs: 1.4e12, xattrs: { 'user.dir': 'on a 0555 directory' } },
  '/ro/f': { type: 'file', content: 'in a read-only directory', mode: 0o444, uid: NOBODY, gid: NOBODY, mtimeMs: 1.3e12, xattrs: { 'user.file': 'on a 0444 file' } },
  '/ro/empty': { type: 'file', content: '', mode: 0o444, uid: NOBODY, gid: NOBODY, mtimeMs: 1.3e12, xattrs: { 'user.empty': 'on an empty 0444 file' } },
  '/closed': { type: 'directory', mode: 0o000, uid: NOBODY, gid: NOBODY, mtimeMs: 1.4e12 },
  '/closed/inner': { type: 'directory', mode: 0o000, uid: NOBODY, gid: NOBODY, mtimeMs: 1.4e12 },
  '/closed/inner/g': { type: 'file', content: 'deep', mode: 0o600, uid: NOBODY, gid: NOBODY, mtimeMs: 1.3e12 },
};
/** The same names, but /closed is a file now: the old 000 tree there must be removed. */
const replaced: LayerJSON = { ...image, '/closed': { type: 'file', content: 'now a file', mode: 0o400, uid: NOBODY, gid: NOBODY, mtimeMs: 1.2e12 } };
delete replaced['/closed/inner'];
delete replaced['/closed/inner/g'];

let child: string;
beforeAll(async () => {
  fs.chmodSync(work, 0o755);
  child = join(work, 'export-json-child.mjs');
  await bundleForNode(join(HERE, 'support/export-json-child.ts'), child);
});

/** exportDir of `json` into `target` as nobody, in a child process: its report, or its error. */
function exportAsNobody(json: LayerJSON, target: string, options: object = {}): { report?: { skipped: unknown[] }; error?: { name: string; code?: string; message: string } } {
  const imageFile = join(work, `image${n}.json`);
  const optionsFile = join(work, `options${n++}.json`);
  fs.writeFileSync(imageFile, JSON.stringify(json));
  fs.writeFileSync(optionsFile, JSON.stringify(options));
  const out = execFileSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, child, imageFile, target, optionsFile], {
    encoding: 'utf8',
    env: { ...process.env, LAYERFS_NATIVE_ADDON: join(REPO, 'native/build/Release/layerfs_host.node') },
  });
  return JSON.parse(out);
}
/** A target directory owned by nobody. */
const target = () => {
  const d = fresh('target');
  fs.chownSync(d, NOBODY, NOBODY);
  return d;
};
const tree = (dir: string) => Object.fromEntries(snapshot(fs as unknown as FsLike, dir));
const xattr = (path: string, name: string) => execFileSync('getfattr', ['-h', '-n', name, '--only-values', path], { encoding: 'utf8' });

describe.skipIf(!isRoot)('exportDir as an unprivileged user', () => {
  it('sets user.* xattrs on a 0444 file and a 0555 directory (before their mode), none skipped', () => {
    const d = target();
    const readOnly = Object.fromEntries(Object.entries(image).filter(([p]) => p === '/' || p.startsWith('/ro')));
    expect(exportAsNobody(readOnly, d)).toEqual({ report: expect.objectContaining({ skipped: [] }) });
    expect(xattr(join(d, 'ro/f'), 'user.file')).toBe('on a 0444 file');
    expect(xattr(join(d, 'ro/empty'), 'user.empty')).toBe('on an empty 0444 file');
    expect(xattr(join(d, 'ro'), 'user.dir')).toBe('on a 0555 directory');
    expect(fs.statSync(join(d, 'ro/f')).mode & 0o7777).toBe(0o444);
  });

  /**
   * Exports `first` as nobody, then `then` over it with overwrite: it must complete, none
   * skipped, and give what `then` exported into an empty target gives. `between` checks the
   * target as the first export left it.
   */
  const redo = (first: LayerJSON, then: LayerJSON, between: (d: string) => void = () => {}) => {
    const reference = target();
    exportAsNobody(then, reference);
    const d = target();
    exportAsNobody(first, d);
    between(d);
    expect(exportAsNobody(then, d, { overwrite: true })).toEqual({ report: expect.objectContaining({ skipped: [] }) });
    expect(tree(d)).toEqual(tree(reference));
  };

  it('overwrite redoes an export whose root is 0555 and whose directories are 0555 and 000', () => {
    redo(image, image, (d) => expect(fs.statSync(d).mode & 0o7777).toBe(0o555));
  });

  it('overwrite removes a 000 tree where the image now has a file', () => {
    redo(image, replaced);
  });

  it('exports a 000 directory holding a directory (the final check reaches it before its mode is set)', () => {
    const d = target();
    expect(exportAsNobody(image, d)).toEqual({ report: expect.objectContaining({ skipped: [] }) });
    expect(fs.statSync(join(d, 'closed')).mode & 0o7777).toBe(0);
    expect(fs.readFileSync(join(d, 'closed/inner/g'), 'utf8')).toBe('deep');
  });

  it('overwrite redoes an export whose root was left mode 000', () => {
    const closedRoot: LayerJSON = { ...image, '/': { type: 'directory', mode: 0o000, uid: NOBODY, gid: NOBODY, mtimeMs: 1.5e12 } };
    redo(closedRoot, closedRoot, (d) => expect(fs.statSync(d).mode & 0o7777).toBe(0o000));
  });
});
