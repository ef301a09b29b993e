import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract as tarExtract } from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { collectStream, LayerError, MemoryLayer, Overlay, TarLayer, TarLayerError } from '../../src/index.js';
import { packTar, type PackEntry } from '../support/to-tar.js';

/**
 * Names a layer can give that are not ordinary objects: the root, an empty name, whiteout
 * names on objects of every type, names inside a whiteout, AUFS metadata; and symlink
 * permission bits. Each is either applied the way real appliers apply it or refused with a
 * typed error, and none ever shows a reserved name in the merged view or an export.
 */
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-reserved-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const file = (name: string, body = '', mode = 0o644): PackEntry => ({ header: { name, mode }, body });
const other = (name: string, type: string, extra: Record<string, unknown> = {}): PackEntry => ({ header: { name, type, mode: 0o755, ...extra } as never });

/** Every path of the merged tree, walked through the overlay. */
function mergedPaths(ov: Overlay, at = '/'): string[] {
  const out: string[] = [];
  for (const name of ov.readdirSync(at)) {
    const p = at === '/' ? `/${name}` : `${at}/${name}`;
    out.push(p);
    if (ov.lstatSync(p).isDirectory()) out.push(...mergedPaths(ov, p));
  }
  return out;
}

/** The names an exportTar of the overlay writes. */
async function exportedNames(ov: Overlay): Promise<string[]> {
  const tar = await collectStream(ov.exportTar({ compression: 'none' }).stream);
  const names: string[] = [];
  const x = tarExtract();
  const done = new Promise<void>((resolve, reject) => {
    x.on('entry', (h, s, next) => {
      names.push(h.name);
      s.on('end', next);
      s.resume();
    });
    x.on('finish', resolve);
    x.on('error', reject);
  });
  x.end(tar);
  await done;
  return names;
}

describe('entries at the layer root', () => {
  it('a directory entry for the root ("./") carries the root\'s metadata', async () => {
    const tar = await packTar([
      { header: { name: './', type: 'directory', mode: 0o700, uid: 5, gid: 6, mtime: new Date(Date.UTC(2001, 0, 1)) } },
      file('etc/hostname', 'h'),
    ]);
    const ov = new Overlay({ lower: [await TarLayer.from(tar)] });
    const root = ov.lstatSync('/');
    expect({ mode: root.mode, uid: root.uid, gid: root.gid, mtimeMs: root.mtimeMs }).toEqual({ mode: 0o40700, uid: 5, gid: 6, mtimeMs: Date.UTC(2001, 0, 1) });
  });

  it('a non-directory at the root ("./", ".", "/") is a typed error: it never replaces the root', async () => {
    for (const name of ['./', '.', '/', '//', './/.']) {
      for (const entry of [file(name, 'x'), other(name, 'symlink', { linkname: 'etc' }), other(name, 'link', { linkname: 'etc/f' }), other(name, 'fifo'), other(name, 'character-device', { devmajor: 1, devminor: 3 })]) {
        const tar = await packTar([file('etc/f', 'f'), entry]);
        const what = `${JSON.stringify(name)} as ${(entry.header as { type?: string }).type ?? 'file'}`;
        // A file named with a trailing slash is refused before that: the tools read it as different types (header-fields.ts).
        const refusal = name.endsWith('/') && (entry.header.type ?? 'file') === 'file' ? /named like a directory/ : /layer L: \/: the layer root can only be a directory/;
        await expect(TarLayer.from(tar, { name: 'L' }), what).rejects.toSatisfy((e: unknown) => e instanceof LayerError && refusal.test((e as Error).message));
      }
    }
    expect(() => MemoryLayer.fromJSON({ '/': 'a file as the root' }, 'M')).toThrow('layer M: /: the layer root can only be a directory, not a file');
  });

  it('an empty name is a typed error, naming where the header is (GNU tar takes it as ".")', async () => {
    const tar = await packTar([file('a', 'a'), file('', 'x')]);
    await expect(TarLayer.from(tar, { name: 'L' })).rejects.toSatisfy((e: unknown) => e instanceof TarLayerError && (e as Error).message === 'layer L: (empty name, header at byte 1024): an entry must have a name');
  });

  it('a name that climbs back to the root ("a/..") is refused with the other ".." names', async () => {
    await expect(TarLayer.from(await packTar([file('a/..', 'x')]))).rejects.toThrow(/outside the layer root/);
  });
});

