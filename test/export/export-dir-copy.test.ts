import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { LayerContentError, openImage, TarLayer, Overlay } from '../../src/index.js';
import { writeOciLayout } from '../support/oci-layout.js';
import { scratch } from '../support/scratch.js';

/**
 * exportDir of layers whose content stays in a file (an uncompressed layer's blob, a gzip
 * layer's spill file): each file's content is copied by the kernel from there
 * (copy_file_range(2), else sendfile(2)), and the layer file is checked after the copy as
 * after a read. Compared with GNU tar extracting the same layer tar.
 */
const isRoot = process.getuid?.() === 0;
const { work, fresh } = scratch('lfs-exportdir-copy-');
/** A target on another filesystem than the layer files where there is one (tmpfs): copy_file_range says EXDEV there. */
const otherFs = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/lfs-exportdir-copy-') : undefined;
afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});
afterAll(() => otherFs && fs.rmSync(otherFs, { recursive: true, force: true }));
let n = 0;

/** A layer tar made by GNU tar from a staged tree: files from 1 byte to 3 MiB, hard links, set-id bits, xattrs, a symlink. */
function stagedTar(): string {
  const stage = fresh('stage');
  const bytes = (size: number, seed: number) => {
    const out = Buffer.alloc(size);
    for (let i = 0, x = seed; i < size; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    return out;
  };
  fs.mkdirSync(join(stage, 'usr/bin'), { recursive: true });
  fs.mkdirSync(join(stage, 'etc'));
  [1, 511, 512, 513, 4096, 65_537, 3 << 20].forEach((size, i) => fs.writeFileSync(join(stage, `usr/bin/f${size}`), bytes(size, i + 1)));
  fs.writeFileSync(join(stage, 'etc/empty'), '');
  fs.chmodSync(join(stage, 'usr/bin/f4096'), 0o4755);
  fs.chmodSync(join(stage, 'usr/bin/f513'), 0o2711);
  fs.linkSync(join(stage, 'usr/bin/f65537'), join(stage, 'etc/hard'));
  fs.symlinkSync('../usr/bin/f1', join(stage, 'etc/link'));
  execFileSync('setfattr', ['-n', 'user.origin', '-v', 'staged', join(stage, 'usr/bin/f512')]);
  if (isRoot) fs.chownSync(join(stage, 'usr/bin/f511'), 1234, 5678);
  const tar = join(work, `layer${n++}.tar`);
  execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-cf', tar, '-C', stage, '.']);
  return tar;
}

/** What a tree holds: each entry's type, mode, owner, size, link count, mtime, symlink target, content digest, xattrs. */
function treeOf(dir: string): string[] {
  // A directory's size is its filesystem's (tmpfs and ext4 differ): not compared. Times to the
  // millisecond, as layers hold them (TarEntry.mtimeMs).
  const lines = execFileSync('find', ['.', '-printf', '%p %y %m %U:%G %s %n %T@ %l\n'], { cwd: dir, encoding: 'utf8' }).split('\n').filter(Boolean).sort()
    .map((l) => l.replace(/^(\S+ d \S+ \S+) \d+/, '$1 -').replace(/(\.\d{3})\d* /, '$1 '));
  const digests = lines
    .map((l) => l.split(' ')[0]!)
    .filter((p) => fs.lstatSync(join(dir, p)).isFile())
    .map((p) => `${p} ${createHash('sha256').update(fs.readFileSync(join(dir, p))).digest('hex')}`);
  const xattrs = execFileSync('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '.'], { cwd: dir, encoding: 'utf8' });
  // The root's own time is the export's to set (the image's root) and tar's to leave.
  return [...lines.filter((l) => !l.startsWith('. ')), ...digests, ...xattrs.split('\n')];
}

function tarExtract(tar: string): string {
  const out = fresh('tar');
  execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', tar, '-C', out]);
  return out;
}

const target = (where: string | undefined) => {
  if (where === undefined) return fresh('out');
  const d = join(where, `out${n++}`);
  fs.mkdirSync(d);
  return d;
};

describe('exportDir copies content a layer keeps in a file without reading it', () => {
  for (const [label, where] of [['a target on the layer files\' filesystem', undefined], ['a target on another filesystem (tmpfs)', otherFs]] as const) {
    it.runIf(label.startsWith('a target on the') || otherFs)(`an uncompressed layer, ${label}: what GNU tar extracts from the same tar`, async () => {
      const tar = stagedTar();
      const layer = await TarLayer.from(tar, { name: 'L0' });
      expect(layer.info.contentOnDisk).toBe(true);
      const out = target(where);
      const report = new Overlay({ lower: [layer] }).exportDir(out);
      expect(report.skipped).toEqual([]);
      expect(report.bytes).toBe(1 + 511 + 512 + 513 + 4096 + 65_537 + (3 << 20));
      expect(treeOf(out)).toEqual(treeOf(tarExtract(tar)));
    });
  }

  it('a gzip layer whose content passes memoryBytes (the rest in the spill file): what GNU tar extracts', async () => {
    const tar = stagedTar();
    const gz = join(work, `layer${n++}.tar.gz`);
    fs.writeFileSync(gz, gzipSync(fs.readFileSync(tar)));
    const layer = await TarLayer.from(gz, { name: 'L0', memoryBytes: 1000 });
    expect(layer.info.spilledBytes).toBeGreaterThan(3 << 20);
    const out = target(otherFs);
    new Overlay({ lower: [layer] }).exportDir(out);
    expect(treeOf(out)).toEqual(treeOf(tarExtract(tar)));
  });

  it('an image of uncompressed layers, without the native addon (read and written through a buffer): the same tree', async () => {
    vi.stubEnv('LAYERFS_NATIVE_ADDON', 'none');
    vi.resetModules();
    const lib = await import('../../src/index.js');
    const tar = stagedTar();
    const layout = fresh('layout');
    writeOciLayout(layout, [fs.readFileSync(tar)]);
    const image = await lib.openImage(layout);
    const out = fresh('out');
    const report = image.overlay().exportDir(out);
    // The one xattr is skipped without the addon: compared without it.
    expect(report.skipped.map((s) => s.path)).toEqual(['usr/bin/f512']);
    execFileSync('setfattr', ['-n', 'user.origin', '-v', 'staged', join(out, 'usr/bin/f512')]);
    expect(treeOf(out)).toEqual(treeOf(tarExtract(tar)));
  });
});

describe('exportDir from a layer file changed after it was opened', () => {
  // The library as the module registry holds it now: a test above resets the modules, and
  // openImage loads image/ on its first call (registry/open-reference.ts), so the error classes
  // of this file's static import would be another copy of the ones thrown.
  const lib = () => import('../../src/index.js');

  /** An image of one uncompressed layer holding /big (1 MiB of 'b') and /small, opened; the blob's path and big's offset in it. */
  async function opened(): Promise<{ ov: Overlay; blob: string; bigAt: number }> {
    const stage = fresh('stage');
    fs.writeFileSync(join(stage, 'big'), Buffer.alloc(1 << 20, 'b'));
    fs.writeFileSync(join(stage, 'small'), 'small');
    const tar = join(work, `layer${n++}.tar`);
    execFileSync('tar', ['-cf', tar, '-C', stage, 'small', 'big']);
    const layout = fresh('layout');
    const [blob] = writeOciLayout(layout, [fs.readFileSync(tar)]);
    const image = await (await lib()).openImage(layout);
    return { ov: image.overlay(), blob: blob!, bigAt: fs.readFileSync(blob!).indexOf(Buffer.alloc(64, 'b')) };
  }

  const expectChanged = async (f: () => unknown, entry: string) => {
    const { LayerContentError } = await lib();
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LayerContentError);
    expect((err as InstanceType<typeof LayerContentError>).code).toBe('ERR_LAYER_CHANGED');
    expect((err as Error).message).toContain(entry);
  };

  it('overwritten in place: ERR_LAYER_CHANGED naming the entry, and nothing under its name (the changed bytes copied are never named)', async () => {
    const { ov, blob, bigAt } = await opened();
    const fd = fs.openSync(blob, 'r+');
    fs.writeSync(fd, Buffer.from('CHANGED'), 0, 7, bigAt + 1000);
    fs.closeSync(fd);
    const out = target(otherFs);
    await expectChanged(() => ov.exportDir(out), '/big');
    expect(fs.readdirSync(out)).toEqual([]); // big comes first (sorted); the export stopped there
  });

  it('truncated: ERR_LAYER_CHANGED naming the entry, nothing under its name', async () => {
    const { ov, blob, bigAt } = await opened();
    fs.truncateSync(blob, bigAt + 4096);
    const out = target(otherFs);
    await expectChanged(() => ov.exportDir(out), '/big');
    expect(fs.existsSync(join(out, 'big'))).toBe(false);
  });

  it('chmod of the layer file (its ctime moved, its bytes the same): verified again, copied again, and the export completes', async () => {
    const { ov, blob } = await opened();
    fs.chmodSync(blob, 0o600);
    const out = target(otherFs);
    ov.exportDir(out);
    expect(fs.readFileSync(join(out, 'big')).equals(Buffer.alloc(1 << 20, 'b'))).toBe(true);
    expect(fs.readFileSync(join(out, 'small'), 'utf8')).toBe('small');
  });
});
