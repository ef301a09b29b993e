import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { TarArchive } from 'archiver';
import { afterAll, describe, expect, it } from 'vitest';
import { demoAndExport, scratch } from './export-demo.js';

/**
 * archiver packing the bundled image from `ov.fs` (its directory walk, lstat, readlink, and a
 * ReadStream per file), against GNU tar packing the same names of the image exported with
 * exportDir: the same listing, and the same bytes once GNU tar unpacks ours.
 */
const work = scratch('tar');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const tarList = (file: string) => execFileSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8' });
/** A listing line without owner and group (archiver writes none): mode, size, time, name, link target. */
const fields = (listing: string) => listing.split('\n').filter(Boolean).map((l) => { const [mode, , ...rest] = l.split(/\s+/); return [mode, ...rest].join(' '); });

describe('archiver on ov.fs streams', () => {
  it('packs the merged image as GNU tar packs its export: the same listing, the same bytes', async () => {
    const { ov, dir } = await demoAndExport(work);
    const names: string[] = [];
    const archive = new TarArchive();
    const out = join(work, 'from-overlay.tar');
    const written = pipeline(archive, fs.createWriteStream(out));
    for (const d of ov.fs.readdirSync('/', { recursive: true, withFileTypes: true }).sort((a, b) => (a.parentPath + '/' + a.name).localeCompare(b.parentPath + '/' + b.name))) {
      const path = join(d.parentPath, d.name);
      const name = path.slice(1);
      const st = ov.fs.lstatSync(path);
      const data = { name, mode: st.mode & 0o7777, date: st.mtime };
      if (d.isDirectory()) archive.append(null as never, { ...data, name: `${name}/`, type: 'directory' });
      else if (d.isSymbolicLink()) archive.symlink(name, ov.fs.readlinkSync(path), st.mode & 0o7777);
      else if (d.isFile()) archive.append(ov.fs.createReadStream(path), data);
      else continue; // (devices and fifos: not archiver's)
      names.push(name);
    }
    await archive.finalize();
    await written;
    expect(names.length).toBeGreaterThan(15);

    const reference = join(work, 'from-export.tar');
    execFileSync('tar', ['-C', dir, '--no-recursion', '--hard-dereference', '--numeric-owner', '-cf', reference, ...names]);
    // (archiver writes symlinks without the time GNU tar keeps, so times are compared for the rest.)
    const ours = fields(tarList(out));
    const theirs = fields(tarList(reference));
    expect(ours.map((l) => (l.startsWith('l') ? l.split(' ').filter((_, i) => i !== 2 && i !== 3).join(' ') : l)))
      .toEqual(theirs.map((l) => (l.startsWith('l') ? l.split(' ').filter((_, i) => i !== 2 && i !== 3).join(' ') : l)));

    const unpacked = fs.mkdtempSync(join(work, 'unpacked-'));
    execFileSync('tar', ['-C', unpacked, '-xf', out]);
    for (const name of names) {
      const a = fs.lstatSync(join(unpacked, name));
      const b = fs.lstatSync(join(dir, name));
      expect([name, a.mode, a.isFile() ? fs.readFileSync(join(unpacked, name)).equals(fs.readFileSync(join(dir, name))) : a.isSymbolicLink() ? fs.readlinkSync(join(unpacked, name)) : 'dir'])
        .toEqual([name, b.mode, b.isFile() ? true : b.isSymbolicLink() ? fs.readlinkSync(join(dir, name)) : 'dir']);
    }
  }, 60_000);
});