describe('whiteout names, whatever the entry type', () => {
  it('".wh.x" as a directory, symlink, hard link, device or fifo removes x below, as containerd and umoci apply it, and shows nothing', async () => {
    const lower = MemoryLayer.fromJSON({ '/d/a': 'a', '/d/b': 'b', '/d/c': 'c', '/d/e': 'e', '/d/g': 'g', '/d/keep': 'k' });
    const tar = await packTar([
      file('d/target', 't'),
      other('d/.wh.a/', 'directory'),
      other('d/.wh.b', 'symlink', { linkname: 'anything' }),
      other('d/.wh.c', 'link', { linkname: 'd/target' }),
      other('d/.wh.e', 'character-device', { devmajor: 0, devminor: 0 }),
      other('d/.wh.g', 'fifo'),
    ]);
    const ov = new Overlay({ lower: [lower, await TarLayer.from(tar)] });
    expect(ov.readdirSync('/d')).toEqual(['keep', 'target']);
    expect(mergedPaths(ov).filter((p) => p.includes('.wh.'))).toEqual([]);
    expect((await exportedNames(ov)).filter((p) => p.includes('.wh.'))).toEqual([]);
  });

  it('an entry inside a whiteout or an opaque marker (".wh.x/y") is a typed error: it was shown as a directory named ".wh.x"', async () => {
    for (const name of ['.wh.x/y', 'd/.wh.x/y', 'd/.wh..wh..opq/y', '.wh.x/deeper/y']) {
      await expect(TarLayer.from(await packTar([file(name, 'y')]), { name: 'L' }), name).rejects.toSatisfy((e: unknown) => e instanceof LayerError && (e as Error).message.includes('which is a whiteout or opaque marker, not a directory'));
    }
  });
});

describe('AUFS metadata (".wh..wh.plnk", ".wh..wh.aufs", ".wh..wh.orph")', () => {
  it('never shows in the merged view or an export; pseudo-link files still serve as hard-link targets, as Docker applies them', async () => {
    const tar = await packTar([
      other('.wh..wh.plnk/', 'directory'),
      file('.wh..wh.plnk/262.1024', 'busybox binary', 0o755),
      file('.wh..wh.aufs', ''),
      other('.wh..wh.orph/', 'directory'),
      file('.wh..wh.orph/stale', 'x'),
      other('.wh..wh.orph/deeper/', 'directory'),
      other('bin/', 'directory'),
      other('bin/ls', 'link', { linkname: '.wh..wh.plnk/262.1024' }),
      other('bin/cat', 'link', { linkname: '/.wh..wh.plnk/262.1024' }),
      file('usr/.wh..wh.aufs', ''),
    ]);
    const layer = await TarLayer.from(tar);
    // Nothing of the metadata is kept, not even the parent `usr` that only AUFS metadata named.
    expect([...layer.entries.keys()]).toEqual(['/', '/bin', '/bin/cat', '/bin/ls']);
    expect([...layer.whiteouts]).toEqual([]);
    const ov = new Overlay({ lower: [layer] });
    expect(mergedPaths(ov)).toEqual(['/bin', '/bin/cat', '/bin/ls']);
    expect(ov.readFileSync('/bin/ls', 'utf8')).toBe('busybox binary');
    const ls = ov.lstatSync('/bin/ls');
    expect({ mode: ls.mode, nlink: ls.nlink, ino: ls.ino }).toEqual({ mode: 0o100755, nlink: 2, ino: ov.lstatSync('/bin/cat').ino });
    expect((await exportedNames(ov)).filter((p) => p.includes('.wh.'))).toEqual([]);
  });
});

describe('symlink permission bits', () => {
  it('are 0777 whatever the tar header says, as GNU tar extracts them on Linux', async () => {
    const tar = await packTar([
      { header: { name: 'a', type: 'symlink', linkname: 'target', mode: 0o644 } },
      { header: { name: 'b', type: 'symlink', linkname: 'target', mode: 0o4700 } },
    ]);
    const out = join(dir, 'gnu');
    fs.mkdirSync(out);
    fs.writeFileSync(join(dir, 'links.tar'), tar);
    execFileSync('tar', ['-xpf', join(dir, 'links.tar'), '-C', out]);
    const ov = new Overlay({ lower: [await TarLayer.from(tar), await TarLayer.from(join(dir, 'links.tar'))] });
    for (const name of ['a', 'b']) {
      expect(fs.lstatSync(join(out, name)).mode.toString(8), `GNU tar, ${name}`).toBe('120777');
      expect(ov.lstatSync(`/${name}`).mode.toString(8), `layerfs, ${name}`).toBe('120777');
    }
  });
});
