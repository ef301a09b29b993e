import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectStream, ImageError, LayerError, MemoryLayer, Overlay, TarLayer, openImage, saveImage } from '../../src/index.js';
import { layerToTar, packTar } from '../support/to-tar.js';
import { writeOciLayout } from '../support/oci-layout.js';

/** Bytes 1-2 of `path`, read through a read-only descriptor (by position, from the layer that holds the bytes). */
function twoBytesAt1(ov: Overlay, path: string): string {
  const fd = ov.openSync(path, 'r');
  const two = Buffer.alloc(2);
  expect(ov.readSync(fd, two, 0, 2, 1)).toBe(2);
  ov.closeSync(fd);
  return two.toString();
}

/**
 * A layer's hard link (tar typeflag 1) to a file of the layers below, as containerd's applier
 * accepts it: link(2) on the tree below, which on an overlay copies the target up, so the
 * layer holds both names as one inode. (test/kernel has the kernel's own answer for these
 * stacks, [link] "a layer's hard links to files of the layers below", and the differential
 * harness generates such links.)
 */
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-lowerlink-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const base = () => MemoryLayer.fromJSON({
  '/bin/busybox': { type: 'file', content: 'ELF', mode: 0o4755, uid: 3, gid: 4 },
  '/bin/ls': { type: 'hardlink', target: '/bin/busybox' },
  '/d': null,
  '/etc/f': 'f',
  '/lnk': { type: 'symlink', linkTarget: 'bin' },
}, 'base');
const linkTar = (entries: Array<[string, string]>) => packTar(entries.map(([name, linkname]) => ({ header: { name, type: 'link', linkname } as never })));

describe('hard links to files of lower layers', () => {
  it('a tar layer linking to a lower file opens and stacks: both names one inode of the layer, the lower file\'s content and metadata', async () => {
    const upper = await TarLayer.from(await linkTar([['usr/bin/env', 'bin/busybox'], ['usr/bin/sh', '/usr/bin/env']]), { name: 'top' });
    expect([...upper.lowerLinks]).toEqual([['/usr/bin/env', '/bin/busybox'], ['/usr/bin/sh', '/bin/busybox']]);
    const ov = new Overlay({ lower: [base(), upper] });
    const [env, sh, busybox, ls] = ['/usr/bin/env', '/usr/bin/sh', '/bin/busybox', '/bin/ls'].map((p) => ov.lstatSync(p));
    expect(ov.readFileSync('/usr/bin/env', 'utf8')).toBe('ELF');
    // A read-only descriptor reads by position from the layer that holds the bytes.
    expect(twoBytesAt1(ov, '/usr/bin/sh')).toBe('LF');
    expect({ mode: env!.mode, uid: env!.uid, gid: env!.gid, nlink: env!.nlink }).toEqual({ mode: 0o104755, uid: 3, gid: 4, nlink: 3 });
    expect(sh!.ino).toBe(env!.ino);
    expect(busybox!.ino).toBe(env!.ino); // the copied-up target
    expect(ls!.ino).not.toBe(env!.ino); // the lower file's other name keeps the lower inode
    expect(ls!.nlink).toBe(2);
    // Writing one name copies it up alone (index=off), as for any lower hard link.
    ov.writeFileSync('/usr/bin/env', 'patched');
    expect(ov.readFileSync('/usr/bin/sh', 'utf8')).toBe('ELF');
  });

  it('exports and re-serialises as links: the merged tar holds the content once, the layer tar keeps its typeflag-1 entries', async () => {
    const upper = await TarLayer.from(await linkTar([['env', 'bin/busybox']]));
    const ov = new Overlay({ lower: [base(), upper] });
    const tar = await collectStream(ov.exportTar({ compression: 'none' }).stream);
    const back = await TarLayer.from(tar);
    expect(back.entries.get('/env')!.inode).toBe(back.entries.get('/bin/busybox')!.inode);
    expect(back.entries.get('/bin/ls')!.inode).not.toBe(back.entries.get('/env')!.inode);
    const again = await TarLayer.from(await layerToTar(upper));
    expect([...again.lowerLinks]).toEqual([['/env', '/bin/busybox']]);
  });

  it('a link to nothing below, to a directory, or whose result would depend on entry order is a LayerError naming the link', async () => {
    const refused = async (entries: Parameters<typeof packTar>[0], message: RegExp) => {
      const upper = await TarLayer.from(await packTar(entries), { name: 'top' });
      expect(() => new Overlay({ lower: [base(), upper] })).toThrow(message);
    };
    const link = (name: string, linkname: string) => ({ header: { name, type: 'link', linkname } as never });
    await refused([link('x', 'nowhere')], /layer top: \/x: hard link to missing entry \/nowhere \(neither in this layer nor in the layers below it\)/);
    await refused([link('x', 'd')], /layer top: \/x: hard link to directory \/d/);
    // The links come after the rest of the layer: a target the layer removes is not there.
    await refused([link('x', 'bin/busybox'), { header: { name: 'bin/.wh.busybox' }, body: '' }], /layer top: \/x: hard link to missing entry \/bin\/busybox/);
    await refused([link('x', 'bin/busybox'), { header: { name: 'bin/.wh..wh..opq' }, body: '' }], /hard link to missing entry/);
    // Order-dependent: a link named like another link's target, or for the directory holding it,
    // or a target that is the layer's own entry reached through its symlink.
    await refused([link('x', 'lnk/ls'), link('bin/ls', 'etc/f')], /layer top: \/x: hard link to \/bin\/ls, which the layer also names as a link/);
    await refused([link('bin', 'bin/busybox')], /layer top: \/bin: hard link named for a directory that holds its layer's link target \/bin\/busybox/);
    await refused([{ header: { name: 'alias', type: 'symlink', linkname: 'own' } as never }, { header: { name: 'own/f' }, body: 'mine' }, link('x', 'alias/f')], /hard link to \/alias\/f, whose path goes through \/alias, a symlink this layer also lists/);
    expect(() => new Overlay({ lower: [base(), MemoryLayer.fromJSON({ '/x': { type: 'hardlink', target: '/bin/busybox' }, '/bin': { type: 'file', content: 'f' } }, 'top')] })).toThrow(LayerError);
  });

  it('openImage stacks an image whose layer links to a lower file, and refuses one whose link names nothing', async () => {
    const good = join(dir, 'good');
    writeOciLayout(good, [await layerToTar(base()), await linkTar([['usr/bin/env', 'bin/busybox']])]);
    const image = await openImage(good);
    expect(image.overlay().readFileSync('/usr/bin/env', 'utf8')).toBe('ELF');
    const bad = join(dir, 'bad');
    writeOciLayout(bad, [await layerToTar(base()), await linkTar([['usr/bin/env', 'bin/nothing']])]);
    await expect(openImage(bad)).rejects.toSatisfy((e: unknown) => e instanceof ImageError && /layer sha256:[0-9a-f]{64}: corrupt layer \(.*hard link to missing entry \/bin\/nothing/.test((e as Error).message));
  });
});

describe('hard links and the order of a tar layer', () => {
  const base2 = () => packTar([
    { header: { name: 'bin/', type: 'directory', mode: 0o755 } as never },
    { header: { name: 'bin/busybox', mode: 0o755 }, body: 'ELF' },
    { header: { name: 'lnk', type: 'symlink', linkname: 'usr' } as never },
    { header: { name: 'usr/', type: 'directory', mode: 0o755 } as never },
    { header: { name: 'usr/f', mode: 0o644 }, body: 'USR' },
    { header: { name: 'opt/', type: 'directory', mode: 0o755 } as never },
    { header: { name: 'opt/f', mode: 0o644 }, body: 'OPT' },
  ]);
  /** What GNU tar (extracting the layers onto one directory) and umoci (unpacking the image) show at `path`. */
  const oracles = (layers: Buffer[], path: string) => {
    const work = fs.mkdtempSync(join(dir, 'order-'));
    const tarDir = join(work, 'gnu');
    fs.mkdirSync(tarDir);
    for (const [i, t] of layers.entries()) {
      fs.writeFileSync(join(work, `${i}.tar`), t);
      execFileSync('tar', ['-xf', join(work, `${i}.tar`), '-C', tarDir]);
    }
    writeOciLayout(join(work, 'img'), layers);
    let umoci: string;
    try {
      execFileSync('umoci', ['unpack', '--image', `${join(work, 'img')}:latest`, join(work, 'bundle')], { stdio: 'pipe' });
      umoci = fs.readFileSync(join(work, 'bundle', 'rootfs', path), 'utf8');
    } catch (e) {
      umoci = `failed: ${(e as Error).message.split('\n')[0]}`;
    }
    return { gnu: fs.readFileSync(join(tarDir, path), 'utf8'), umoci };
  };

  it('a link listed before the entry it names links to the file below, which the entry then replaces: as GNU tar and umoci extract it', async () => {
    const top = await packTar([
      { header: { name: 'x', type: 'link', linkname: 'bin/busybox' } as never },
      { header: { name: 'bin/busybox', mode: 0o700 }, body: 'NEW' },
    ]);
    const layers = [await base2(), top];
    expect(oracles(layers, 'x')).toEqual({ gnu: 'ELF', umoci: 'ELF' });
    expect(oracles(layers, 'bin/busybox')).toEqual({ gnu: 'NEW', umoci: 'NEW' });
    const upper = await TarLayer.from(top, { name: 'top' });
    expect([...upper.lowerLinks]).toEqual([['/x', '/bin/busybox']]);
    const ov = new Overlay({ lower: [await TarLayer.from(layers[0]!), upper] });
    expect(ov.readFileSync('/x', 'utf8')).toBe('ELF');
    expect(ov.readFileSync('/bin/busybox', 'utf8')).toBe('NEW');
    const [x, busybox] = ['/x', '/bin/busybox'].map((p) => ov.lstatSync(p));
    expect({ nlink: x!.nlink, mode: x!.mode }).toEqual({ nlink: 1, mode: 0o100755 });
    expect(busybox!.ino).not.toBe(x!.ino);
    // Listed after its target, the link is a second name of the layer's own file.
    const after = await TarLayer.from(await packTar([{ header: { name: 'bin/busybox', mode: 0o700 }, body: 'NEW' }, { header: { name: 'x', type: 'link', linkname: 'bin/busybox' } as never }]));
    expect(after.lowerLinks.size).toBe(0);
    expect(after.entries.get('/x')!.inode).toBe(after.entries.get('/bin/busybox')!.inode);
    // Written back as a layer tar, the link still comes before the entry it names.
    const again = await TarLayer.from(await layerToTar(upper));
    expect([...again.lowerLinks]).toEqual([['/x', '/bin/busybox']]);
    expect(new Overlay({ lower: [await TarLayer.from(layers[0]!), again] }).readFileSync('/x', 'utf8')).toBe('ELF');
    // With nothing below to link to, such a link is refused.
    expect(() => new Overlay({ lower: [upper] })).toThrow(/layer top: \/x: hard link to missing entry \/bin\/busybox/);
  });

  it('a path listed twice: a link between the two names the first, as GNU tar and umoci extract it (the second is a new file)', async () => {
    const lower = await packTar([{ header: { name: 'a', mode: 0o644 }, body: 'LOWER' }]);
    const top = await packTar([
      { header: { name: 'a', mode: 0o644 }, body: 'V1' },
      { header: { name: 'x', type: 'link', linkname: 'a' } as never },
      { header: { name: 'a', mode: 0o644 }, body: 'V2' },
    ]);
    expect(oracles([lower, top], 'x')).toEqual({ gnu: 'V1', umoci: 'V1' });
    expect(oracles([lower, top], 'a')).toEqual({ gnu: 'V2', umoci: 'V2' });
    for (const layers of [[lower, top], [top]]) {
      const ov = new Overlay({ lower: await Promise.all(layers.map((t) => TarLayer.from(t))) });
      expect(ov.readFileSync('/x', 'utf8')).toBe('V1');
      expect(ov.readFileSync('/a', 'utf8')).toBe('V2');
      expect(ov.lstatSync('/x').nlink).toBe(1);
      expect(ov.lstatSync('/x').ino).not.toBe(ov.lstatSync('/a').ino);
    }
    // Replaced by a directory, the same.
    const dirAfter = await TarLayer.from(await packTar([
      { header: { name: 'a', mode: 0o644 }, body: 'V1' },
      { header: { name: 'x', type: 'link', linkname: 'a' } as never },
      { header: { name: 'a/', type: 'directory', mode: 0o755 } as never },
    ]));
    const ov = new Overlay({ lower: [dirAfter] });
    expect(ov.readFileSync('/x', 'utf8')).toBe('V1');
    expect(ov.lstatSync('/a').isDirectory()).toBe(true);
  });

  it('a layer written back (saveImage) unpacks with umoci to the tree layerfs shows: a link to a lower file comes after the directories of the layer on its path', async () => {
    // Below: d -> e, a symlink; the top layer makes d a directory holding a link to the lower /a.
    const bottom = await packTar([
      { header: { name: 'e/', type: 'directory', mode: 0o755 } as never },
      { header: { name: 'd', type: 'symlink', linkname: 'e' } as never },
      { header: { name: 'a', mode: 0o644 }, body: 'LOWER' },
    ]);
    const top = MemoryLayer.fromJSON({ '/d': { type: 'directory', mode: 0o755 }, '/d/x': { type: 'hardlink', target: '/a' } }, 'top');
    const ov = new Overlay({ lower: [await TarLayer.from(bottom), top] });
    expect(ov.readFileSync('/d/x', 'utf8')).toBe('LOWER');
    expect(ov.readdirSync('/e')).toEqual([]);
    const work = fs.mkdtempSync(join(dir, 'save-'));
    await saveImage(ov, join(work, 'img'), { compression: 'none' });
    execFileSync('umoci', ['unpack', '--image', `${join(work, 'img')}:latest`, join(work, 'bundle')], { stdio: 'pipe' });
    expect(fs.readFileSync(join(work, 'bundle', 'rootfs', 'd', 'x'), 'utf8')).toBe('LOWER');
    expect(fs.readdirSync(join(work, 'bundle', 'rootfs', 'e'))).toEqual([]);
  });

  it('written back, a link to a lower file that a directory of the layer replaces still comes before that directory, also when another link needs the directory first', async () => {
    const lower = await packTar([{ header: { name: 'p', mode: 0o644 }, body: 'LOWP' }, { header: { name: 'a', mode: 0o644 }, body: 'LOWA' }]);
    const top = await packTar([
      { header: { name: 'y', type: 'link', linkname: 'p' } as never },
      { header: { name: 'p/', type: 'directory', mode: 0o755 } as never },
      { header: { name: 'p/x', type: 'link', linkname: 'a' } as never },
      { header: { name: 'a', mode: 0o644 }, body: 'NEW' },
    ]);
    expect(oracles([lower, top], 'y')).toEqual({ gnu: 'LOWP', umoci: 'LOWP' });
    expect(oracles([lower, top], 'p/x')).toEqual({ gnu: 'LOWA', umoci: 'LOWA' });
    const again = await layerToTar(await TarLayer.from(top));
    expect(oracles([lower, again], 'y')).toEqual({ gnu: 'LOWP', umoci: 'LOWP' });
    expect(oracles([lower, again], 'p/x')).toEqual({ gnu: 'LOWA', umoci: 'LOWA' });
    expect(oracles([lower, again], 'a')).toEqual({ gnu: 'NEW', umoci: 'NEW' });
  });

  it('chains of links in tar order are never a cycle (each step names an entry listed before it)', async () => {
    const lower = await packTar([{ header: { name: 'X', mode: 0o644 }, body: 'LOWX' }]);
    const top = await packTar([
      { header: { name: 'C', type: 'link', linkname: 'X' } as never },
      { header: { name: 'D', type: 'link', linkname: 'C' } as never },
      { header: { name: 'C', type: 'link', linkname: 'D' } as never },
    ]);
    for (const name of ['C', 'D', 'X']) expect(oracles([lower, top], name)).toEqual({ gnu: 'LOWX', umoci: 'LOWX' });
    const ov = new Overlay({ lower: [await TarLayer.from(lower), await TarLayer.from(top)] });
    for (const name of ['/C', '/D', '/X']) expect(ov.readFileSync(name, 'utf8')).toBe('LOWX');
    expect(new Set(['/C', '/D', '/X'].map((n) => ov.lstatSync(n).ino)).size).toBe(1);
  });

  it('AUFS pseudo-link files follow the tar order too: a link names the version listed before it', async () => {
    const top = await packTar([
      { header: { name: '.wh..wh.plnk/', type: 'directory', mode: 0o700 } as never },
      { header: { name: '.wh..wh.plnk/1.1', mode: 0o644 }, body: 'P1' },
      { header: { name: 'x', type: 'link', linkname: '.wh..wh.plnk/1.1' } as never },
      { header: { name: '.wh..wh.plnk/1.1', mode: 0o644 }, body: 'P2' },
      { header: { name: 'y', type: 'link', linkname: '.wh..wh.plnk/1.1' } as never },
    ]);
    expect(oracles([top], 'x')).toEqual({ gnu: 'P1', umoci: 'P1' });
    expect(oracles([top], 'y')).toEqual({ gnu: 'P2', umoci: 'P2' });
    const ov = new Overlay({ lower: [await TarLayer.from(top)] });
    expect(ov.readFileSync('/x', 'utf8')).toBe('P1');
    expect(ov.readFileSync('/y', 'utf8')).toBe('P2');
    expect(ov.lstatSync('/x').ino).not.toBe(ov.lstatSync('/y').ino);
  });

  it('a link whose target path goes through a symlink the same layer replaces is refused (umoci follows the symlink the tree had when the link was extracted)', async () => {
    const top = await packTar([
      { header: { name: 'x', type: 'link', linkname: 'lnk/f' } as never },
      { header: { name: 'lnk', type: 'symlink', linkname: 'opt' } as never },
    ]);
    expect(oracles([await base2(), top], 'x')).toEqual({ gnu: 'USR', umoci: 'USR' });
    const upper = await TarLayer.from(top, { name: 'top' });
    const below = await TarLayer.from(await base2());
    expect(() => new Overlay({ lower: [below, upper] })).toThrow(/layer top: \/x: hard link to \/lnk\/f, whose path goes through \/lnk, a symlink this layer also lists/);
  });

  it('a chain across layers (layer 2 links to the name layer 1 linked to layer 0) reads layer 0\'s bytes', async () => {
    const l0 = await TarLayer.from(await packTar([{ header: { name: 'f', mode: 0o644 }, body: 'one' }]));
    const l1 = await TarLayer.from(await packTar([{ header: { name: 'g', type: 'link', linkname: 'f' } as never }]));
    const l2 = await TarLayer.from(await packTar([{ header: { name: 'h', type: 'link', linkname: 'g' } as never }]));
    const ov = new Overlay({ lower: [l0, l1, l2] });
    expect(ov.readFileSync('/h', 'utf8')).toBe('one');
    expect(twoBytesAt1(ov, '/h')).toBe('ne');
    const [f, g, h] = ['/f', '/g', '/h'].map((p) => ov.lstatSync(p));
    expect(h!.ino).toBe(g!.ino);
    expect(f!.ino).not.toBe(h!.ino);
    expect(h!.nlink).toBe(2);
  });
});
